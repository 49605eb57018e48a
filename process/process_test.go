package process_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"siemfwd/enrich/mailflow"
	"siemfwd/internal/corpus"
	"siemfwd/internal/cputime"
	"siemfwd/internal/ecstype"
	"siemfwd/pipeline"
	"siemfwd/pipeline/ledger"
	"siemfwd/pipeline/metrics"
	"siemfwd/process"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current output")

// readCorpus reads corpus files of testdata/kerio.
func readCorpus(t testing.TB, names ...string) []corpus.Line {
	t.Helper()
	return corpus.Read(t, filepath.Join("..", "testdata", "kerio"), names...)
}

func newProcessor() *process.ECSProcessor {
	return process.NewECSProcessor(process.ProcessOptions{KeepOriginal: true, Namespace: "default",
		AgentName: "siemfwd-test", AgentVersion: "test"}, metrics.New())
}

// flatten turns nested JSON into dotted keys, keeping flattened-type objects whole.
func flatten(t testing.TB, doc []byte) map[string]any {
	t.Helper()
	var nested map[string]any
	require.NoError(t, json.Unmarshal(doc, &nested), "invalid JSON: %s", doc)
	out := map[string]any{}
	var walk func(prefix string, v map[string]any)
	walk = func(prefix string, v map[string]any) {
		for k, val := range v {
			key := prefix + k
			if obj, ok := val.(map[string]any); ok && key != "log.syslog.structured_data" {
				walk(key+".", obj)
				continue
			}
			out[key] = val
		}
	}
	walk("", nested)
	return out
}

func TestEveryCorpusLineProducesItsExpectedFields(t *testing.T) {
	p := newProcessor()
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl"} {
		for _, l := range readCorpus(t, file) {
			t.Run(l.ID, func(t *testing.T) {
				ev := l.Event()
				p.Process(ev)
				got := flatten(t, ev.JSON)
				for key, want := range l.Expected {
					if want == nil {
						require.NotContains(t, got, key, "%s must be absent in %s", key, ev.JSON)
						continue
					}
					require.Contains(t, got, key, "%s missing in %s", key, ev.JSON)
					require.Equal(t, want, got[key], "%s in %s", key, ev.JSON)
				}
			})
		}
	}
}

// ecsField is one entry of testdata/ecs/ecs_flat.json.
type ecsField struct {
	Type string `json:"type"`
}

func loadECS(t testing.TB) map[string]ecsField {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ecs", "ecs_flat.json"))
	require.NoError(t, err)
	var fields map[string]ecsField
	require.NoError(t, json.Unmarshal(b, &fields))
	return fields
}

// checkECS reports every field of doc that ECS 9.4 does not define with a
// compatible JSON type, outside kerio.*, labels.* and tags.
func checkECS(schema map[string]ecsField, doc map[string]any) []string {
	var bad []string
	for key, val := range doc {
		if strings.HasPrefix(key, "kerio.") || strings.HasPrefix(key, "labels.") || key == "tags" {
			continue
		}
		f, ok := schema[key]
		if !ok {
			bad = append(bad, key+": not an ECS field")
			continue
		}
		values := []any{val}
		if list, ok := val.([]any); ok {
			values = list
		}
		for _, v := range values {
			if !ecstype.Accepts(f.Type, v) {
				bad = append(bad, fmt.Sprintf("%s: %T %v does not fit ECS type %s", key, v, v, f.Type))
			}
		}
	}
	return bad
}

func TestEveryEmittedFieldIsECSWithTheRightType(t *testing.T) {
	schema := loadECS(t)
	p := newProcessor()
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl"} {
		for _, l := range readCorpus(t, file) {
			ev := l.Event()
			p.Process(ev)
			require.Empty(t, checkECS(schema, flatten(t, ev.JSON)), "%s: %s", l.ID, ev.JSON)
		}
	}
}

