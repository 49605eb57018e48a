package kafka

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/pipeline/metrics"
)

func validConfig() Config {
	c := DefaultConfig()
	c.Brokers = []string{"127.0.0.1:9092"}
	c.Topics = []string{"siem"}
	c.GroupID = "indexers"
	return c
}

func TestDefaultConfigNeedsBrokersTopicsAndGroup(t *testing.T) {
	err := DefaultConfig().Validate()
	require.Error(t, err)
	for _, want := range []string{"brokers: at least one broker", "topics: set topics or topic_regex", "group_id: required"} {
		assert.ErrorContains(t, err, want)
	}
	require.NoError(t, validConfig().Validate())
}

func TestValidateReportsEveryProblemWithItsKey(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"broker without port", func(c *Config) { c.Brokers = []string{"kafka"} }, []string{`brokers[0]: must be host:port, got "kafka"`}},
		{"topics and regex", func(c *Config) { c.TopicRegex = "siem-.*" }, []string{"topic_regex: set topics or topic_regex, not both"}},
		{"illegal topic", func(c *Config) { c.Topics = []string{"ok", "a/b"} }, []string{`topics[1]: must be a legal topic name`}},
		{"bad regex", func(c *Config) { c.Topics, c.TopicRegex = nil, "siem-(" }, []string{"topic_regex: error parsing regexp"}},
		{"mode and format", func(c *Config) { c.Mode, c.Format = "json", "cef" }, []string{
			`mode: must be "raw" or "ecs", got "json"`, `format: must be "syslog" or "line", got "cef"`}},
		{"product", func(c *Config) { c.Product = "kerio_operator" }, []string{"product: must be"}},
		{"timezone", func(c *Config) { c.Timezone = "Mars/Olympus" }, []string{`timezone: unknown zone "Mars/Olympus"`}},
		{"sizes", func(c *Config) { c.BatchEvents, c.FetchMaxBytes, c.MaxInFlightBatches = 0, 10, 0 }, []string{
			"batch_events: must be > 0, got 0", "fetch_max_bytes: must be in 1024..", "max_in_flight_batches: must be > 0, got 0"}},
		{"durations", func(c *Config) {
			c.CommitInterval, c.FetchMaxWait, c.SessionTimeout, c.DialTimeout, c.TopicRefreshInterval = 0, 0, 0, 0, 0
			c.LagInterval = 0
			c.RebalanceTimeout, c.DrainTimeout = -1, -1
		}, []string{"commit_interval: must be > 0", "fetch_max_wait: must be > 0", "session_timeout: must be > 0",
			"dial_timeout: must be > 0", "topic_refresh_interval: must be > 0", "lag_interval: must be > 0", "rebalance_timeout: must be >= 0", "drain_timeout: must be >= 0"}},
		{"heartbeat above session", func(c *Config) { c.HeartbeatInterval = c.SessionTimeout }, []string{"heartbeat_interval: must be below session_timeout"}},
		{"start offset", func(c *Config) { c.StartOffset = "beginning" }, []string{`start_offset: must be "earliest" or "latest", got "beginning"`}},
		{"tls files without tls", func(c *Config) { c.TLS.CAFile = "ca.pem" }, []string{"tls.ca_file: set but tls.enabled is false"}},
		{"tls cert without key", func(c *Config) { c.TLS = TLSConfig{Enabled: true, CertFile: "c.pem"} }, []string{"tls.cert_file: cert_file and key_file must be set together"}},
		{"sasl mechanism", func(c *Config) { c.SASL = SASLConfig{Mechanism: "gssapi", Username: "u", Password: "p"} }, []string{"sasl.mechanism: must be one of"}},
		{"sasl credentials", func(c *Config) { c.SASL = SASLConfig{Mechanism: "plain"} }, []string{"sasl.username: required", "sasl.password: required"}},
		{"sasl without mechanism", func(c *Config) { c.SASL.Username = "u" }, []string{"sasl.mechanism: required when"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.modify(&c)
			err := c.Validate()
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			assert.Len(t, lines, len(tt.want), "one error per problem: %v", lines)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

func TestRegexAloneIsValid(t *testing.T) {
	c := validConfig()
	c.Topics, c.TopicRegex = nil, `siem-(edge|dc)-\d+`
	require.NoError(t, c.Validate())
}

func TestSecretIsRedacted(t *testing.T) {
	c := validConfig()
	c.SASL = SASLConfig{Mechanism: "plain", Username: "u", Password: "hunter2"}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "password", c.SASL.Password, "sasl", c.SASL)
	js, err := json.Marshal(c)
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v", c, c), buf.String(), string(js)} {
		assert.NotContains(t, s, "hunter2")
	}
	assert.Contains(t, buf.String(), "REDACTED")
}

func TestNewRejectsInvalidConfigAndBadTLSFiles(t *testing.T) {
	m, km := metrics.New(), NewMetrics()
	_, err := New("k", DefaultConfig(), nil, m, km)
	require.ErrorContains(t, err, "brokers")

	c := validConfig()
	c.TLS = TLSConfig{Enabled: true, CAFile: t.TempDir() + "/missing.pem"}
	_, err = New("k", c, nil, m, km)
	require.ErrorContains(t, err, "tls.ca_file")

	c = validConfig()
	c.SASL = SASLConfig{Mechanism: "scram-sha-512", Username: "u", Password: "p"}
	s, err := New("k", c, nil, m, km)
	require.NoError(t, err)
	assert.Equal(t, "k", s.Name())
}

func TestMetricsRegisterOnce(t *testing.T) {
	m, km := metrics.New(), NewMetrics()
	require.NoError(t, km.Register(m.Registry))
	require.Error(t, km.Register(m.Registry), "a second registration is refused, not silently doubled")
}

func TestJoinTimeoutCoversDrain(t *testing.T) {
	c := validConfig()
	c.RebalanceTimeout, c.HeartbeatInterval = 20*time.Second, 2*time.Second
	s, err := New("k", c, nil, metrics.New(), NewMetrics())
	require.NoError(t, err)
	assert.Greater(t, s.joinTimeout(), c.RebalanceTimeout+c.HeartbeatInterval,
		"the coordinator must wait longer than this member drains")
}
