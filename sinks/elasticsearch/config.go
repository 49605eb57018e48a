package elasticsearch

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"siemfwd/internal/confcheck"
	"siemfwd/internal/redact"
)

// Modes name where events go.
const (
	// ModeDataStream writes to logs-{event.dataset}-{namespace}, the Elastic
	// data stream naming scheme that Kibana and the built-in ILM expect.
	ModeDataStream = "data_stream"
	// ModeIndex writes to the index named by Config.Index (with placeholders),
	// for clusters that manage their own indices or aliases.
	ModeIndex = "index"
)

// Secret is a string that is never printed: String and LogValue return
// "REDACTED", so a config dump or a log line cannot leak a password.
type Secret string

// String returns "REDACTED".
func (Secret) String() string { return "REDACTED" }

// LogValue returns "REDACTED" so slog never prints the value.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// TLSConfig configures HTTPS to the cluster.
type TLSConfig struct {
	// CAFile is a PEM file of certificate authorities to trust instead of the
	// system pool; empty uses the system pool.
	CAFile string `mapstructure:"ca_file"`
	// InsecureSkipVerify turns off certificate verification. For tests only:
	// a warning is logged at start.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`
}

// Config of the Elasticsearch sink. Keys are relative to the sink
// (sinks.<name>.…); batching and retry are the common sink keys.
type Config struct {
	// Addresses are the node URLs, e.g. https://es1:9200; requests rotate over them.
	Addresses []string `mapstructure:"addresses"`
	// Username for HTTP basic auth; empty sends none.
	Username string `mapstructure:"username"`
	// Password for HTTP basic auth.
	Password Secret `mapstructure:"password"`
	// APIKey is the base64 "id:key" API key; it takes precedence over username/password.
	APIKey Secret `mapstructure:"api_key"`
	// TLS configures HTTPS.
	TLS TLSConfig `mapstructure:"tls"`
	// RequestTimeout bounds one HTTP request (a _bulk chunk, a template call).
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// Mode is data_stream (default) or index.
	Mode string `mapstructure:"mode"`
	// Index is the target in index mode; {event.dataset} and
	// {data_stream.namespace} are replaced per event (sanitized). Unused in data_stream mode.
	Index string `mapstructure:"index"`
	// Compress gzips request bodies (level 1); it costs CPU and saves the
	// network, so turn it off for a node on the same host.
	Compress bool `mapstructure:"compress"`
	// MaxEventsPerRequest bounds the events in one _bulk request; a Write
	// with more is split into several requests.
	MaxEventsPerRequest int `mapstructure:"max_events_per_request"`
	// MaxBytesPerRequest bounds the uncompressed body of one _bulk request
	// (ES refuses bodies over http.max_content_length, 100 MiB by default).
	MaxBytesPerRequest int `mapstructure:"max_bytes_per_request"`
	// Concurrency is how many _bulk requests of one Write are in flight at once.
	Concurrency int `mapstructure:"concurrency"`
	// InstallTemplate puts the ECS component and index templates at start.
	InstallTemplate bool `mapstructure:"install_template"`
	// OverwriteTemplate replaces templates that already exist; by default an
	// existing template (perhaps edited by an operator) is left alone.
	OverwriteTemplate bool `mapstructure:"overwrite_template"`
	// TemplateName names the index template; its component template is
	// TemplateName + "-ecs-mappings".
	TemplateName string `mapstructure:"template_name"`
	// TemplatePatterns are the index patterns the template applies to; they
	// must match the names this sink writes to.
	TemplatePatterns []string `mapstructure:"template_patterns"`
	// TemplatePriority must be above any other template matching the same
	// names (the built-in logs template has 100).
	TemplatePriority int `mapstructure:"template_priority"`
	// DataRetention is how long the data streams keep events (the data
	// stream lifecycle in the index templates, e.g. "90d", "12h"); Elasticsearch
	// deletes older backing indices. Empty keeps them for ever. Unused in index mode.
	DataRetention string `mapstructure:"data_retention"`
	// DeadLetterIndex is where DeadLetterQueue stores refused events (a data
	// stream in data_stream mode); empty turns the dead-letter queue off.
	DeadLetterIndex string `mapstructure:"dead_letter_index"`
}

// DefaultConfig returns the defaults: a local node, data streams, gzip,
// 1024 events (half the sink loop's default batch) or 5 MiB per request, two requests in flight, templates installed.
func DefaultConfig() Config {
	return Config{
		Addresses:           []string{"http://127.0.0.1:9200"},
		RequestTimeout:      30 * time.Second,
		Mode:                ModeDataStream,
		Index:               "siemfwd-{event.dataset}",
		Compress:            true,
		MaxEventsPerRequest: 1024,
		MaxBytesPerRequest:  5 << 20,
		Concurrency:         2,
		InstallTemplate:     true,
		TemplateName:        "siemfwd-kerio",
		TemplatePatterns:    []string{"logs-kerio*"},
		TemplatePriority:    200,
		DataRetention:       "90d",
		DeadLetterIndex:     "logs-siemfwd.deadletter-default",
	}
}