func TestUnparsableHeaderStillProducesAnEvent(t *testing.T) {
	received := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for name, raw := range map[string]string{
		"binary garbage": "\x00\x01\x02\x1b[0m garbage \x7f",
		"empty":          "",
		"only a PRI":     "<13>",
		"bad PRI":        "<999>hello",
	} {
		t.Run(name, func(t *testing.T) {
			ev := &pipeline.Event{Raw: []byte(raw), Received: received,
				Origin: &pipeline.Origin{Source: "udp", Location: time.UTC},
				Peer:   netip.MustParseAddrPort("[::ffff:198.51.100.9]:514")}
			newProcessor().Process(ev)
			got := flatten(t, ev.JSON)
			require.Equal(t, "2026-03-14T09:00:00Z", got["@timestamp"])
			require.Equal(t, "198.51.100.9", got["observer.hostname"], "the sender stands in for the host")
			require.Equal(t, raw, got["event.original"])
			require.Empty(t, checkECS(loadECS(t), got))
		})
	}
	ev := &pipeline.Event{Raw: []byte("\x00\x01 not syslog"), Received: received,
		Origin: &pipeline.Origin{Source: "udp", Location: time.UTC}}
	newProcessor().Process(ev)
	require.Contains(t, flatten(t, ev.JSON)["tags"], process.TagSyslogParseFailure)
}

func TestInvalidUTF8BecomesReplacementCharactersAndIsTagged(t *testing.T) {
	m := metrics.New()
	p := process.NewECSProcessor(process.ProcessOptions{KeepOriginal: true, Namespace: "default"}, m)
	ev := &pipeline.Event{Raw: []byte("<13>Mar 14 09:00:00 host app: caf\xe9 cr\xe8me"), Received: time.Now(),
		Origin: &pipeline.Origin{Source: "udp", Location: time.UTC}}
	p.Process(ev)
	got := flatten(t, ev.JSON)
	require.Equal(t, "caf\uFFFD cr\uFFFDme", got["message"])
	require.Equal(t, "<13>Mar 14 09:00:00 host app: caf\uFFFD cr\uFFFDme", got["event.original"])
	require.Equal(t, []any{process.TagInvalidCharset}, got["tags"])
	require.Equal(t, 1.0, testutil.ToFloat64(m.ParseFailures.WithLabelValues("udp", "charset")))

	valid := &pipeline.Event{Raw: []byte("<13>Mar 14 09:00:00 host app: café crème"), Received: time.Now(),
		Origin: &pipeline.Origin{Source: "udp", Location: time.UTC}}
	p.Process(valid)
	got = flatten(t, valid.JSON)
	require.Equal(t, "café crème", got["message"])
	require.NotContains(t, got, "tags")
}

func TestTextIsDecodedFromTheSourcesCharset(t *testing.T) {
	for _, tt := range []struct {
		charset, raw, message string
		tags                  any
	}{
		{"windows-1252", "<13>Mar 14 09:00:00 host app: caf\xe9 cr\xe8me \x80", "café crème €", nil},
		{"windows-1250", "<13>Mar 14 09:00:00 host app: P\xf8ihl\xe1\x9aen\xed", "Přihlášení", nil},
		{"iso-8859-2", "<13>Mar 14 09:00:00 host app: P\xf8ihl\xe1\xb9en\xed", "Přihlášení", nil},
		{"windows-1250", "<13>Mar 14 09:00:00 host app: UTF-8 stays UTF-8: Přihlášení", "UTF-8 stays UTF-8: Přihlášení", nil},
		{"windows-1250", "<13>Mar 14 09:00:00 host app: a\x81b", "a\uFFFDb", []any{process.TagInvalidCharset}},
	} {
		t.Run(tt.charset+" "+tt.message, func(t *testing.T) {
			ev := &pipeline.Event{Raw: []byte(tt.raw), Received: time.Now(),
				Origin: &pipeline.Origin{Source: "udp", Location: time.UTC, Charset: tt.charset}}
			newProcessor().Process(ev)
			got := flatten(t, ev.JSON)
			require.Equal(t, tt.message, got["message"])
			require.Equal(t, "<13>Mar 14 09:00:00 host app: "+tt.message, got["event.original"])
			require.Equal(t, tt.tags, got["tags"])
		})
	}
}

