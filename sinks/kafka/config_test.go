package kafka

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

func TestDefaultConfigNeedsOnlyBrokers(t *testing.T) {
	c := DefaultConfig()
	require.EqualError(t, c.Validate(), "brokers: at least one broker is required")
	c.Brokers = []string{"127.0.0.1:9092"}
	require.NoError(t, c.Validate())
}

func TestValidateReportsEveryProblemWithItsKey(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"broker without port", func(c *Config) { c.Brokers = []string{"kafka"} }, []string{`brokers[0]: must be host:port, got "kafka"`}},
		{"empty topic", func(c *Config) { c.Topic = "" }, []string{"topic: required"}},
		{"unknown field", func(c *Config) { c.Topic = "x-{event.nope}" }, []string{`topic: unknown field "event.nope"`}},
		{"illegal constant topic", func(c *Config) { c.Topic = "a/b" }, []string{`topic: "a/b" is not a legal topic name`}},
		{"unclosed brace", func(c *Config) { c.Key = "{source.ip" }, []string{"key: '{' without '}'"}},
		{"stray close brace", func(c *Config) { c.Key = "a}" }, []string{"key: '}' without '{'"}},
		{"default topic", func(c *Config) { c.DefaultTopic = "" }, []string{"default_topic: must be a legal topic name"}},
		{"default topic too long", func(c *Config) { c.DefaultTopic = strings.Repeat("a", 250) }, []string{"default_topic: must be a legal topic name"}},
		{"sizes", func(c *Config) { c.BatchMaxEvents, c.MaxMessageBytes, c.BatchMaxBytes = 0, 2000, 1000 }, []string{
			"batch_max_events: must be > 0, got 0", "batch_max_bytes: must be >= max_message_bytes (2000), got 1000"}},
		{"durations", func(c *Config) { c.WriteTimeout, c.DialTimeout, c.MetadataTTL = 0, -1, 0 }, []string{
			"write_timeout: must be > 0", "dial_timeout: must be > 0", "metadata_ttl: must be > 0"}},
		{"key_by", func(c *Config) { c.KeyBy = "source_ip" }, []string{`key_by: must be "sender_address", "hostname", "template" or "" (sender_address in edge mode, template in ecs mode), got "source_ip"`}},
		{"compression", func(c *Config) { c.Compression = "brotli" }, []string{`compression: must be one of [none gzip snappy lz4 zstd], got "brotli"`}},
		{"tls files without tls", func(c *Config) { c.TLS.CAFile = "ca.pem" }, []string{"tls.ca_file: set but tls.enabled is false"}},
		{"tls cert without key", func(c *Config) { c.TLS = TLSConfig{Enabled: true, CertFile: "c.pem"} }, []string{"tls.cert_file: cert_file and key_file must be set together"}},
		{"sasl mechanism", func(c *Config) { c.SASL = SASLConfig{Mechanism: "gssapi", Username: "u", Password: "p"} }, []string{"sasl.mechanism: must be one of"}},
		{"sasl credentials", func(c *Config) { c.SASL = SASLConfig{Mechanism: "plain"} }, []string{
			"sasl.username: required with sasl.mechanism", "sasl.password: required with sasl.mechanism"}},
		{"sasl without mechanism", func(c *Config) { c.SASL.Username = "u" }, []string{"sasl.mechanism: required when"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Brokers = []string{"127.0.0.1:9092"}
			tt.modify(&c)
			err := c.Validate()
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.want), "one line per problem: %v", err)
			for i, w := range tt.want {
				assert.Contains(t, lines[i], w)
			}
		})
	}
}

func TestSecretIsRedacted(t *testing.T) {
	c := DefaultConfig()
	c.SASL = SASLConfig{Mechanism: "scram-sha-512", Username: "siemfwd", Password: "hunter2"}
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v %s", c, c, c, c.SASL.Password), "hunter2")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "password", c.SASL.Password, "sasl", c.SASL)
	assert.NotContains(t, buf.String(), "hunter2")
	assert.Contains(t, buf.String(), "REDACTED")
}

func TestNewRejectsInvalidConfigAndBadTLSFiles(t *testing.T) {
	_, err := New(DefaultConfig(), slog.New(slog.DiscardHandler), metrics.New())
	require.ErrorContains(t, err, "brokers:")

	c := DefaultConfig()
	c.Brokers = []string{"127.0.0.1:9092"}
	c.TLS = TLSConfig{Enabled: true, CAFile: filepath.Join(t.TempDir(), "missing.pem")}
	_, err = New(c, slog.New(slog.DiscardHandler), metrics.New())
	require.ErrorContains(t, err, "tls.ca_file:")

	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	c.TLS.CAFile = notPEM
	_, err = New(c, slog.New(slog.DiscardHandler), metrics.New())
	require.ErrorContains(t, err, "tls.ca_file: no PEM certificate")
}

func TestNewWarnsAboutInsecureSkipVerify(t *testing.T) {
	c := DefaultConfig()
	c.Brokers = []string{"127.0.0.1:9092"}
	c.TLS = TLSConfig{Enabled: true, InsecureSkipVerify: true}
	var buf bytes.Buffer
	s, err := New(c, slog.New(slog.NewTextHandler(&buf, nil)), metrics.New())
	require.NoError(t, err)
	require.NoError(t, s.Close(t.Context()))
	assert.Contains(t, buf.String(), "level=WARN")
	assert.Contains(t, buf.String(), "insecure_skip_verify")
}

func TestNewBuildsSASLMechanisms(t *testing.T) {
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		c := DefaultConfig()
		c.Brokers = []string{"127.0.0.1:9092"}
		c.SASL = SASLConfig{Mechanism: mech, Username: "u", Password: "p"}
		s, err := New(c, slog.New(slog.DiscardHandler), metrics.New())
		require.NoError(t, err, mech)
		require.NotNil(t, s.sasl, mech)
		require.NoError(t, s.Close(t.Context()))
	}
}

func TestTemplateRender(t *testing.T) {
	ev := &pipeline.Event{
		Origin: &pipeline.Origin{Source: "udp"},
		Routes: pipeline.Routes{Dataset: "kerio_connect.mail", Kind: "event", Module: "kerio",
			Hostname: "mx1", SourceIP: "", Namespace: "prod"},
	}
	tests := []struct{ tmpl, want string }{
		{"siem", "siem"},
		{"", ""},
		{"kerio-{event.dataset}", "kerio-kerio_connect.mail"},
		{"{source.ip|log.syslog.hostname}", "mx1"},
		{"{ source.ip | event.kind }", "event"},
		{"{event.module}.{data_stream.namespace}.{siemfwd.source}", "kerio.prod.udp"},
		{"x{source.ip}y", "xy"},
	}
	for _, tt := range tests {
		tmpl, err := parseTemplate(tt.tmpl)
		require.NoError(t, err, tt.tmpl)
		assert.Equal(t, tt.want, string(tmpl.render(nil, ev)), tt.tmpl)
	}
	tmpl, _ := parseTemplate("{siemfwd.source}")
	assert.Empty(t, tmpl.render(nil, &pipeline.Event{}), "no origin renders empty")
}
