package main

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testConfig(format string) genConfig {
	return genConfig{
		Format:   format,
		Hostname: "mail01.contoso.example",
		App:      "security",
		Seed:     7,
		Start:    time.Date(2026, 3, 14, 9, 15, 2, 0, time.UTC),
	}
}

// headerRE returns a pattern for the format's header that captures the
// sequence number.
func headerRE(format string) *regexp.Regexp {
	if format == formatRFC5424 {
		return regexp.MustCompile(`^<(20|22)>1 2026-03-14T09:\d\d:\d\d\.\d{3}Z mail01\.contoso\.example security - seq(\d+) - `)
	}
	return regexp.MustCompile(`^<(20|22)>Mar 14 09:\d\d:\d\d mail01\.contoso\.example security\[(\d+)\]: `)
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
				seq, err := strconv.Atoi(string(h[2]))
				require.NoError(t, err)
				require.False(t, seen[seq], "sequence number %d repeats", seq)
				seen[seq] = true
				require.Equal(t, i, seq, "message %d carries sequence %d", i, seq)

				body := string(m[len(h[0]):])
				bodies[body] = true
				kinds[kindOf(body)] = true
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
	for _, prefix := range []string{
		"Failed", "SMTP: User", "HTTP/WebMail: Invalid", "HTTP/KOFF", "Found virus",
		"Message from", "Relay attempt", "IP address", "SMTP Spam attack", "SMTP: AntiHammering",
		"SPF check", "Attempt to deliver", "Administration login",
	} {
		if len(body) >= len(prefix) && body[:len(prefix)] == prefix {
			return prefix
		}
	}
	return "audit"
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

func TestGenerateRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*genConfig)
	}{
		{"unknown format", func(c *genConfig) { c.Format = "rfc9999" }},
		{"empty hostname", func(c *genConfig) { c.Hostname = "" }},
		{"empty app", func(c *genConfig) { c.App = "" }},
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
	v, err := parseVariant(priWarning, true, "from {ip}:{port} done")
	require.NoError(t, err)
	require.Equal(t, []segment{{"from ", fieldIP}, {":", fieldPort}, {" done", fieldNone}}, v.segs)

	_, err = parseVariant(priWarning, true, "from {nope}")
	require.ErrorContains(t, err, "unknown field")
	_, err = parseVariant(priWarning, true, "from {ip")
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
