package process_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/cputime"
	"siemfwd/pipeline"
	"siemfwd/process"
)

// rawCases are events of every kind a raw (edge) pipeline meets: the
// corpus as file lines and as syslog, headers that cannot be read, text in
// a code page, and hostname-matched sender profiles with their own charset.
func rawCases(t testing.TB) []*pipeline.Event {
	t.Helper()
	var evs []*pipeline.Event
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range readCorpus(t, file) {
			evs = append(evs, l.Event(), asSyslog(l))
		}
	}
	prof := &pipeline.Origin{Source: "udp", Location: time.UTC, Profile: "prague", Charset: "windows-1250"}
	base := &pipeline.Origin{Source: "udp", Location: time.UTC,
		ByHostname: func(h string) *pipeline.Origin {
			if h == "prague-fw" || h == "pr\uFFFDha" {
				return prof
			}
			return nil
		}}
	for _, raw := range []string{
		"<13>Mar 14 09:00:00 prague-fw app: P\xf8ihl\xe1\x9aen\xed",
		"<13>Mar 14 09:00:00 pr\xe1ha app: P\xf8ihl\xe1\x9aen\xed",
		"<13>1 2026-03-14T09:00:00Z prague-fw app - - - UTF-8 stays",
		"<13>Mar 14 09:00:00 brno app: caf\xe9",
		"\x00\x01 not syslog",
		"",
		"<999>hello",
	} {
		evs = append(evs, &pipeline.Event{Raw: []byte(raw), Received: time.Now(), Origin: base})
	}
	return evs
}

// The raw processor reads the same hostname as the full one (the record
// key, the sender profile the edge header names and the ledger's sender
// name depend on it) and makes no document.
func TestRawProcessorReadsTheHostnameTheFullOneReads(t *testing.T) {
	full, raw := newProcessor(), process.NewRawProcessor("default")
	hostnames := map[string]bool{}
	for i, ev := range rawCases(t) {
		parsed := *ev
		full.Process(&parsed)
		raw.Process(ev)
		require.Equal(t, parsed.Routes.Hostname, ev.Routes.Hostname, "case %d: %q", i, ev.Raw)
		require.Equal(t, "default", ev.Routes.Namespace)
		require.Nil(t, ev.JSON, "case %d: no document", i)
		require.Equal(t, pipeline.Routes{Hostname: ev.Routes.Hostname, Namespace: "default"}, ev.Routes,
			"nothing else is parsed")
		hostnames[ev.Routes.Hostname] = true
	}
	// The cases do read hostnames, plain and decoded (by the charset of the
	// profile that the first reading matched).
	for _, h := range []string{"mail01.contoso.example", "prague-fw", "pr\u00e1ha", "brno", ""} {
		require.True(t, hostnames[h], "hostname %q read", h)
	}
}

// A complete ECS document (an alert, a record of another siemfwd's ECS
// topic) passes as it is, as with the full processor.
func TestRawProcessorPassesECSDocumentsOn(t *testing.T) {
	doc := []byte(`{"message":"x"}`)
	ev := &pipeline.Event{Raw: doc, Origin: &pipeline.Origin{Source: "alerts", Format: pipeline.FormatECS, Location: time.UTC},
		Routes: pipeline.Routes{Dataset: "siemfwd.alert"}}
	process.NewRawProcessor("prod").Process(ev)
	require.Equal(t, doc, ev.JSON)
	require.Equal(t, pipeline.Routes{Dataset: "siemfwd.alert", Namespace: "prod"}, ev.Routes)
}

// FuzzRawProcessAgrees: on any input the raw processor reads the hostname
// the full one reads.
func FuzzRawProcessAgrees(f *testing.F) {
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range readCorpus(f, file) {
			f.Add(asSyslog(l).Raw)
		}
	}
	o := &pipeline.Origin{Source: "fuzz", Location: time.UTC, Charset: "windows-1252"}
	full, raw := newProcessor(), process.NewRawProcessor("default")
	f.Fuzz(func(t *testing.T, b []byte) {
		parsed := pipeline.Event{Raw: b, Origin: o, Received: time.Unix(1_700_000_000, 0)}
		ev := parsed
		full.Process(&parsed)
		raw.Process(&ev)
		if ev.Routes.Hostname != parsed.Routes.Hostname {
			t.Fatalf("%q: raw read hostname %q, full %q", b, ev.Routes.Hostname, parsed.Routes.Hostname)
		}
	})
}

// BenchmarkRawProcessCorpus is BenchmarkProcessCorpus's mixed-syslog case
// through the raw (edge) processor, with the full one beside it.
func BenchmarkRawProcessCorpus(b *testing.B) {
	var events []*pipeline.Event
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range readCorpus(b, file) {
			events = append(events, asSyslog(l))
		}
	}
	for _, c := range []struct {
		name string
		proc pipeline.Processor
	}{{"raw", process.NewRawProcessor("default")}, {"full", newProcessor()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			cpu := cputime.Process()
			for b.Loop() {
				c.proc.Process(events[n%len(events)])
				n++
			}
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(n), "cpu-ns/op")
		})
	}
}
