package syslog

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigHardening(t *testing.T) {
	good := profileConfig()
	good.Allow = []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32"}
	good.MaxConnectionsPerIP = 4
	good.RateLimit = RateLimitConfig{EventsPerSecond: 100, Burst: 200, MaxSenders: 10}
	require.NoError(t, good.Validate())

	bad := DefaultConfig()
	bad.Allow = []string{"10.0.0.0/33", "not-an-ip"}
	bad.MaxConnectionsPerIP = -1
	bad.RateLimit = RateLimitConfig{EventsPerSecond: -1, Burst: -1, MaxSenders: 0}
	bad.ClockSkew = -time.Second
	bad.PollInterval = time.Second
	bad.TLS.CertFile = "server.crt" // not a TLS source
	bad.Profiles = []ProfileConfig{
		{Name: "a", Match: MatchConfig{Addresses: []string{"300.1.1.1"}, Hostnames: []string{"[", ""}},
			Timezone: "Mars/Olympus", Product: "kerio_x", Dataset: "Kerio-Connect",
			Labels: map[string]string{"Site": "x", "ok_key": "y", "bad-key": "z"}, ClockSkew: -time.Minute},
		{Name: "a"},
		{Match: MatchConfig{Hostnames: []string{"x"}}},
	}
	err := bad.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`allow[0]: not an IP address or CIDR prefix: "10.0.0.0/33"`,
		`allow[1]: not an IP address or CIDR prefix: "not-an-ip"`,
		"max_connections_per_ip: must be >= 0",
		"rate_limit.events_per_second: must be >= 0",
		"rate_limit.burst: must be >= 0",
		"rate_limit.max_senders: must be > 0",
		"clock_skew: must be >= 0",
		"poll_interval: must be between 0 and 100ms, got 1s",
		`tls.cert_file: only for protocol "tls"`,
		`profiles[0].match.addresses[0]: not an IP address or CIDR prefix: "300.1.1.1"`,
		`profiles[0].match.hostnames[0]: bad pattern "["`,
		"profiles[0].match.hostnames[1]: must not be empty",
		`profiles[0].timezone: unknown zone "Mars/Olympus"`,
		"profiles[0].product: must be",
		`profiles[0].dataset: must be 1-100 of [a-z0-9_.]`,
		"profiles[0].labels.Site: key must match",
		"profiles[0].labels.bad-key: key must match",
		"profiles[0].clock_skew: must be >= 0",
		`profiles[1].name: "a" already names profiles[0]`,
		"profiles[1].match: needs addresses or hostnames",
		"profiles[2].name: required",
	} {
		require.Contains(t, err.Error(), want)
	}
	require.NotContains(t, err.Error(), "ok_key")
	require.Len(t, strings.Split(err.Error(), "\n"), 21, err.Error())
}

func TestConfigTLS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Protocol = ProtocolTLS
	err := cfg.Validate()
	require.Error(t, err)
	require.Contains(t, err.Error(), `tls.cert_file: required for protocol "tls"`)
	require.Contains(t, err.Error(), `tls.key_file: required for protocol "tls"`)

	cfg.TLS.CertFile, cfg.TLS.KeyFile = "does/not/exist.crt", "does/not/exist.key"
	require.NoError(t, cfg.Validate(), "files are read at Listen, so configs validate where the keys are not")

	cfg.TLS.MinVersion = "1.1"
	cfg.TLS.ClientAuth = "maybe"
	cfg.TLS.ReloadInterval = -1
	cfg.TLS.HandshakeTimeout = 0
	err = cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`tls.min_version: must be "1.2" or "1.3", got "1.1"`,
		`tls.client_auth: must be "none", "request" or "require", got "maybe"`,
		"tls.reload_interval: must be >= 0",
		"tls.handshake_timeout: must be > 0",
	} {
		require.Contains(t, err.Error(), want)
	}
	for _, mode := range []string{ClientAuthRequest, ClientAuthRequire} {
		cfg := DefaultConfig()
		cfg.Protocol = ProtocolTLS
		cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.ClientAuth = "a", "b", mode
		require.ErrorContains(t, cfg.Validate(), "tls.client_ca_file: required when client_auth is "+`"`+mode+`"`)
		cfg.TLS.ClientCAFile = "ca.crt"
		require.NoError(t, cfg.Validate())
	}
}

func TestConfigRELP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Protocol = ProtocolRELP
	require.NoError(t, cfg.Validate(), "relp without tls keys is plain RELP")

	cfg.TLS.KeyFile = "server.key"
	require.ErrorContains(t, cfg.Validate(), `tls.cert_file: required for protocol "relp" over TLS`)
	cfg.TLS.CertFile = "server.crt"
	require.NoError(t, cfg.Validate())

	cfg.DrainTimeout = -time.Second
	require.ErrorContains(t, cfg.Validate(), "drain_timeout: must be >= 0, got -1s")

	cfg = DefaultConfig()
	cfg.Protocol = ProtocolTCP
	cfg.TLS.CertFile = "server.crt"
	require.ErrorContains(t, cfg.Validate(), `tls.cert_file: only for protocol "tls" (or "relp" over TLS)`)
}
