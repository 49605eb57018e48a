// Package kafkaconn holds the connection settings the Kafka sink and the
// Kafka source share: TLS and SASL, with one validation and one way to turn
// them into kafka-go's settings, and the rule for a legal topic name.
//
// It sits under kafka/ with the other Kafka helpers: it may import kafka-go,
// never the engine's callers (sources, sinks), and the engine never imports
// it.
package kafkaconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"siemfwd/internal/confcheck"
)

// Secret is a string that never shows in logs or printed configs: a
// password read from the config file must not leak into an error report or
// a debug dump of the configuration.
type Secret string

// String hides the value from fmt.
func (Secret) String() string { return "REDACTED" }

// GoString hides the value from fmt's %#v.
func (Secret) GoString() string { return `"REDACTED"` }

// LogValue hides the value from log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// MarshalText hides the value from encoders (JSON, YAML), e.g. when a
// structure holding the config is logged or dumped.
func (Secret) MarshalText() ([]byte, error) { return []byte("REDACTED"), nil }

// SASL mechanisms accepted by SASLConfig.Mechanism ("" turns SASL off).
var saslMechanisms = []string{"plain", "scram-sha-256", "scram-sha-512"}

// TLSConfig secures the broker connections.
type TLSConfig struct {
	// Enabled turns TLS on.
	Enabled bool `mapstructure:"enabled"`
	// CAFile is a PEM bundle of the CAs to trust; empty uses the system pool.
	CAFile string `mapstructure:"ca_file"`
	// CertFile is the PEM client certificate for mutual TLS (with KeyFile).
	CertFile string `mapstructure:"cert_file"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `mapstructure:"key_file"`
	// InsecureSkipVerify accepts any server certificate. For tests only:
	// it is logged as a warning at start.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`
}

// SASLConfig authenticates to the brokers.
type SASLConfig struct {
	// Mechanism is plain, scram-sha-256 or scram-sha-512; empty turns SASL off.
	Mechanism string `mapstructure:"mechanism"`
	// Username to authenticate as.
	Username string `mapstructure:"username"`
	// Password of Username; never logged.
	Password Secret `mapstructure:"password"`
}

// Validate reports every problem, keyed relative to the tls section.
func (c TLSConfig) Validate() error {
	var errs confcheck.Problems
	if !c.Enabled {
		for _, f := range []struct{ key, val string }{{"ca_file", c.CAFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
			if f.val != "" {
				errs.Add(f.key, "set but tls.enabled is false")
			}
		}
		return errs.Err()
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs.Add("cert_file", "cert_file and key_file must be set together")
	}
	return errs.Err()
}

// Validate reports every problem, keyed relative to the sasl section.
func (c SASLConfig) Validate() error {
	var errs confcheck.Problems
	if c.Mechanism == "" {
		if c.Username != "" || c.Password != "" {
			errs.Add("mechanism", "required when sasl.username or sasl.password is set")
		}
		return errs.Err()
	}
	if !slices.Contains(saslMechanisms, c.Mechanism) {
		errs.Add("mechanism", "must be one of %v, got %q", saslMechanisms, c.Mechanism)
	}
	if c.Username == "" {
		errs.Add("username", "required with sasl.mechanism")
	}
	if c.Password == "" {
		errs.Add("password", "required with sasl.mechanism")
	}
	return errs.Err()
}

// Build makes the TLS configuration, or nil when TLS is off.
func (c TLSConfig) Build() (*tls.Config, error) {
	if !c.Enabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in, warned about
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: no PEM certificate in %s", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Build makes the SASL mechanism, or nil when SASL is off.
func (c SASLConfig) Build() (sasl.Mechanism, error) {
	switch c.Mechanism {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: c.Username, Password: string(c.Password)}, nil
	case "scram-sha-256", "scram-sha-512":
		algo := scram.SHA256
		if c.Mechanism == "scram-sha-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, c.Username, string(c.Password))
		if err != nil {
			return nil, fmt.Errorf("sasl.mechanism: %w", err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("sasl.mechanism: unknown %q", c.Mechanism)
}

// LegalTopic reports whether s is a topic name Kafka accepts: 1 to 249
// characters of [a-zA-Z0-9._-], and not "." or "..". The sink checks the
// topics its templates render, and both configs the topics they name.
func LegalTopic(s string) bool {
	if s == "" || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
