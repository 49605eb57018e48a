package kafka

import (
	"fmt"
	"net"
	"slices"
	"time"

	"siemfwd/internal/confcheck"
	"siemfwd/kafka/kafkaconn"
)

// The connection settings are shared with the Kafka source (kafka/kafkaconn).
type (
	// Secret is a string that is never printed or logged.
	Secret = kafkaconn.Secret
	// TLSConfig secures the broker connections.
	TLSConfig = kafkaconn.TLSConfig
	// SASLConfig authenticates to the brokers.
	SASLConfig = kafkaconn.SASLConfig
)

// Compression codecs accepted by Config.Compression.
var compressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// Config configures the Kafka sink. Acknowledgement is always acks=all
// (RequireAll): a weaker setting would let siemfwd ack a batch that a leader
// failover then loses, so it is not configurable.
type Config struct {
	// Brokers are the bootstrap brokers, host:port.
	Brokers []string `mapstructure:"brokers"`
	// Mode is ecs (the record value is the ECS document) or edge (the value
	// is the raw message and its receive metadata travels in record headers,
	// for an indexer tier that parses it; see kafka/kafkaedge).
	Mode string `mapstructure:"mode"`
	// Topic is a template over event fields, e.g. "kerio-{event.dataset}" or a
	// constant "siem". See the package doc for the syntax and the fields.
	Topic string `mapstructure:"topic"`
	// DefaultTopic receives events whose Topic renders empty or to an illegal
	// topic name (chars other than [a-zA-Z0-9._-], or longer than 249).
	DefaultTopic string `mapstructure:"default_topic"`
	// Key is a template for the record key; equal keys land on one partition
	// (murmur2, as the Java client). Empty, or a template that renders empty,
	// sends the record without a key, to a random partition. It is used
	// when key_by is template.
	Key string `mapstructure:"key"`
	// KeyBy chooses the record key: sender_address (the address the event
	// came from, without the port, so reconnections keep it; the syslog
	// hostname when there is none, as for files), hostname (the syslog
	// HOSTNAME; the sender address when the message has none) or template
	// (Key). Equal keys keep a sender's events in one partition, in order.
	// Empty means sender_address in edge mode and template in ecs mode.
	KeyBy string `mapstructure:"key_by"`
	// BatchMaxEvents caps the records of one produce request per partition;
	// a Write's records for one partition above it go in several requests,
	// one after the other. The sink's max_events (the pipeline's batch)
	// decides how much one Write carries; nothing waits to fill a batch.
	BatchMaxEvents int `mapstructure:"batch_max_events"`
	// BatchMaxBytes caps the uncompressed bytes of one produce request per
	// partition. It must not exceed the broker's message.max.bytes (1048588
	// by default) and must hold the largest record (max_message_bytes).
	BatchMaxBytes int64 `mapstructure:"batch_max_bytes"`
	// Compression is none, gzip, snappy, lz4 or zstd.
	Compression string `mapstructure:"compression"`
	// MaxMessageBytes is the largest record (key, value and headers) the sink
	// sends; larger ones are dead-lettered without a round trip. Match the
	// topic's max.message.bytes.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
	// WriteTimeout bounds one produce request, including the wait for acks=all.
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// DialTimeout bounds connecting to a broker (TCP and TLS handshake).
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// MetadataTTL bounds how old the cached cluster layout (topics,
	// partitions, leaders) may get before it is fetched again. Errors that
	// suggest a stale layout refresh it at once.
	MetadataTTL time.Duration `mapstructure:"metadata_ttl"`
	// AllowAutoTopicCreation lets the broker create a missing topic (if the
	// broker allows it). When false, records for a missing topic are
	// dead-lettered.
	AllowAutoTopicCreation bool `mapstructure:"allow_auto_topic_creation"`
	// CreateTopics makes siemfwd create the topics it needs: at start the
	// ones it can know (a constant topic, default_topic, the dead-letter
	// topic), and a templated topic when the first record for it finds it
	// missing. Without it a known topic that is missing fails the start.
	CreateTopics bool `mapstructure:"create_topics"`
	// TopicPartitions and TopicReplicationFactor are those of the topics
	// CreateTopics creates; -1 takes the broker's num.partitions and
	// default.replication.factor.
	TopicPartitions        int `mapstructure:"topic_partitions"`
	TopicReplicationFactor int `mapstructure:"topic_replication_factor"`
	// TLS secures the connections to the brokers.
	TLS TLSConfig `mapstructure:"tls"`
	// SASL authenticates to the brokers.
	SASL SASLConfig `mapstructure:"sasl"`
}

