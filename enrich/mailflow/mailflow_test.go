package mailflow

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
)

func TestOneRecipientDelivered(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "67ac9f03-0000001a", "sender@example.net", 20480, "203.0.113.25", "alice@contoso.example"))
	s := f.one(time.Second, sent(5, "67ac9f03-0000001a", "alice@contoso.example", "delivered", "2.0.0", "127.0.0.1"))

	require.Equal(t, map[string]any{
		"@timestamp":         "2025-02-12T14:00:05Z",
		"event.kind":         "event",
		"event.category":     []any{"email"},
		"event.type":         []any{"info"},
		"event.action":       "message-flow",
		"event.module":       "kerio_connect",
		"event.dataset":      "kerio_connect.mail",
		"event.outcome":      "success",
		"event.start":        "2025-02-12T14:00:00Z",
		"event.end":          "2025-02-12T14:00:05Z",
		"event.duration":     float64(5 * time.Second),
		"observer.vendor":    "Kerio",
		"observer.product":   "Kerio Connect",
		"observer.type":      "mail-server",
		"observer.hostname":  "mail01.contoso.example",
		"email.local_id":     "67ac9f03-0000001a",
		"email.from.address": "sender@example.net",
		"email.to.address":   []any{"alice@contoso.example"},
		"kerio.mail.size":    float64(20480),
		"source.ip":          "203.0.113.25",
		"related.ip":         []any{"203.0.113.25", "127.0.0.1"},
		"kerio.mail.recipients": []any{map[string]any{
			"address": "alice@contoso.example", "result": "delivered", "status": "2.0.0", "destination_ip": "127.0.0.1",
		}},
	}, encode(t, s))
	require.Equal(t, Stats{Emitted: 1, Completed: 1}, f.tr.Stats())
}

func TestInterleavedMessages(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q1", "a@one.example", 100, "198.51.100.1", "x@contoso.example"))
	f.none(0, recv(1, "Q2", "b@two.example", 200, "198.51.100.2", "y@contoso.example", "z@contoso.example"))
	f.none(0, sent(2, "Q2", "y@contoso.example", "delivered", "2.0.0", "127.0.0.1"))
	s1 := f.one(0, sent(3, "Q1", "x@contoso.example", "failed", "5.1.1", "127.0.0.1"))
	s2 := f.one(0, sent(4, "Q2", "z@contoso.example", "delivered", "2.0.0", "127.0.0.1"))

	require.Equal(t, "Q1", s1.LocalID)
	require.Equal(t, "a@one.example", s1.From)
	require.Equal(t, int64(100), s1.Size)
	require.Equal(t, "198.51.100.1", s1.ClientIP)
	require.Equal(t, []string{"x@contoso.example"}, s1.To)
	require.Equal(t, []string{"x@contoso.example=failed"}, results(s1))
	require.Equal(t, "failure", s1.Outcome)
	require.Equal(t, 3*time.Second, s1.End.Sub(s1.Start))

	require.Equal(t, "Q2", s2.LocalID)
	require.Equal(t, "b@two.example", s2.From)
	require.Equal(t, []string{"y@contoso.example", "z@contoso.example"}, s2.To)
	require.Equal(t, []string{"y@contoso.example=delivered", "z@contoso.example=delivered"}, results(s2))
	require.Equal(t, "success", s2.Outcome)
	require.Equal(t, Stats{Emitted: 2, Completed: 2}, f.tr.Stats())
}

func TestThreeRecipientsOutOfOrder(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "r1@c.example", "r2@c.example", "r3@c.example"))
	f.none(0, sent(9, "Q", "r3@c.example", "relayed", "2.0.0", "192.0.2.25"))
	f.none(0, sent(4, "Q", "r1@c.example", "delivered", "2.0.0", "127.0.0.1"))
	s := f.one(0, sent(6, "Q", "r2@c.example", "failed", "5.1.1", "127.0.0.1"))
	require.Equal(t, []string{"r1@c.example", "r2@c.example", "r3@c.example"}, s.To)
	require.Equal(t, []string{"r1@c.example=delivered", "r2@c.example=failed", "r3@c.example=relayed"}, results(s))
	require.Equal(t, "unknown", s.Outcome, "some delivered, some failed")
	require.Equal(t, t0.Add(9*time.Second), s.End, "the latest result, not the last observed")
	require.Equal(t, "2025-02-12T14:00:09Z", encode(t, s)["@timestamp"])
	require.Equal(t, float64(9*time.Second), encode(t, s)["event.duration"])
}

