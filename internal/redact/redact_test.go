package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://user:hunter2@es:9200", "http://REDACTED@es:9200"},
		{"https://user:p@ss:w@rd@es:9200/path", "https://REDACTED@es:9200/path"},
		{"https://token@es", "https://REDACTED@es"},
		{`addresses[0]: got "http://u:p@a:1" and "https://v:q@b:2"`, `addresses[0]: got "http://REDACTED@a:1" and "https://REDACTED@b:2"`},
		{"[http://u:p@a:1 http://b:2]", "[http://REDACTED@a:1 http://b:2]"},
		{"http://es:9200", "http://es:9200"},
		{"mail user@example.com at http://es:9200/x", "mail user@example.com at http://es:9200/x"},
		{"http://es:9200/path?q=a@b", "http://es:9200/path?q=a@b"},
		{"no url at all", "no url at all"},
	}
	for _, tt := range tests {
		if got := URLs(tt.in); got != tt.want {
			t.Errorf("URLs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// secretValue implements slog.LogValuer, like the config Secret types.
type secretValue string

func (secretValue) LogValue() slog.Value { return slog.StringValue("REDACTED") }

func TestHandlerRedactsEveryPlace(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var base slog.Handler = slog.NewTextHandler(&buf, nil)
			if format == "json" {
				base = slog.NewJSONHandler(&buf, nil)
			}
			log := slog.New(Handler(base)).With("base", "http://a:s3cret1@h:1").WithGroup("g")
			urlErr := &url.Error{Op: "Get", URL: "http://a:s3cret2@h:1/_bulk", Err: errors.New("refused")}
			log.Error("probe http://a:s3cret3@h:1 failed",
				"addresses", []string{"http://a:s3cret4@h:1", "http://b:2"},
				"err", fmt.Errorf("start: %w", urlErr),
				"one", "https://a:s3cret5@h:2",
				slog.Group("sub", "u", "http://a:s3cret6@h:3"),
				"secret", secretValue("s3cret7"),
				"count", 3,
			)
			out := buf.String()
			if strings.Contains(out, "s3cret") {
				t.Fatalf("a credential reached the log:\n%s", out)
			}
			for _, want := range []string{"REDACTED@h:1", "REDACTED@h:2", "REDACTED@h:3", "http://b:2", "refused", "3"} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