// DefaultConfig returns the defaults. Brokers has none: it must be set.
// The values of mode.
const (
	ModeECS  = "ecs"  // value: the ECS JSON document
	ModeEdge = "edge" // value: the raw message; receive metadata in headers
)

// The values of key_by.
const (
	KeyBySenderAddress = "sender_address" // the peer's IP address
	KeyByHostname      = "hostname"       // the syslog HOSTNAME
	KeyByTemplate      = "template"       // the key template
)

// keyBy returns what key_by means for the mode: an empty one is
// sender_address in edge mode and template in ecs mode.
func (c Config) keyBy() string {
	switch {
	case c.KeyBy != "":
		return c.KeyBy
	case c.Mode == ModeEdge:
		return KeyBySenderAddress
	}
	return KeyByTemplate
}

func DefaultConfig() Config {
	return Config{
		Mode:            ModeECS,
		Topic:           "siem",
		DefaultTopic:    "siem",
		Key:             "{source.ip|log.syslog.hostname}",
		BatchMaxEvents:  10000,
		BatchMaxBytes:   1000000,
		Compression:     "lz4",
		MaxMessageBytes: 1000000,
		WriteTimeout:    10 * time.Second,
		DialTimeout:     5 * time.Second,
		MetadataTTL:     10 * time.Second,

		TopicPartitions:        -1,
		TopicReplicationFactor: -1,
	}
}

// Validate reports every problem, each with its key relative to the sink.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if c.Mode != ModeECS && c.Mode != ModeEdge {
		errs.Add("mode", "must be %q or %q, got %q", ModeECS, ModeEdge, c.Mode)
	}
	if len(c.Brokers) == 0 {
		errs.Add("brokers", "at least one broker is required")
	}
	for i, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			errs.Add(fmt.Sprintf("brokers[%d]", i), "must be host:port, got %q", b)
		}
	}
	if c.Topic == "" {
		errs.Add("topic", "required (a constant or a template such as kerio-{event.dataset})")
	} else if t, err := parseTemplate(c.Topic); err != nil {
		errs.Add("topic", "%v", err)
	} else if lit, ok := t.constant(); ok && !kafkaconn.LegalTopic(lit) {
		errs.Add("topic", "%q is not a legal topic name ([a-zA-Z0-9._-], at most 249)", lit)
	}
	if !kafkaconn.LegalTopic(c.DefaultTopic) {
		errs.Add("default_topic", "must be a legal topic name ([a-zA-Z0-9._-], 1 to 249), got %q", c.DefaultTopic)
	}
	if _, err := parseTemplate(c.Key); err != nil {
		errs.Add("key", "%v", err)
	}
	switch c.KeyBy {
	case "", KeyBySenderAddress, KeyByHostname, KeyByTemplate:
	default:
		errs.Add("key_by", "must be %q, %q, %q or \"\" (sender_address in edge mode, template in ecs mode), got %q",
			KeyBySenderAddress, KeyByHostname, KeyByTemplate, c.KeyBy)
	}
	if c.BatchMaxEvents <= 0 {
		errs.Add("batch_max_events", "must be > 0, got %d", c.BatchMaxEvents)
	}
	if c.MaxMessageBytes <= 0 {
		errs.Add("max_message_bytes", "must be > 0, got %d", c.MaxMessageBytes)
	}
	if c.BatchMaxBytes < int64(c.MaxMessageBytes) {
		errs.Add("batch_max_bytes", "must be >= max_message_bytes (%d), got %d", c.MaxMessageBytes, c.BatchMaxBytes)
	}
	if !slices.Contains(compressions, c.Compression) {
		errs.Add("compression", "must be one of %v, got %q", compressions, c.Compression)
	}
	errs.Positive("write_timeout", c.WriteTimeout)
	errs.Positive("dial_timeout", c.DialTimeout)
	errs.Positive("metadata_ttl", c.MetadataTTL)
	if c.TopicPartitions == 0 || c.TopicPartitions < -1 {
		errs.Add("topic_partitions", "must be > 0, or -1 for the broker's default, got %d", c.TopicPartitions)
	}
	if c.TopicReplicationFactor == 0 || c.TopicReplicationFactor < -1 || c.TopicReplicationFactor > 32767 {
		errs.Add("topic_replication_factor", "must be 1-32767, or -1 for the broker's default, got %d", c.TopicReplicationFactor)
	}
	errs.Under("tls", c.TLS.Validate())
	errs.Under("sasl", c.SASL.Validate())
	return errs.Err()
}