func TestAllFailedIsFailure(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "r1@c.example", "r2@c.example"))
	f.none(0, sent(1, "Q", "r1@c.example", "failed", "5.1.1", "127.0.0.1"))
	s := f.one(0, sent(2, "Q", "r2@c.example", "bounced", "5.0.0", "127.0.0.1"))
	require.Equal(t, "failure", s.Outcome)
}

func TestDelayedThenDelivered(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "ops@example.org"))
	f.none(time.Minute, sent(60, "Q", "ops@example.org", "delayed", "4.4.1", "198.51.100.30"))
	require.Equal(t, 1, f.tr.Stats().Open, "delayed is not final")
	s := f.one(5*time.Minute, sent(300, "Q", "ops@example.org", "delivered", "2.0.0", "198.51.100.30"))
	require.Equal(t, "success", s.Outcome)
	require.Equal(t, []Recipient{{Address: "ops@example.org", Result: "delivered", Status: "2.0.0", DestinationIP: "198.51.100.30"}}, s.Recipients)
	require.Equal(t, 300*time.Second, s.End.Sub(s.Start))
	require.Zero(t, f.tr.Stats().Open)
}

func TestLateDelayedDoesNotUndoFinal(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "r1@c.example", "r2@c.example"))
	f.none(0, sent(1, "Q", "r1@c.example", "delivered", "2.0.0", "127.0.0.1"))
	f.none(0, sent(2, "Q", "r1@c.example", "delayed", "4.4.1", "127.0.0.1"))
	s := f.one(0, sent(3, "Q", "r2@c.example", "delivered", "2.0.0", "127.0.0.1"))
	require.Equal(t, "success", s.Outcome)
}

func TestTimeoutEmitsWhatIsKnown(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "r1@c.example", "r2@c.example", "r3@c.example"))
	f.none(time.Second, sent(1, "Q", "r1@c.example", "delivered", "2.0.0", "127.0.0.1"))
	f.none(2*time.Second, sent(2, "Q", "r2@c.example", "delayed", "4.4.1", "198.51.100.30"))

	require.Empty(t, f.tr.Expire(t0.Add(10*time.Minute-time.Nanosecond)))
	out := f.tr.Expire(t0.Add(10 * time.Minute))
	require.Len(t, out, 1)
	s := out[0]
	require.Equal(t, TimedOut, s.Reason)
	require.Equal(t, "unknown", s.Outcome)
	require.Equal(t, []string{"r1@c.example=delivered", "r2@c.example=delayed", "r3@c.example=pending"}, results(s))
	got := encode(t, s)
	require.Equal(t, []any{TagTimeout}, got["tags"])
	require.Equal(t, "2025-02-12T14:00:01Z", got["@timestamp"], "the last final result")
	require.Equal(t, Stats{Emitted: 1, TimedOut: 1}, f.tr.Stats())
	require.Empty(t, f.tr.Expire(t0.Add(time.Hour)), "emitted once")
}

func TestTimeoutWithoutAnyResult(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(7, "Q", "a@x.example", 10, "198.51.100.1", "r1@c.example"))
	out := f.tr.Expire(t0.Add(time.Hour))
	require.Len(t, out, 1)
	got := encode(t, out[0])
	require.Equal(t, "2025-02-12T14:00:07Z", got["@timestamp"], "no result: the last line's time")
	require.NotContains(t, got, "event.duration")
	require.NotContains(t, got, "event.end")
	require.Equal(t, "unknown", got["event.outcome"])
}

func TestExpireOnlyOldEnough(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q1", "a@x.example", 10, "198.51.100.1", "r@c.example"))
	f.none(5*time.Minute, recv(300, "Q2", "a@x.example", 10, "198.51.100.1", "r@c.example"))
	out := f.tr.Expire(t0.Add(11 * time.Minute))
	require.Len(t, out, 1)
	require.Equal(t, "Q1", out[0].LocalID)
	require.Equal(t, 1, f.tr.Stats().Open)
	out = f.tr.Expire(t0.Add(15 * time.Minute))
	require.Len(t, out, 1)
	require.Equal(t, "Q2", out[0].LocalID)
}