// A sender profile matched by HOSTNAME brings its own charset: the message
// is decoded again with it.
func TestHostnameProfileCharsetDecides(t *testing.T) {
	raw := []byte("<13>Mar 14 09:00:00 prague-fw app: P\xf8ihl\xe1\x9aen\xed")
	for _, tt := range []struct {
		name         string
		source, prof string
		message      string
		tags         any
	}{
		{"profile windows-1250 on a UTF-8 source", "", "windows-1250", "Přihlášení", nil},
		{"profile windows-1250 on a windows-1252 source", "windows-1252", "windows-1250", "Přihlášení", nil},
		{"profile utf-8 on a windows-1250 source", "windows-1250", "utf-8", "P\uFFFDihl\uFFFD\uFFFDen\uFFFD", []any{process.TagInvalidCharset}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prof := &pipeline.Origin{Source: "udp", Location: time.UTC, Profile: "prague", Charset: tt.prof}
			base := &pipeline.Origin{Source: "udp", Location: time.UTC, Charset: tt.source,
				ByHostname: func(h string) *pipeline.Origin {
					if h == "prague-fw" {
						return prof
					}
					return nil
				}}
			ev := &pipeline.Event{Raw: raw, Received: time.Now(), Origin: base}
			newProcessor().Process(ev)
			got := flatten(t, ev.JSON)
			require.Equal(t, tt.message, got["message"])
			require.Equal(t, "<13>Mar 14 09:00:00 prague-fw app: "+tt.message, got["event.original"])
			require.Equal(t, "prague", got["labels.siemfwd_profile"])
			require.Equal(t, tt.tags, got["tags"])
		})
	}
}

// A Kerio Connect server on Czech Windows writes its file logs in
// windows-1250: names and subjects come out right.
func TestKerioLineInACodePage(t *testing.T) {
	ev := &pipeline.Event{Received: time.Now(), Raw: []byte("[06/Sep/2004 08:40:39] User wsmith@company.com marked a message as spam, " +
		"Folder: ~wsmith@company.com/INBOX, Size: 462, From: \"Ji\xf8\xed \x8aediv\xfd\" <js@company.com>, Subject: P\xf8ihl\xe1\x9aen\xed"),
		Origin: &pipeline.Origin{Source: "files", Format: pipeline.FormatLine, Location: time.UTC,
			Product: "kerio_connect", Log: "spam", Charset: "windows-1250"}}
	newProcessor().Process(ev)
	got := flatten(t, ev.JSON)
	require.Equal(t, "Jiří Šedivý", got["kerio.mail.from_name"])
	require.Equal(t, "Přihlášení", got["email.subject"])
	require.NotContains(t, got, "tags")
}

func TestTruncatedEventsAreTagged(t *testing.T) {
	ev := &pipeline.Event{Raw: []byte("<13>1 2026-03-14T09:00:00Z h app - - - cut her"), Flags: pipeline.FlagTruncated,
		Origin: &pipeline.Origin{Source: "tcp", Location: time.UTC}, Received: time.Now()}
	newProcessor().Process(ev)
	require.Contains(t, flatten(t, ev.JSON)["tags"], process.TagTruncated)
}

func TestEventOriginalCanBeSwitchedOff(t *testing.T) {
	p := process.NewECSProcessor(process.ProcessOptions{Namespace: "default"}, metrics.New())
	ev := &pipeline.Event{Raw: []byte("<13>1 2026-03-14T09:00:00Z h app - - - hi"),
		Origin: &pipeline.Origin{Source: "tcp", Location: time.UTC}, Received: time.Now()}
	p.Process(ev)
	require.NotContains(t, flatten(t, ev.JSON), "event.original")
}

// The golden files pin the whole document for representative messages.
var goldenIDs = []string{"dev-001", "dev-004", "dev-010", "dev-019", "dev-113", "sys-001", "sys-009", "sys-021", "sys-025", "sys-034"}

func TestGoldenDocuments(t *testing.T) {
	lines := map[string]corpus.Line{}
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range readCorpus(t, file) {
			lines[l.ID] = l
		}
	}
	p := newProcessor()
	for _, id := range goldenIDs {
		t.Run(id, func(t *testing.T) {
			l, ok := lines[id]
			require.True(t, ok)
			ev := l.Event()
			p.Process(ev)
			var pretty bytes.Buffer
			require.NoError(t, json.Indent(&pretty, ev.JSON, "", "  "))
			path := filepath.Join("testdata", "golden", id+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, append(pretty.Bytes(), '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run `go test ./pipeline -run Golden -update` to create it")
			require.JSONEq(t, string(want), string(ev.JSON), "regenerate with `make golden` if the change is intended")
		})
	}
}

func FuzzProcess(f *testing.F) {
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range readCorpus(f, file) {
			f.Add(l.Raw, l.Format != "")
		}
	}
	schema := loadECS(f)
	p := newProcessor()
	f.Fuzz(func(t *testing.T, raw string, syslog bool) {
		o := &pipeline.Origin{Source: "fuzz", Location: time.UTC, Format: pipeline.FormatLine}
		if syslog {
			o.Format = pipeline.FormatSyslog
		}
		ev := &pipeline.Event{Raw: []byte(raw), Origin: o, Received: time.Unix(1_700_000_000, 0)}
		p.Process(ev)
		if bad := checkECS(schema, flatten(t, ev.JSON)); len(bad) > 0 {
			t.Fatalf("invalid ECS for %q: %v\n%s", raw, bad, ev.JSON)
		}
	})
}

