package kerio

import (
	"slices"
	"strings"
	"testing"
	"time"

	"siemfwd/pipeline/ecs"
)

// benchCase is one variant to benchmark: the first corpus line of each
// (log, event.action) pair, plus the generic and unmatched fallbacks.
type benchCase struct {
	name string
	msg  string
	hint Hint
}

func benchCases(b *testing.B) []benchCase {
	b.Helper()
	var out []benchCase
	seen := map[string]bool{}
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range loadCorpus(b, file) {
			name := "generic"
			if a, ok := l.Expected["event.action"].(string); ok {
				name = a
			} else if tags, ok := l.Expected["tags"].([]any); ok && slices.Contains(tags, any("kerio_unmatched")) {
				name = "unmatched"
			}
			h := hintOf(l.Log)
			msg := l.Raw
			if l.Format != "" {
				var app string
				app, msg = splitSyslog(b, l.Format, l.Raw)
				h.Log, h.AppName = "", app
				name = "syslog-" + name
			} else {
				h.FileLine = true
			}
			prod, _, _ := strings.Cut(l.Log, ".")
			name = prod + "/" + name
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, benchCase{name: name, msg: msg, hint: h})
		}
	}
	// Recognition from the text alone (a configured APP-NAME like "kerio").
	out = append(out,
		benchCase{"recognise/connect-security-login-failed", "[05/Mar/2025 09:14:21] Failed POP3 login from 10.20.30.40, authentication method PLAIN is disabled", Hint{Product: "kerio_connect", AppName: "kerio"}},
		benchCase{"recognise/unknown-product-host", "[02/Mar/2014 13:36:49] [IPv4] 192.168.40.131 [MAC] 00-10-18-A1-C1-DE (Apple) - Host registered", Hint{}},
	)
	return out
}

// BenchmarkParse measures Parse, including the document writes, per variant.
func BenchmarkParse(b *testing.B) {
	for _, bc := range benchCases(b) {
		b.Run(bc.name, func(b *testing.B) {
			p := NewParser()
			var doc ecs.Document
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.msg)))
			lockThread()
			defer unlockThread()
			start := threadCPU()
			n := 0
			for b.Loop() {
				doc.Reset()
				p.Parse(&doc, bc.msg, bc.hint, time.UTC)
				n++
			}
			if cpu := threadCPU() - start; cpu > 0 && n > 0 {
				b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
			}
		})
	}
}