func TestEvictionAtTheBound(t *testing.T) {
	cfg := testConfig()
	cfg.MaxOpenMessages = 2
	f := newFeeder(t, cfg)
	f.none(0, recv(0, "Q1", "a@x.example", 10, "198.51.100.1", "r@c.example"))
	f.none(0, sent(1, "Q0", "r@c.example", "delivered", "2.0.0", "127.0.0.1")) // orphan
	s := f.one(0, recv(2, "Q2", "b@x.example", 10, "198.51.100.1", "r@c.example"))
	require.Equal(t, "Q1", s.LocalID, "the oldest goes")
	require.Equal(t, Evicted, s.Reason)
	require.Equal(t, []any{TagEvicted}, encode(t, s)["tags"])
	require.Equal(t, "unknown", s.Outcome)

	f.none(0, recv(3, "Q3", "c@x.example", 10, "198.51.100.1", "r@c.example")) // pushes out the orphan Q0
	require.Equal(t, Stats{Open: 2, Emitted: 1, Evicted: 2, Orphaned: 1}, f.tr.Stats())

	// The open ones still complete.
	require.Equal(t, "Q3", f.one(0, sent(4, "Q3", "r@c.example", "delivered", "2.0.0", "127.0.0.1")).LocalID)
	require.Equal(t, "Q2", f.one(0, sent(5, "Q2", "r@c.example", "delivered", "2.0.0", "127.0.0.1")).LocalID)
}

// Workers race: a Sent line can be observed before its Recv line.
func TestSentBeforeRecv(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, sent(1, "Q", "r@c.example", "delivered", "2.0.0", "127.0.0.1"))
	require.Equal(t, 1, f.tr.Stats().Open)
	s := f.one(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "R@c.example"))
	require.Equal(t, "a@x.example", s.From)
	require.Equal(t, []string{"r@c.example=delivered"}, results(s))
	require.Equal(t, t0, s.Start, "the Recv line's time, though observed later")
	require.Equal(t, time.Second, s.End.Sub(s.Start))
	require.Equal(t, "success", s.Outcome)
}

func TestOrphanSentIsDroppedAtTimeout(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, sent(1, "Q", "r@c.example", "delivered", "2.0.0", "127.0.0.1"))
	f.none(0, sent(2, "Q", "s@c.example", "failed", "5.1.1", "127.0.0.1"))
	require.Empty(t, f.tr.Expire(t0.Add(time.Hour)))
	require.Equal(t, Stats{Orphaned: 1}, f.tr.Stats())
}

// Kerio expands aliases: the Recv recipient never gets a result of its own.
func TestAliasExpansion(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, "[30/Nov/2005 17:57:14] Recv: Queue-ID: 438dd9ea-00000000, Service: SMTP, From: <jwayne@company.com>, To: <jwayne@company.com>, Size: 1229, User: jwayne@company.com, Sender-Host: 195.39.55.2, SSL: yes")
	s := f.one(0, "[30/Nov/2005 17:57:15] Sent: Queue-ID: 438dd9ea-00000000, Recipient: <wsmith@company.com>, Result: delivered, Status: 2.0.0")
	require.Equal(t, []string{"jwayne@company.com", "wsmith@company.com"}, s.To)
	require.Equal(t, []string{"wsmith@company.com=delivered"}, results(s))
	require.Equal(t, "success", s.Outcome)
	require.Equal(t, time.Second, s.End.Sub(s.Start))
}

func TestExpansionWaitsForDelayed(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "team@c.example"))
	f.none(0, sent(1, "Q", "m1@c.example", "delayed", "4.4.1", "127.0.0.1"))
	f.none(0, sent(2, "Q", "m2@c.example", "delivered", "2.0.0", "127.0.0.1"))
	s := f.one(0, sent(3, "Q", "m1@c.example", "delivered", "2.0.0", "127.0.0.1"))
	require.Equal(t, []string{"m1@c.example=delivered", "m2@c.example=delivered"}, results(s))
}

func TestDiscarded(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "67ac9f03-0000001d", "a@x.example", 10, "198.51.100.1", "r1@c.example", "r2@c.example"))
	f.none(0, sent(1, "67ac9f03-0000001d", "r1@c.example", "delivered", "2.0.0", "127.0.0.1"))
	s := f.one(0, "[12/Feb/2025 14:00:06] SMTP Send: message 67ac9f03-0000001d discarded")
	require.Equal(t, []string{"r1@c.example=delivered", "r2@c.example=discarded"}, results(s))
	require.Equal(t, "unknown", s.Outcome)
	require.Equal(t, t0.Add(6*time.Second), s.End)

	// A discard of a message never seen keeps no state.
	f.none(0, "[12/Feb/2025 14:00:07] SMTP Send: message 67ac9f03-0000001e discarded")
	require.Zero(t, f.tr.Stats().Open)
}

