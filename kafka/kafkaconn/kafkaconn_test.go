package kafkaconn

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "password", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%#v", s), b.String()} {
		require.NotContains(t, out, "hunter2")
	}
}

func TestValidateNamesTheKeys(t *testing.T) {
	require.NoError(t, TLSConfig{}.Validate())
	require.NoError(t, SASLConfig{}.Validate())
	err := SASLConfig{Mechanism: "kerberos"}.Validate()
	require.ErrorContains(t, err, "mechanism: must be one of")
	require.ErrorContains(t, err, "username: required")
	require.ErrorContains(t, TLSConfig{CAFile: "x"}.Validate(), "ca_file: set but tls.enabled is false")
	_, err = TLSConfig{Enabled: true, CAFile: "/nonexistent"}.Build()
	require.ErrorContains(t, err, "tls.ca_file")
	m, err := SASLConfig{Mechanism: "scram-sha-512", Username: "u", Password: "p"}.Build()
	require.NoError(t, err)
	require.NotNil(t, m)
}

func TestLegalTopic(t *testing.T) {
	for name, want := range map[string]bool{
		"siem": true, "kerio-connect.mail_1": true, strings.Repeat("a", 249): true,
		"": false, ".": false, "..": false, "a b": false, "a/b": false, "ä": false, strings.Repeat("a", 250): false,
	} {
		require.Equal(t, want, LegalTopic(name), "%q", name)
	}
}