func BenchmarkProcess(b *testing.B) {
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range readCorpus(b, file) {
			if !strings.HasPrefix(l.Log, "connect.security") && !strings.HasPrefix(l.Log, "connect.audit") {
				continue
			}
			b.Run(l.ID, func(b *testing.B) {
				p := newProcessor()
				ev := l.Event()
				b.ReportAllocs()
				b.SetBytes(int64(len(l.Raw)))
				for b.Loop() {
					p.Process(ev)
				}
			})
		}
	}
}

func TestTLSClientCertificateReachesTheDocument(t *testing.T) {
	o := &pipeline.Origin{Source: "tls", Transport: "tls", Location: time.UTC, TLS: &pipeline.TLSPeer{
		Version: "1.3", Cipher: "TLS_AES_128_GCM_SHA256", Subject: "CN=mail01.contoso.example,O=Contoso",
		Issuer: "CN=Contoso CA", CommonName: "mail01.contoso.example", IssuerCommonName: "Contoso CA",
		AlternativeNames: []string{"mail01.contoso.example", "192.0.2.25"}, SerialNumber: "0A1B",
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		SHA256: "ABCDEF",
	}}
	ev := &pipeline.Event{Raw: []byte("<13>1 2026-03-14T09:00:00Z mail01 audit - - - hi"), Origin: o, Received: time.Now()}
	newProcessor().Process(ev)
	got := flatten(t, ev.JSON)
	require.Equal(t, true, got["tls.established"])
	require.Equal(t, "1.3", got["tls.version"])
	require.Equal(t, "CN=mail01.contoso.example,O=Contoso", got["tls.client.subject"])
	require.Equal(t, []any{"mail01.contoso.example"}, got["tls.client.x509.subject.common_name"])
	require.Equal(t, []any{"mail01.contoso.example", "192.0.2.25"}, got["tls.client.x509.alternative_names"])
	require.Empty(t, checkECS(loadECS(t), got))
}

func TestSilenceAlertIsAnECSAlert(t *testing.T) {
	led := ledger.New(ledger.DefaultConfig(), nil)
	a := process.NewSilenceAlerts(led, time.Second, slog.New(slog.DiscardHandler))
	ev, err := process.SilenceAlertForTest(a, ledger.Sender{Address: netip.MustParseAddr("192.0.2.25"), Hostname: "mail01",
		LastSeen: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC), Interval: 5 * time.Minute})
	require.NoError(t, err)
	newProcessor().Process(ev)
	got := flatten(t, ev.JSON)
	require.Equal(t, "alert", got["event.kind"])
	require.Equal(t, "sender-silent", got["event.action"])
	require.Equal(t, "mail01", got["observer.hostname"])
	require.Equal(t, "alert", ev.Routes.Kind)
	require.Empty(t, checkECS(loadECS(t), got))
}

