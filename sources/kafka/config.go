package kafka

import (
	"fmt"
	"net"
	"regexp"
	"time"

	"siemfwd/internal/confcheck"
	"siemfwd/kafka/kafkaconn"
	"siemfwd/parse/charset"
	"siemfwd/parse/kerio"
)

// Modes of a Kafka source: what a record's value is.
const (
	// ModeRaw: the value is one log message, as a device sent it (a syslog
	// message or a Kerio log line); the workers parse it.
	ModeRaw = "raw"
	// ModeECS: the value is an ECS JSON document that another siemfwd
	// already parsed; the workers pass it through.
	ModeECS = "ecs"
)

// Formats of a raw value.
const (
	FormatSyslog = "syslog" // a syslog message (RFC 5424 or RFC 3164)
	FormatLine   = "line"   // a line of a Kerio log file, without a syslog header
)

// Where a group with no committed offset for a partition starts.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
)

// The connection settings are shared with the Kafka sink (kafka/kafkaconn).
type (
	// Secret is a string that is never printed or logged.
	Secret = kafkaconn.Secret
	// TLSConfig secures the broker connections.
	TLSConfig = kafkaconn.TLSConfig
	// SASLConfig authenticates to the brokers.
	SASLConfig = kafkaconn.SASLConfig
)

// Config configures one Kafka source: a member of a consumer group that
// reads records and acknowledges them to the group only once the sinks have
// them (at-least-once). The caller prefixes the keys that Validate reports
// with "sources.<name>.".
type Config struct {
	// Brokers are the bootstrap brokers, host:port.
	Brokers []string `mapstructure:"brokers"`
	// Topics to consume. Set either Topics or TopicRegex.
	Topics []string `mapstructure:"topics"`
	// TopicRegex consumes every topic whose whole name matches this RE2
	// expression; the match is refreshed every topic_refresh_interval.
	TopicRegex string `mapstructure:"topic_regex"`
	// TopicRefreshInterval is how often topic_regex is matched again and the
	// partition counts are checked; a change rebalances the group.
	TopicRefreshInterval time.Duration `mapstructure:"topic_refresh_interval"`
	// GroupID is the consumer group. Every siemfwd that should share the
	// work uses the same one.
	GroupID string `mapstructure:"group_id"`
	// Mode is "raw" (values are log messages to parse) or "ecs" (values are
	// ECS JSON documents from another siemfwd, passed through).
	Mode string `mapstructure:"mode"`
	// Format of a raw value: "syslog" or "line" (a Kerio log file line).
	// Records with siemfwd edge headers carry their own format.
	Format string `mapstructure:"format"`
	// Product is the Kerio product that wrote raw values: "kerio_connect",
	// "kerio_control" or "" to detect. Edge headers override it.
	Product string `mapstructure:"product"`
	// Log is a log name hint for raw values ("security", "mail", …) or "".
	// Edge headers override it.
	Log string `mapstructure:"log"`
	// Timezone is the IANA zone for raw timestamps that carry none (RFC 3164,
	// Kerio brackets). Edge headers override it.
	Timezone string `mapstructure:"timezone"`
	// Charset is the character set of raw values that are not valid UTF-8
	// (e.g. "windows-1250"); with "utf-8" their invalid bytes become U+FFFD
	// (tag _invalid_charset). It applies to records with edge headers too.
	Charset string `mapstructure:"charset"`
	// BatchEvents is the most records sent downstream in one batch (one
	// batch never mixes partitions).
	BatchEvents int `mapstructure:"batch_events"`
	// FetchMaxBytes bounds one fetch response per partition, in bytes. It
	// must hold the largest record.
	FetchMaxBytes int `mapstructure:"fetch_max_bytes"`
	// FetchMaxWait is how long the broker may hold a fetch of a partition
	// that has nothing new before answering empty.
	FetchMaxWait time.Duration `mapstructure:"fetch_max_wait"`
	// CommitInterval is how often the acknowledged offsets are committed.
	CommitInterval time.Duration `mapstructure:"commit_interval"`
	// LagInterval is how often the group's lag is looked up: committed
	// offsets against the partitions' ends, for every partition of the
	// topics, held by this member, by another or by none.
	LagInterval time.Duration `mapstructure:"lag_interval"`
	// StartOffset is where the group starts on a partition it has no
	// committed offset for: "earliest" or "latest". It is also where a
	// partition restarts when its committed offset has been deleted.
	StartOffset string `mapstructure:"start_offset"`
	// MaxInFlightBatches bounds the batches sent downstream and not yet
	// acknowledged, over all partitions; fetching stops at the bound. It
	// bounds the memory the source holds: about
	// max_in_flight_batches × batch_events records.
	MaxInFlightBatches int `mapstructure:"max_in_flight_batches"`
	// SessionTimeout is how long the group coordinator waits for a
	// heartbeat before it gives this member's partitions to the others.
	// The broker bounds it (group.min/max.session.timeout.ms: 6s..30min by default).
	SessionTimeout time.Duration `mapstructure:"session_timeout"`
	// HeartbeatInterval is how often this member tells the coordinator it
	// is alive; it also notices rebalances at this pace.
	HeartbeatInterval time.Duration `mapstructure:"heartbeat_interval"`
	// RebalanceTimeout bounds, when partitions are taken away, the wait for
	// acknowledgements of their in-flight batches before their offsets are
	// committed and they are released. What is not acked by then is read
	// again by the next owner.
	RebalanceTimeout time.Duration `mapstructure:"rebalance_timeout"`
	// DrainTimeout bounds the same wait at shutdown.
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
	// DialTimeout bounds connecting to a broker (TCP and TLS handshake).
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// TLS secures the connections to the brokers.
	TLS TLSConfig `mapstructure:"tls"`
	// SASL authenticates to the brokers.
	SASL SASLConfig `mapstructure:"sasl"`
}

