package mailflow

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
	"siemfwd/parse/kerio"
)

// t0 is the receive time of the first line of every test.
var t0 = time.Date(2025, 2, 12, 14, 0, 0, 0, time.UTC)

// feeder runs real Kerio Mail log lines through the Kerio parser, sets
// @timestamp and observer.hostname as the worker does, and observes them.
type feeder struct {
	tb   testing.TB
	p    *kerio.Parser
	tr   *Tracker
	host string
	doc  ecs.Document
}

func newFeeder(tb testing.TB, cfg Config) *feeder {
	tb.Helper()
	require.NoError(tb, cfg.Validate())
	return &feeder{tb: tb, p: kerio.NewParser(), tr: New(cfg), host: "mail01.contoso.example"}
}

func testConfig() Config {
	c := DefaultConfig()
	c.Enabled = true
	return c
}

// parse fills f.doc from a Kerio Mail log file line.
func (f *feeder) parse(line string) *ecs.Document {
	f.tb.Helper()
	f.doc.Reset()
	r := f.p.Parse(&f.doc, line, kerio.Hint{Product: "kerio_connect", Log: "mail", FileLine: true}, time.UTC)
	require.True(f.tb, r.Matched, line)
	require.NotEmpty(f.tb, f.doc.GetString(ecs.NewKey("event.action")), "the parser did not recognise %q", line)
	f.doc.SetTime(ecs.NewKey("@timestamp"), r.Bracket)
	f.doc.SetStringNonEmpty(ecs.NewKey("observer.hostname"), f.host)
	return &f.doc
}

// feed observes line, received offset after t0.
func (f *feeder) feed(offset time.Duration, line string) []Summary {
	f.tb.Helper()
	return f.tr.Observe(f.parse(line), t0.Add(offset))
}

// none feeds line and requires that it completes nothing.
func (f *feeder) none(offset time.Duration, line string) {
	f.tb.Helper()
	require.Empty(f.tb, f.feed(offset, line), line)
}

// one feeds line and returns the single summary it completes.
func (f *feeder) one(offset time.Duration, line string) Summary {
	f.tb.Helper()
	out := f.feed(offset, line)
	require.Len(f.tb, out, 1, line)
	return out[0]
}

// stamp is a Kerio bracket time offset seconds after 14:00:00.
func stamp(sec int) string {
	return t0.Add(time.Duration(sec) * time.Second).Format("[02/Jan/2006 15:04:05]")
}

func recv(sec int, qid, from string, size int, ip string, to ...string) string {
	return fmt.Sprintf("%s Recv: Queue-ID: %s, Service: SMTP, From: <%s>, To: <%s>, Size: %d, Sender-Host: %s, SSL: yes, Subject: test, Msg-Id: <%s@x.example>",
		stamp(sec), qid, from, strings.Join(to, ">, <"), size, ip, qid)
}

func sent(sec int, qid, rcpt, result, status, host string) string {
	return fmt.Sprintf("%s Sent: Queue-ID: %s, Recipient: <%s>, Result: %s, Status: %s , Remote-Host: %s, Msg-Id: <%s@x.example>",
		stamp(sec), qid, rcpt, result, status, host, qid)
}

// encode returns the summary as the flat key → value map of its JSON.
func encode(tb testing.TB, s Summary) map[string]any {
	tb.Helper()
	var doc ecs.Document
	s.Fill(&doc)
	var enc ecs.Encoder
	var nested map[string]any
	out, err := enc.Append(nil, &doc)
	require.NoError(tb, err)
	require.NoError(tb, json.Unmarshal(out, &nested))
	flat := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			flat[prefix+k] = v
		}
	}
	walk("", nested)
	return flat
}

// results lists "address=result" of a summary's recipients.
func results(s Summary) []string {
	var out []string
	for _, r := range s.Recipients {
		out = append(out, r.Address+"="+r.Result)
	}
	return out
}