func TestMailFlowSummaryComesOutAsItsOwnEvent(t *testing.T) {
	tracker := mailflow.New(mailflow.Config{Enabled: true, Timeout: time.Hour, MaxOpenMessages: 10, MaxRecipients: 10})
	opts := process.ProcessOptions{KeepOriginal: true, Namespace: "default"}
	summaries := process.NewMailFlowSummaries(tracker, nil, time.Hour, opts, metrics.New())
	opts.MailFlow, opts.OfferSummary = tracker, summaries.Offer
	p := process.NewECSProcessor(opts, metrics.New())
	o := &pipeline.Origin{Source: "files", Format: pipeline.FormatLine, Product: "kerio_connect", Log: "mail", Location: time.UTC}
	for _, line := range []string{
		"[30/Nov/2005 17:57:14] Recv: Queue-ID: 438dd9ea-00000000, Service: SMTP, From: <jwayne@company.com>, To: <wsmith@company.com>, Size: 1229, Sender-Host: 195.39.55.2, SSL: yes",
		"[30/Nov/2005 17:57:15] Sent: Queue-ID: 438dd9ea-00000000, Recipient: <wsmith@company.com>, Result: delivered, Status: 2.0.0",
	} {
		ev := &pipeline.Event{Raw: []byte(line), Origin: o, Received: time.Now()}
		p.Process(ev)
		require.NotContains(t, flatten(t, ev.JSON)["event.action"], "message-flow", "the line's own event is unchanged")
	}
	out := make(chan pipeline.Batch, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- summaries.Run(ctx, out) }()
	b := <-out
	cancel()
	require.NoError(t, <-done)
	require.Len(t, b.Events, 1)
	ev := b.Events[0]
	p.Process(ev) // FormatECS: passed through
	got := flatten(t, ev.JSON)
	require.Equal(t, "message-flow", got["event.action"])
	require.Equal(t, "438dd9ea-00000000", got["email.local_id"])
	require.Equal(t, "success", got["event.outcome"])
	require.Equal(t, float64(time.Second), got["event.duration"])
	require.Empty(t, checkECS(loadECS(t), got))
}

// BenchmarkProcessCorpus compares the Security log alone with the mixed
// corpus (every log of both products) through parse, map and encode: the
// breadth of parsers must not make the common case slower. "grouped" is the
// mixed corpus ordered by log, as a worker that sorted a batch by log before
// parsing it would see it: it costs as much as "mixed" (same instructions, I1
// misses and mispredicts in cachegrind, same CPU time), so such sorting
// would not pay. The "-syslog" cases are the lines as scripts/bench/kerio_mixed.sh
// sends them end to end (see asSyslog).
func BenchmarkProcessCorpus(b *testing.B) {
	var security, mixed []corpus.Line
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range readCorpus(b, file) {
			mixed = append(mixed, l)
			if l.Log == "connect.security" {
				security = append(security, l)
			}
		}
	}
	grouped := slices.Clone(mixed)
	slices.SortStableFunc(grouped, func(x, y corpus.Line) int { return strings.Compare(x.Log, y.Log) })
	cases := []struct {
		name   string
		lines  []corpus.Line
		syslog bool
	}{
		{"security", security, false}, {"mixed", mixed, false}, {"grouped", grouped, false},
		{"security-syslog", security, true}, {"mixed-syslog", mixed, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			p := newProcessor()
			events := make([]*pipeline.Event, len(c.lines))
			ids := pipeline.ConnectionScope(pipeline.NewSession(), "bench", 1)
			for i, l := range c.lines {
				events[i] = l.Event()
				if c.syslog {
					events[i] = asSyslog(l)
				}
				events[i].ID = ids.ID(uint64(i)) // as every source sets it
			}
			b.ReportAllocs()
			n := 0
			cpu := cputime.Process() // process CPU, GC included: wall time lies on a busy machine
			for b.Loop() {
				p.Process(events[n%len(events)])
				n++
			}
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(n), "cpu-ns/op")
		})
	}
}

// asSyslog returns the event siemfwd builds for l when loadgen -corpus sends
// it over TCP to a source that names no product: a bare line inside an RFC
// 5424 header whose APP-NAME names its log, a wrapped line as it is.
func asSyslog(l corpus.Line) *pipeline.Event {
	ev := l.Event()
	if l.Format == "" {
		app := l.Log
		if _, name, ok := strings.Cut(l.Log, "."); ok {
			app = name
		}
		ev.Raw = []byte("<22>1 2026-11-29T12:00:00.000Z mail01.contoso.example " + app + " - seq1 - " + l.Raw)
	}
	o := *ev.Origin
	o.Format, o.Transport, o.Product, o.Log = pipeline.FormatSyslog, "tcp", "", ""
	ev.Origin = &o
	return ev
}

func TestEventsJSONStaysSeparateWhateverItsSize(t *testing.T) {
	p := newProcessor()
	o := &pipeline.Origin{Source: "t", Location: time.UTC, Format: pipeline.FormatSyslog}
	var events []*pipeline.Event
	for _, size := range []int{10, 100_000, 10, 3000, 10} { // the big one outgrows a block
		ev := &pipeline.Event{Raw: []byte("<13>host app: " + strings.Repeat("x", size)), Origin: o, Received: time.Now()}
		p.Process(ev)
		events = append(events, ev)
	}
	want := make([]string, len(events))
	for i, ev := range events {
		want[i] = string(ev.JSON)
		require.True(t, json.Valid(ev.JSON))
	}
	for _, ev := range events {
		_ = append(ev.JSON, "garbage"...) // a careless reader must not reach its neighbour
	}
	for i, ev := range events {
		require.Equal(t, want[i], string(ev.JSON))
	}
}