func TestSameQueueIDOnTwoServers(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "r@c.example"))
	f.host = "mail02.contoso.example"
	f.none(0, recv(0, "Q", "b@x.example", 20, "198.51.100.2", "r@c.example"))
	s := f.one(0, sent(1, "Q", "r@c.example", "delivered", "2.0.0", "127.0.0.1"))
	require.Equal(t, "b@x.example", s.From)
	require.Equal(t, "mail02.contoso.example", s.Observer)
	require.Equal(t, 1, f.tr.Stats().Open)
}

func TestRecipientsMatchWithoutCase(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "Bob@Contoso.Example"))
	s := f.one(0, sent(1, "Q", "bob@contoso.example", "delivered", "2.0.0", "127.0.0.1"))
	require.Equal(t, []string{"Bob@Contoso.Example"}, s.To)
}

func TestMaxRecipients(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRecipients = 2
	f := newFeeder(t, cfg)
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "r1@c.example", "r2@c.example", "r3@c.example"))
	f.none(0, sent(1, "Q", "r1@c.example", "delivered", "2.0.0", "127.0.0.1"))
	f.none(0, sent(2, "Q", "r2@c.example", "delivered", "2.0.0", "127.0.0.1"))
	f.none(0, sent(3, "Q", "r3@c.example", "delivered", "2.0.0", "127.0.0.1"))
	out := f.tr.Expire(t0.Add(time.Hour))
	require.Len(t, out, 1)
	require.Equal(t, 2, out[0].Dropped)
	require.Equal(t, "unknown", out[0].Outcome, "the dropped recipients' fate is not known")
	require.Equal(t, float64(2), encode(t, out[0])["kerio.mail.recipients_dropped"])
}

func TestOtherEventsAreIgnored(t *testing.T) {
	f := newFeeder(t, testConfig())
	var doc ecs.Document
	doc.SetString(ecs.NewKey("event.module"), "kerio_connect")
	doc.SetString(ecs.NewKey("event.action"), "login-failed")
	doc.SetString(ecs.NewKey("email.local_id"), "Q")
	require.Nil(t, f.tr.Observe(&doc, t0))

	doc.Reset()
	doc.SetString(ecs.NewKey("event.module"), "postfix")
	doc.SetString(ecs.NewKey("event.action"), "message-received")
	doc.SetString(ecs.NewKey("email.local_id"), "Q")
	require.Nil(t, f.tr.Observe(&doc, t0))

	doc.Reset()
	doc.SetString(ecs.NewKey("event.module"), "kerio_connect")
	doc.SetString(ecs.NewKey("event.action"), "message-received") // no Queue-ID (the 6.0 "SVC: From:" lines)
	require.Nil(t, f.tr.Observe(&doc, t0))
	require.Zero(t, f.tr.Stats().Open)

	// Allocation-free when the event is not a mail event.
	doc.Reset()
	doc.SetString(ecs.NewKey("event.module"), "kerio_connect")
	doc.SetString(ecs.NewKey("event.action"), "login-failed")
	require.Zero(t, testing.AllocsPerRun(100, func() { f.tr.Observe(&doc, t0) }))
}

// Completing lines that change nothing held (a repeated delayed result) allocate nothing.
func TestRepeatedDelayedAllocatesNothing(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "r@c.example"))
	doc := f.parse(sent(1, "Q", "r@c.example", "delayed", "4.4.1", "198.51.100.30"))
	f.tr.Observe(doc, t0)
	require.Zero(t, testing.AllocsPerRun(100, func() { f.tr.Observe(doc, t0) }))
}

func TestFlushEmitsEverything(t *testing.T) {
	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q1", "a@x.example", 10, "198.51.100.1", "r@c.example"))
	f.none(0, recv(0, "Q2", "a@x.example", 10, "198.51.100.1", "r@c.example"))
	f.none(0, sent(0, "Q3", "r@c.example", "delivered", "2.0.0", "127.0.0.1"))
	out := f.tr.Flush()
	require.Len(t, out, 2)
	require.Equal(t, Stats{Emitted: 2, TimedOut: 2, Orphaned: 1}, f.tr.Stats())
}

