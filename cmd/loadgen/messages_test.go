package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testConfig(format string) genConfig {
	return genConfig{
		Format:   format,
		Hostname: "mail01.contoso.example",
		Seed:     7,
		Start:    time.Date(2026, 3, 14, 9, 15, 2, 0, time.UTC),
	}
}

// headerRE returns a pattern for the format's header that captures the
// priority, the sequence number and the APP-NAME.
func headerRE(format string) *regexp.Regexp {
	if format == formatRFC5424 {
		return regexp.MustCompile(`^<(20|22)>1 2026-03-14T09:\d\d:\d\d\.\d{3}Z mail01\.contoso\.example (security|audit|kerio) - seq(\d+) - `)
	}
	return regexp.MustCompile(`^<(20|22)>Mar 14 09:\d\d:\d\d mail01\.contoso\.example (security|audit|kerio)\[(\d+)\]: `)
}

func TestGenerateShape(t *testing.T) {
	const n = 20000
	for _, format := range []string{formatRFC5424, formatRFC3164} {
		t.Run(format, func(t *testing.T) {
			msgs, err := generate(testConfig(format), n)
			require.NoError(t, err)
			require.Equal(t, n, msgs.Len())

			re := headerRE(format)
			seen := make(map[int]bool, n)
			bodies := make(map[string]bool, n)
			kinds := make(map[string]bool)
			for i := range n {
				m := msgs.At(i)
				require.True(t, bytes.HasPrefix(m, []byte("<")), "message %d: %q", i, m)
				require.GreaterOrEqual(t, len(m), minMessageLen, "message %d: %q", i, m)
				require.LessOrEqual(t, len(m), maxMessageLen, "message %d: %q", i, m)
				require.NotContains(t, string(m), "\n", "message %d", i)

				h := re.FindSubmatch(m)
				require.NotNil(t, h, "message %d has no valid header: %q", i, m)
				seq, err := strconv.Atoi(string(h[3]))
				require.NoError(t, err)
				require.False(t, seen[seq], "sequence number %d repeats", seq)
				seen[seq] = true
				require.Equal(t, i, seq, "message %d carries sequence %d", i, seq)

				body := string(m[len(h[0]):])
				bodies[body] = true
				kind := kindOf(body)
				kinds[kind] = true
				// Each line names its own log, as Kerio does, so a receiver
				// reading APP-NAME as the log gets it right.
				app, pri := "security", "20"
				if kind == "audit" {
					app, pri = "audit", "22"
				}
				require.Equal(t, app, string(h[2]), "message %d: %q", i, m)
				require.Equal(t, pri, string(h[1]), "message %d: %q", i, m)
			}
			// Values are generated, so practically every line differs.
			require.Greater(t, len(bodies), n*99/100)
			// Every variant survives the length bounds.
			require.Len(t, kinds, len(variantTexts()), "kinds seen: %v", kinds)
		})
	}
}

// kindOf returns the first words of a body after Kerio's bracketed
// timestamp, enough to tell the variants apart.
func kindOf(body string) string {
	if len(body) > 0 && body[0] == '[' {
		body = body[len("[14/Mar/2026 09:15:02] "):]
	}
	if strings.Contains(body, " authenticated from IP address ") {
		return "audit" // "SMTP: User … authenticated" would pass for the security variant
	}
	for _, prefix := range []string{
		"Failed", "SMTP: User", "HTTP/WebMail: Invalid", "HTTP/KOFF", "Found virus",
		"Message from", "Relay attempt", "IP address", "SMTP Spam attack", "SMTP: AntiHammering",
		"SPF check", "Attempt to deliver", "Administration login",
	} {
		if strings.HasPrefix(body, prefix) {
			return prefix
		}
	}
	return "unknown"
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, err := generate(testConfig(formatRFC5424), 500)
	require.NoError(t, err)
	b, err := generate(testConfig(formatRFC5424), 500)
	require.NoError(t, err)
	require.Equal(t, a.buf, b.buf)

	other := testConfig(formatRFC5424)
	other.Seed++
	c, err := generate(other, 500)
	require.NoError(t, err)
	require.NotEqual(t, a.buf, c.buf)
}

func TestGenerateAppOverridesEveryLine(t *testing.T) {
	cfg := testConfig(formatRFC3164)
	cfg.App = "kerio"
	msgs, err := generate(cfg, 200)
	require.NoError(t, err)
	re := headerRE(formatRFC3164)
	for i := range msgs.Len() {
		h := re.FindSubmatch(msgs.At(i))
		require.NotNil(t, h, "message %d: %q", i, msgs.At(i))
		require.Equal(t, "kerio", string(h[2]))
	}
}

func TestGenerateRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*genConfig)
	}{
		{"unknown format", func(c *genConfig) { c.Format = "rfc9999" }},
		{"empty hostname", func(c *genConfig) { c.Hostname = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(formatRFC5424)
			tt.edit(&cfg)
			_, err := generate(cfg, 1)
			require.Error(t, err)
		})
	}
}

func TestParseVariant(t *testing.T) {
	v, err := parseVariant(appSecurity, priWarning, true, "from {ip}:{port} done")
	require.NoError(t, err)
	require.Equal(t, []segment{{"from ", fieldIP}, {":", fieldPort}, {" done", fieldNone}}, v.segs)

	_, err = parseVariant(appSecurity, priWarning, true, "from {nope}")
	require.ErrorContains(t, err, "unknown field")
	_, err = parseVariant(appSecurity, priWarning, true, "from {ip")
	require.ErrorContains(t, err, "unclosed")
}

func BenchmarkGenerate(b *testing.B) {
	cfg := testConfig(formatRFC5424)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := generate(cfg, 1000); err != nil {
			b.Fatal(err)
		}
	}
}
