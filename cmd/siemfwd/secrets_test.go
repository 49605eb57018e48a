package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
)

// An Elasticsearch address with credentials, at a port where nothing
// listens: the start-up probe fails and logs, and the password must not
// be in any line, in either log format.
func TestCredentialsInURLsNeverReachTheLog(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "siemfwd.yaml")
			require.NoError(t, os.WriteFile(path, []byte(`
log: {level: debug, format: `+format+`}
sources: {in: {type: syslog, protocol: tcp, address: "127.0.0.1:0"}}
sinks: {es: {type: elasticsearch, addresses: ["http://elastic:hunter2@127.0.0.1:1"], request_timeout: 2s}}
`), 0o644))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stderr := &lockedBuffer{}
			exit := make(chan int, 1)
			go func() { exit <- run(ctx, []string{"run", "-c", path}, noEnv, &lockedBuffer{}, stderr) }()
			// Wait until the failed probe was logged (the start fails, or
			// goes on retrying in the background), then stop.
			poll.Until(t, 30*time.Second, "a log line that names the address", func() bool {
				return strings.Contains(strings.Join(stderr.lines(), "\n"), "127.0.0.1:1")
			})
			cancel()
			select {
			case <-exit:
			case <-time.After(30 * time.Second):
				t.Fatal("siemfwd did not stop")
			}
			out := strings.Join(stderr.lines(), "\n")
			require.NotContains(t, out, "hunter2")
			require.Contains(t, out, "REDACTED@127.0.0.1:1")
		})
	}
}

func TestValidateOutputHidesCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "siemfwd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
sources: {in: {type: syslog, protocol: tcp, address: "127.0.0.1:0"}}
sinks:
  es: {type: elasticsearch, addresses: ["http://elastic:hunter2@127.0.0.1:9200"], username: elastic, password: other}
  bad: {type: elasticsearch, addresses: ["ftp://elastic:hunter3@127.0.0.1:9200"]}
`), 0o644))
	var stdout, stderr strings.Builder
	require.Equal(t, 1, run(t.Context(), []string{"validate", "-c", path}, noEnv, &stdout, &stderr))
	out := stderr.String()
	require.Contains(t, out, "sinks.es.addresses[0]: has credentials in the URL and username, password or api_key is set too")
	require.Contains(t, out, `sinks.bad.addresses[0]: must be an http:// or https:// URL, got "ftp://REDACTED@127.0.0.1:9200"`)
	require.NotContains(t, out, "hunter")
}