func TestAProfilesLabelsAndObserverCostNoAllocationPerEvent(t *testing.T) {
	line := readCorpus(t, "dev.jsonl")[0]
	origin := *line.Event().Origin
	origin.Profile = "branch"
	origin.Observer = pipeline.Observer{Name: "mx1", Vendor: "Kerio", Product: "Kerio Connect", Type: "mail-server"}
	origin.Labels = []pipeline.Label{{Key: "env", Value: "prod"}, {Key: "site", Value: "brno"}}
	p := newProcessor()
	process := func() *pipeline.Event {
		ev := line.Event()
		ev.Origin = &origin
		p.Process(ev)
		return ev
	}
	got := flatten(t, process().JSON)
	require.Equal(t, "prod", got["labels.env"])
	require.Equal(t, "brno", got["labels.site"])
	require.Equal(t, "branch", got["labels.siemfwd_profile"])
	require.Equal(t, "mx1", got["observer.name"])

	ev := line.Event()
	ev.Origin = &origin
	allocs := testing.AllocsPerRun(200, func() {
		e := *ev
		p.Process(&e)
	})
	require.Zero(t, allocs)
}

// corpusEvents returns every corpus line as an event, in several origins:
// the Kerio corpora as labelled, the non-Kerio lines over syslog (as sent
// and wrapped in an RFC 5424 header) and from a file, and all of them once
// more through a sender profile (observer, labels, dataset) and over TLS.
func corpusEvents(t testing.TB) []*pipeline.Event {
	t.Helper()
	var events []*pipeline.Event
	for _, l := range readCorpus(t, "dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl") {
		events = append(events, l.Event())
	}
	syslogOrigin := &pipeline.Origin{Source: "syslog", Transport: "tcp", Format: pipeline.FormatSyslog, Location: time.UTC}
	fileOrigin := &pipeline.Origin{Source: "files", Transport: "file", Format: pipeline.FormatLine, Location: time.UTC,
		Log: "mail", FilePath: "/var/log/mail.log"}
	received := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	files := readNonKerio(t)
	names := slices.Sorted(maps.Keys(files))
	for _, name := range names {
		for i, line := range files[name] {
			events = append(events,
				&pipeline.Event{Raw: []byte(line), Origin: syslogOrigin, Received: received},
				&pipeline.Event{Raw: []byte("<190>1 2026-12-07T12:00:00Z web01 nginx 4242 - - " + line), Origin: syslogOrigin, Received: received},
				&pipeline.Event{Raw: []byte(line), Origin: fileOrigin, Received: received, Offset: int64(i)})
		}
	}
	profile := func(o *pipeline.Origin) *pipeline.Origin {
		c := *o
		c.Profile, c.Dataset = "branch", "branch.mail"
		c.Observer = pipeline.Observer{Name: "mx1", Vendor: "Kerio", Product: "Kerio Connect", Type: "mail-server"}
		c.Labels = []pipeline.Label{{Key: "env", Value: "prod"}, {Key: "site", Value: "brno"}}
		c.TLS = &pipeline.TLSPeer{Version: "1.3", Cipher: "TLS_AES_128_GCM_SHA256", ServerName: "siem.example"}
		return &c
	}
	profiles := map[*pipeline.Origin]*pipeline.Origin{}
	n := len(events)
	for _, ev := range events[:n] {
		p, ok := profiles[ev.Origin]
		if !ok {
			p = profile(ev.Origin)
			profiles[ev.Origin] = p
		}
		c := *ev
		c.Origin = p
		events = append(events, &c)
	}
	return events
}