// Several workers observe their own messages at once; -race checks the
// locking, and every message must be summarised exactly once.
func TestConcurrentWorkers(t *testing.T) {
	tr := New(testConfig())
	const workers, perWorker = 4, 200
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			f := &feeder{tb: t, p: newFeeder(t, testConfig()).p, tr: tr, host: "mail01"}
			for i := range perWorker {
				// Each worker sees the Sent lines of the previous worker's messages:
				// lines of one message cross workers.
				own := fmt.Sprintf("W%d-%d", w, i)
				other := fmt.Sprintf("W%d-%d", (w+1)%workers, i)
				var out []Summary
				out = append(out, f.feed(0, recv(0, own, "a@x.example", 10, "198.51.100.1", "r@c.example"))...)
				out = append(out, f.feed(0, sent(1, other, "r@c.example", "delivered", "2.0.0", "127.0.0.1"))...)
				mu.Lock()
				for _, s := range out {
					got = append(got, s.LocalID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, got, workers*perWorker)
	slices.Sort(got)
	require.Len(t, slices.Compact(got), workers*perWorker, "each exactly once")
	require.Equal(t, Stats{Emitted: workers * perWorker, Completed: workers * perWorker}, tr.Stats())
}

func TestConfigValidate(t *testing.T) {
	d := DefaultConfig()
	require.NoError(t, d.Validate())
	require.False(t, d.Enabled)
	require.Equal(t, 10*time.Minute, d.Timeout)
	require.Equal(t, 100_000, d.MaxOpenMessages)

	err := Config{Timeout: 0, MaxOpenMessages: 0, MaxRecipients: -1}.Validate()
	require.ErrorContains(t, err, "timeout: must be at least 1s, got 0s")
	require.ErrorContains(t, err, "max_open_messages: must be at least 1, got 0")
	require.ErrorContains(t, err, "max_recipients: must be at least 1, got -1")
}

// ecsType is one entry of testdata/ecs/ecs_flat.json.
type ecsType struct {
	Type      string   `json:"type"`
	Normalize []string `json:"normalize"`
}

func TestSummaryFieldsAreECS(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ecs", "ecs_flat.json"))
	require.NoError(t, err)
	var schema map[string]ecsType
	require.NoError(t, json.Unmarshal(b, &schema))
	b, err = os.ReadFile(filepath.Join("..", "..", "testdata", "ecs", "categorization.json"))
	require.NoError(t, err)
	var cat struct {
		TypesByCat map[string][]string `json:"expected_event_types_by_category"`
	}
	require.NoError(t, json.Unmarshal(b, &cat))
	require.Contains(t, cat.TypesByCat["email"], "info", "event.type info is allowed with category email")

	f := newFeeder(t, testConfig())
	f.none(0, recv(0, "Q", "a@x.example", 10, "198.51.100.1", "r1@c.example", "r2@c.example"))
	f.none(0, sent(1, "Q", "r1@c.example", "delivered", "2.0.0", "2001:db8::25"))
	complete := f.one(0, sent(2, "Q", "r2@c.example", "delivered", "2.0.0", "mx.c.example"))
	f.none(0, recv(0, "T", "a@x.example", 10, "198.51.100.1", "r1@c.example"))
	timedOut := f.tr.Expire(t0.Add(time.Hour))
	require.Len(t, timedOut, 1)

	for _, s := range []Summary{complete, timedOut[0]} {
		for key, v := range encode(t, s) {
			if key == "tags" || len(key) > 6 && key[:6] == "kerio." {
				continue
			}
			def, ok := schema[key]
			require.True(t, ok, "%s is not an ECS field", key)
			values := []any{v}
			if list, isList := v.([]any); isList {
				require.Contains(t, def.Normalize, "array", "%s: an array for a field that is not one", key)
				values = list
			}
			for _, v := range values {
				switch def.Type {
				case "keyword":
					require.IsType(t, "", v, key)
				case "ip":
					s, _ := v.(string)
					_, err := netip.ParseAddr(s)
					require.NoError(t, err, key)
				case "long":
					n, ok := v.(float64)
					require.True(t, ok && n == float64(int64(n)), "%s: %v", key, v)
				case "date":
					s, _ := v.(string)
					_, err := time.Parse(time.RFC3339Nano, s)
					require.NoError(t, err, key)
				default:
					t.Fatalf("%s: unexpected ECS type %s", key, def.Type)
				}
			}
		}
	}
	got := encode(t, complete)
	require.Equal(t, []any{
		map[string]any{"address": "r1@c.example", "result": "delivered", "status": "2.0.0", "destination_ip": "2001:db8::25"},
		map[string]any{"address": "r2@c.example", "result": "delivered", "status": "2.0.0", "destination": "mx.c.example"},
	}, got["kerio.mail.recipients"])
}
