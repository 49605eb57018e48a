package elasticsearch

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

func TestDefaultConfigIsValid(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
}

func TestValidateNamesEveryBadKey(t *testing.T) {
	c := DefaultConfig()
	c.Addresses = []string{"127.0.0.1:9200"}
	c.Password = "x"
	c.RequestTimeout = 0
	c.Mode = "stream"
	c.MaxEventsPerRequest = 0
	c.MaxBytesPerRequest = 10
	c.Concurrency = 0
	c.TemplateName = "Bad Name"
	c.TemplatePatterns = nil
	c.DeadLetterIndex = "Bad DLQ"
	err := c.Validate()
	require.Error(t, err)
	for _, key := range []string{"addresses[0]:", "username:", "request_timeout:", "mode:", "max_events_per_request:",
		"max_bytes_per_request:", "concurrency:", "template_name:", "template_patterns:", "dead_letter_index:"} {
		require.ErrorContains(t, err, key)
	}
	c = DefaultConfig()
	c.Addresses = nil
	require.ErrorContains(t, c.Validate(), "addresses: at least one address is required")
}

func TestValidateIndexMode(t *testing.T) {
	tests := []struct {
		index string
		ok    bool
	}{
		{"siemfwd-{event.dataset}", true},
		{"siemfwd-{event.dataset}-{data_stream.namespace}", true},
		{"fixed-index", true},
		{"", false},
		{"siemfwd-{host.name}", false},
		{"Siemfwd", false},
		{"_siemfwd", false},
		{"siemfwd-{event.dataset", false},
		{"a b", false},
	}
	for _, tt := range tests {
		t.Run(tt.index, func(t *testing.T) {
			c := DefaultConfig()
			c.Mode, c.Index = ModeIndex, tt.index
			if tt.ok {
				require.NoError(t, c.Validate())
			} else {
				require.ErrorContains(t, c.Validate(), "index:")
			}
		})
	}
}

func TestSecretsAreNeverPrinted(t *testing.T) {
	c := DefaultConfig()
	c.Username, c.Password, c.APIKey = "elastic", "hunter2", "c2VjcmV0OmtleQ=="
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "password", c.Password, "api_key", c.APIKey)
	out := buf.String() + fmt.Sprint(c.Password, c.APIKey) + fmt.Sprintf("%v %+v %s", c, c, c.APIKey)
	require.NotContains(t, out, "hunter2")
	require.NotContains(t, out, "c2VjcmV0OmtleQ==")
	require.Contains(t, out, "REDACTED")
}

func TestNewDoesNotTouchTheNetworkAndChecksTheCAFile(t *testing.T) {
	c := DefaultConfig()
	c.Addresses = []string{"http://127.0.0.1:1"} // nothing listens; New must not care
	_, err := New(c, slog.New(slog.DiscardHandler), metrics.New())
	require.NoError(t, err)
	c.TLS.CAFile = t.TempDir() + "/missing.pem"
	_, err = New(c, slog.New(slog.DiscardHandler), metrics.New())
	require.ErrorContains(t, err, "tls.ca_file")
}

func TestInsecureSkipVerifyWarnsLoudly(t *testing.T) {
	c := DefaultConfig()
	c.TLS.InsecureSkipVerify = true
	var buf bytes.Buffer
	_, err := New(c, slog.New(slog.NewTextHandler(&buf, nil)), metrics.New())
	require.NoError(t, err)
	require.Contains(t, buf.String(), "level=WARN")
	require.Contains(t, buf.String(), "insecure_skip_verify")
}

func TestIndexNames(t *testing.T) {
	tests := []struct {
		mode, tmpl, dataset, namespace, want string
	}{
		{ModeDataStream, "", "kerio_connect.security", "default", "logs-kerio_connect.security-default"},
		{ModeDataStream, "", "Kerio-Connect.Security", "Prod-EU", "logs-kerio_connect.security-prod_eu"},
		{ModeDataStream, "", "a/b\\c*d?e\"f<g>h|i j,k#l:m", "x", "logs-a_b_c_d_e_f_g_h_i_j_k_l_m-x"},
		{ModeDataStream, "", "", "", "logs-generic-default"},
		{ModeDataStream, "", "_hidden", "+ns", "logs-hidden-ns"},
		{ModeDataStream, "", strings.Repeat("x", 300), "default", "logs-" + strings.Repeat("x", 100) + "-default"},
		{ModeIndex, "siemfwd-{event.dataset}", "kerio_control.http", "default", "siemfwd-kerio_control.http"},
		{ModeIndex, "siem-{event.dataset}-{data_stream.namespace}", "A-B", "N", "siem-a_b-n"},
		{ModeIndex, "fixed", "kerio_control.http", "default", "fixed"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			ev := &pipeline.Event{Routes: pipeline.Routes{Dataset: tt.dataset, Namespace: tt.namespace}}
			n := newIndexNamer(tt.mode, tt.tmpl)
			require.Equal(t, tt.want, n.name(ev))
			require.Equal(t, tt.want, n.name(ev), "cached")
			require.Equal(t, tt.want, Config{Mode: tt.mode, Index: tt.tmpl}.IndexName(ev))
		})
	}
}

func TestIndexNameCacheIsBounded(t *testing.T) {
	n := newIndexNamer(ModeDataStream, "")
	for i := range maxCachedNames * 3 {
		n.name(&pipeline.Event{Routes: pipeline.Routes{Dataset: fmt.Sprint("d", i), Namespace: "default"}})
	}
	require.LessOrEqual(t, len(n.cache), maxCachedNames)
}

func TestCredentialsInURLAndKeysAreAConflict(t *testing.T) {
	tests := []struct {
		name   string
		set    func(*Config)
		errSub string // "" = valid
	}{
		{"url only", func(c *Config) {}, ""},
		{"username too", func(c *Config) { c.Username, c.Password = "elastic", "x" }, "addresses[0]: has credentials in the URL"},
		{"api_key too", func(c *Config) { c.APIKey = "a2V5" }, "addresses[0]: has credentials in the URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Addresses = []string{"https://elastic:hunter2@es:9200"}
			tt.set(&c)
			err := c.Validate()
			if tt.errSub == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.errSub)
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestBadAddressErrorHidesCredentials(t *testing.T) {
	c := DefaultConfig()
	c.Addresses = []string{"ftp://elastic:hunter2@es:9200"}
	err := c.Validate()
	require.ErrorContains(t, err, "addresses[0]: must be an http:// or https:// URL")
	require.NotContains(t, err.Error(), "hunter2")
}