// Validate reports every problem, each with its key relative to the sink.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if len(c.Addresses) == 0 {
		errs.Add("addresses", "at least one address is required")
	}
	for i, a := range c.Addresses {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.Add(fmt.Sprintf("addresses[%d]", i), "must be an http:// or https:// URL, got %q", redact.URLs(a))
			continue
		}
		// The client lets credentials in the URL win silently over the keys;
		// with both set, one of them is a mistake the user must see.
		if u.User != nil && (c.Username != "" || c.Password != "" || c.APIKey != "") {
			errs.Add(fmt.Sprintf("addresses[%d]", i), "has credentials in the URL and username, password or api_key is set too; keep them in one place")
		}
	}
	if c.Username == "" && c.Password != "" {
		errs.Add("username", "required when password is set")
	}
	errs.Positive("request_timeout", c.RequestTimeout)
	switch c.Mode {
	case ModeDataStream:
	case ModeIndex:
		if err := validIndexTemplate(c.Index); err != nil {
			errs.Add("index", "%v", err)
		}
	default:
		errs.Add("mode", "must be %s or %s, got %q", ModeDataStream, ModeIndex, c.Mode)
	}
	if c.MaxEventsPerRequest <= 0 {
		errs.Add("max_events_per_request", "must be > 0, got %d", c.MaxEventsPerRequest)
	}
	if c.MaxBytesPerRequest < 1024 {
		errs.Add("max_bytes_per_request", "must be >= 1024, got %d", c.MaxBytesPerRequest)
	}
	if c.Concurrency <= 0 || c.Concurrency > 64 {
		errs.Add("concurrency", "must be between 1 and 64, got %d", c.Concurrency)
	}
	if c.InstallTemplate {
		if c.TemplateName == "" || sanitize(c.TemplateName, false) != c.TemplateName {
			errs.Add("template_name", "must be a lower-case name without \\/*?\"<>| ,#, got %q", c.TemplateName)
		}
		if len(c.TemplatePatterns) == 0 {
			errs.Add("template_patterns", "at least one pattern is required when install_template is true")
		}
		if c.TemplatePriority < 0 {
			errs.Add("template_priority", "must be >= 0, got %d", c.TemplatePriority)
		}
	}
	if c.DataRetention != "" && !validTimeValue(c.DataRetention) {
		errs.Add("data_retention", "must be a number and a unit (d, h, m, s), e.g. 90d, or empty to keep for ever, got %q", c.DataRetention)
	}
	if c.DeadLetterIndex != "" && sanitize(c.DeadLetterIndex, false) != c.DeadLetterIndex {
		errs.Add("dead_letter_index", "must be a lower-case index name without \\/*?\"<>| ,#, got %q", c.DeadLetterIndex)
	}
	if c.DeadLetterIndex != "" && c.Mode == ModeDataStream && !strings.HasPrefix(c.DeadLetterIndex, "logs-") {
		errs.Add("dead_letter_index", "must start with logs- in data_stream mode, got %q", c.DeadLetterIndex)
	}
	return errs.Err()
}

// validIndexTemplate checks an index-mode name: placeholders known, and the
// text around them a legal index name.
func validIndexTemplate(s string) error {
	if s == "" {
		return errors.New("required in index mode")
	}
	rest := s
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("unclosed placeholder in %q", s)
		}
		ph := rest[i+1 : i+j]
		if ph != "event.dataset" && ph != "data_stream.namespace" {
			return fmt.Errorf("unknown placeholder {%s} in %q (known: {event.dataset}, {data_stream.namespace})", ph, s)
		}
		rest = rest[i+j+1:]
	}
	plain := strings.NewReplacer("{event.dataset}", "x", "{data_stream.namespace}", "x").Replace(s)
	if sanitize(plain, false) != plain || strings.ContainsAny(plain, "{}") {
		return fmt.Errorf("must be lower case without \\/*?\"<>| ,#, got %q", s)
	}
	if strings.HasPrefix(plain, "-") || strings.HasPrefix(plain, "_") || strings.HasPrefix(plain, "+") {
		return fmt.Errorf("must not start with -, _ or +, got %q", s)
	}
	return nil
}

// redactedAddresses returns the addresses without the credentials some carry.
func redactedAddresses(addresses []string) []string {
	out := make([]string, len(addresses))
	for i, a := range addresses {
		out[i] = redact.URLs(a)
	}
	return out
}

// validTimeValue says whether s is an Elasticsearch time value in whole
// days, hours, minutes or seconds, as data_retention takes it.
func validTimeValue(s string) bool {
	num := strings.TrimRight(s, "dhms")
	unit := s[len(num):]
	if num == "" || (unit != "d" && unit != "h" && unit != "m" && unit != "s") {
		return false
	}
	for _, r := range num {
		if r < '0' || r > '9' {
			return false
		}
	}
	return num != strings.Repeat("0", len(num))
}
