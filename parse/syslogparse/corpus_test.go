package syslogparse

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
)

// corpusLine is one line of testdata/kerio/syslog_wrapped.jsonl (docs/kerio.md §6.6).
type corpusLine struct {
	ID         string                     `json:"id"`
	Format     string                     `json:"format"`
	ReceivedAt string                     `json:"received_at"`
	Raw        string                     `json:"raw"`
	Expected   map[string]json.RawMessage `json:"expected"`
}

func loadCorpus(t testing.TB) []corpusLine {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "kerio", "syslog_wrapped.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var lines []corpusLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l corpusLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), sc.Text())
		lines = append(lines, l)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, lines)
	return lines
}

// msgTime matches a time inside MSG that the worker prefers to the header
// (docs/kerio.md §6.2): a Kerio bracket time or a zoned Apache time.
var msgTime = regexp.MustCompile(`\[\d{1,2}/[A-Z][a-z]{2}/\d{4}[ :]\d{2}:\d{2}:\d{2}( [+-]\d{4})?\]`)

// fieldJSON renders a document field as the JSON value the corpus expects.
func fieldJSON(t testing.TB, f *ecs.Field) string {
	t.Helper()
	var v any
	switch f.Kind {
	case ecs.KindString:
		v = f.Str
	case ecs.KindInt:
		v = f.Int
	case ecs.KindRaw:
		return f.Str
	default:
		t.Fatalf("%s: unexpected kind %d", f.Key.Name(), f.Kind)
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestKerioCorpus(t *testing.T) {
	p := New()
	for _, l := range loadCorpus(t) {
		t.Run(l.ID, func(t *testing.T) {
			received, err := time.Parse(time.RFC3339Nano, l.ReceivedAt)
			require.NoError(t, err)
			h := p.Parse([]byte(l.Raw), received, time.UTC)
			assert.Equal(t, l.Format, h.Format.String())

			var doc ecs.Document
			h.AppendECS(&doc)
			checked := 0
			for key, want := range l.Expected {
				if !strings.HasPrefix(key, "log.syslog.") {
					continue
				}
				checked++
				f, ok := doc.Get(ecs.NewKey(key))
				if string(want) == "null" {
					assert.False(t, ok, "%s must be absent, got %v", key, f)
					continue
				}
				if assert.True(t, ok, "%s missing", key) {
					assert.JSONEq(t, string(want), fieldJSON(t, f), key)
				}
			}
			assert.NotZero(t, checked, "no log.syslog.* expectations")

			wantTS, ok := l.Expected["@timestamp"]
			if !ok || msgTime.MatchString(h.Msg) {
				return // the worker takes @timestamp from MSG for this line
			}
			var s string
			require.NoError(t, json.Unmarshal(wantTS, &s))
			want, err := time.Parse(time.RFC3339Nano, s)
			require.NoError(t, err)
			got := received
			if h.HasTime {
				got = h.Time
			}
			assert.True(t, want.Equal(got), "@timestamp: want %s, got %s", want, got)
		})
	}
}