// DefaultConfig returns the defaults: raw syslog in UTC, 512-record
// batches, 1 MiB fetches held up to 500ms, commits every second, lag
// looked up every 5s, new groups start at the earliest offset, 64 batches
// in flight, 30s session, 3s heartbeats, 30s to drain on a rebalance and
// 10s at shutdown. Brokers, the topics and the group have no default.
func DefaultConfig() Config {
	return Config{
		TopicRefreshInterval: 10 * time.Second,
		Mode:                 ModeRaw,
		Format:               FormatSyslog,
		Timezone:             "UTC",
		Charset:              "utf-8",
		BatchEvents:          512,
		FetchMaxBytes:        1 << 20,
		FetchMaxWait:         500 * time.Millisecond,
		CommitInterval:       time.Second,
		LagInterval:          5 * time.Second,
		StartOffset:          StartEarliest,
		MaxInFlightBatches:   64,
		SessionTimeout:       30 * time.Second,
		HeartbeatInterval:    3 * time.Second,
		RebalanceTimeout:     30 * time.Second,
		DrainTimeout:         10 * time.Second,
		DialTimeout:          5 * time.Second,
	}
}

// Validate reports every problem, each naming its key relative to the source.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if len(c.Brokers) == 0 {
		errs.Add("brokers", "at least one broker is required")
	}
	for i, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			errs.Add(fmt.Sprintf("brokers[%d]", i), "must be host:port, got %q", b)
		}
	}
	switch {
	case len(c.Topics) == 0 && c.TopicRegex == "":
		errs.Add("topics", "set topics or topic_regex")
	case len(c.Topics) > 0 && c.TopicRegex != "":
		errs.Add("topic_regex", "set topics or topic_regex, not both")
	}
	for i, t := range c.Topics {
		if !kafkaconn.LegalTopic(t) {
			errs.Add(fmt.Sprintf("topics[%d]", i), "must be a legal topic name ([a-zA-Z0-9._-], 1 to 249), got %q", t)
		}
	}
	if c.TopicRegex != "" {
		if _, err := regexp.Compile(c.TopicRegex); err != nil {
			errs.Add("topic_regex", "%v", err)
		}
	}
	if c.GroupID == "" {
		errs.Add("group_id", "required: the consumer group that shares the partitions")
	}
	if c.Mode != ModeRaw && c.Mode != ModeECS {
		errs.Add("mode", "must be %q or %q, got %q", ModeRaw, ModeECS, c.Mode)
	}
	if c.Format != FormatSyslog && c.Format != FormatLine {
		errs.Add("format", "must be %q or %q, got %q", FormatSyslog, FormatLine, c.Format)
	}
	if err := kerio.CheckProduct(c.Product); err != nil {
		errs.Add("product", "%v", err)
	}
	if _, err := charset.Lookup(c.Charset); err != nil {
		errs.Add("charset", "%v", err)
	}
	if c.Timezone == "" {
		errs.Add("timezone", "must be an IANA zone such as \"UTC\" or \"Europe/Prague\", got \"\"")
	} else if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs.Add("timezone", "unknown zone %q: %v", c.Timezone, err)
	}
	if c.BatchEvents < 1 {
		errs.Add("batch_events", "must be > 0, got %d", c.BatchEvents)
	}
	if c.FetchMaxBytes < 1024 || c.FetchMaxBytes > 1<<30 {
		errs.Add("fetch_max_bytes", "must be in 1024..%d, got %d", 1<<30, c.FetchMaxBytes)
	}
	errs.Positive("topic_refresh_interval", c.TopicRefreshInterval)
	errs.Positive("fetch_max_wait", c.FetchMaxWait)
	errs.Positive("commit_interval", c.CommitInterval)
	errs.Positive("lag_interval", c.LagInterval)
	errs.Positive("session_timeout", c.SessionTimeout)
	errs.Positive("heartbeat_interval", c.HeartbeatInterval)
	errs.Positive("dial_timeout", c.DialTimeout)
	if c.HeartbeatInterval > 0 && c.SessionTimeout > 0 && c.HeartbeatInterval >= c.SessionTimeout {
		errs.Add("heartbeat_interval", "must be below session_timeout (%s), got %s", c.SessionTimeout, c.HeartbeatInterval)
	}
	if c.RebalanceTimeout < 0 {
		errs.Add("rebalance_timeout", "must be >= 0, got %s", c.RebalanceTimeout)
	}
	if c.DrainTimeout < 0 {
		errs.Add("drain_timeout", "must be >= 0, got %s", c.DrainTimeout)
	}
	if c.StartOffset != StartEarliest && c.StartOffset != StartLatest {
		errs.Add("start_offset", "must be %q or %q, got %q", StartEarliest, StartLatest, c.StartOffset)
	}
	if c.MaxInFlightBatches < 1 {
		errs.Add("max_in_flight_batches", "must be > 0, got %d", c.MaxInFlightBatches)
	}
	errs.Under("tls", c.TLS.Validate())
	errs.Under("sasl", c.SASL.Validate())
	return errs.Err()
}