// TestOneLongLivedProcessorWritesWhatAFreshOneWrites runs the whole corpus
// through one processor (its encoder's layouts, its origin constants and
// parsers' state live across events, in a shuffled order, twice) and each
// event through a processor of its own: the JSON and routes must be the same
// bytes.
func TestOneLongLivedProcessorWritesWhatAFreshOneWrites(t *testing.T) {
	events := corpusEvents(t)
	require.Greater(t, len(events), 2000, "the corpus shrank")
	want := make([]pipeline.Event, len(events))
	for i, ev := range events {
		want[i] = *ev
		newProcessor().Process(&want[i])
		require.True(t, json.Valid(want[i].JSON), "%s", want[i].JSON)
	}
	order := rand.New(rand.NewPCG(15, 5)).Perm(len(events))
	long := newProcessor()
	for round := range 2 {
		for _, i := range order {
			got := *events[i]
			long.Process(&got)
			if !bytes.Equal(want[i].JSON, got.JSON) {
				t.Fatalf("round %d, event %d (%q):\nfresh:       %s\nlong-lived:  %s", round, i, events[i].Raw, want[i].JSON, got.JSON)
			}
			require.Equal(t, want[i].Routes, got.Routes, "round %d, event %d", round, i)
		}
	}
}

// TestAnOriginChangedInPlaceNeverYieldsStaleFields changes one origin's
// profile text between events, in place and through a buffer it shares, as
// no source does today: the processor must not write the old text.
func TestAnOriginChangedInPlaceNeverYieldsStaleFields(t *testing.T) {
	buf := []byte("mx-a")
	name := unsafe.String(unsafe.SliceData(buf), len(buf))
	o := &pipeline.Origin{Source: "s", Transport: "tcp", Format: pipeline.FormatSyslog, Location: time.UTC,
		Observer: pipeline.Observer{Name: name}, Labels: []pipeline.Label{{Key: "site", Value: name}}}
	p := newProcessor()
	for _, v := range []string{"mx-a", "mx-b", "mx-c", "mx-a"} {
		copy(buf, v)
		o.Dataset = "d." + v
		ev := &pipeline.Event{Raw: []byte("<13>host app: hello"), Origin: o, Received: time.Now()}
		p.Process(ev)
		got := flatten(t, ev.JSON)
		require.Equal(t, v, got["observer.name"])
		require.Equal(t, v, got["labels.site"])
		require.Equal(t, "d."+v, got["event.dataset"])
		require.Equal(t, "d."+v, got["data_stream.dataset"])
	}
}

// TestAFieldThatIsBothAValueAndAParentIsLeftOutTaggedAndCounted: config
// validation keeps dots out of label keys; an origin built otherwise must
// still give valid JSON, not {"env":"a","env":{"sub":"b"}}.
func TestAFieldThatIsBothAValueAndAParentIsLeftOutTaggedAndCounted(t *testing.T) {
	m := metrics.New()
	p := process.NewECSProcessor(process.ProcessOptions{Namespace: "default"}, m)
	o := &pipeline.Origin{Source: "s", Transport: "tcp", Format: pipeline.FormatSyslog, Location: time.UTC,
		Labels: []pipeline.Label{{Key: "env", Value: "a"}, {Key: "env.sub", Value: "b"}}}
	for i := range 2 { // the second event meets the refused layout in the encoder's cache
		ev := &pipeline.Event{Raw: []byte("<13>host app: hello"), Origin: o, Received: time.Now()}
		p.Process(ev)
		require.True(t, json.Valid(ev.JSON), "%s", ev.JSON)
		got := flatten(t, ev.JSON)
		require.NotContains(t, got, "labels.env")
		require.Equal(t, "b", got["labels.env.sub"])
		require.Contains(t, got["message"], "hello")
		require.Contains(t, got["tags"], process.TagKeyConflict)
		require.Equal(t, float64(i+1), testutil.ToFloat64(m.ParseFailures.WithLabelValues("s", "ecs_keys")))
	}
}

func TestTheDocumentCarriesTheID(t *testing.T) {
	p := process.NewECSProcessor(process.ProcessOptions{Namespace: "default"}, nil)
	id := pipeline.ConnectionScope(pipeline.NewSession(), "syslog_tcp", 1).ID(3)
	ev := &pipeline.Event{Raw: []byte("<13>1 2026-12-07T10:00:00Z h app - - - x"), Received: time.Now(), ID: id,
		Origin: &pipeline.Origin{Source: "syslog_tcp", Location: time.UTC}}
	p.Process(ev)
	var doc struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	require.NoError(t, json.Unmarshal(ev.JSON, &doc), "%s", ev.JSON)
	require.Equal(t, id, doc.Event.ID)
}
