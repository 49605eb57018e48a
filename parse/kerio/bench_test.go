package kerio

import (
	"slices"
	"strings"
	"testing"
	"time"

	"siemfwd/ecs"
	"siemfwd/internal/cputime"
)

// benchCase is one corpus line as the worker hands it to Parse: the MSG and
// APP-NAME of a syslog line, or a whole file line.
type benchCase struct {
	log    string // the corpus "log" field: "connect.security", "unknown", …
	action string // event.action, or "generic" / "unmatched" for the fallbacks
	msg    string
	hint   Hint
}

// benchCorpus returns every line of the two corpus files that carry real
// device output (variants.jsonl holds robustness cases, not traffic).
func benchCorpus(b *testing.B) []benchCase {
	b.Helper()
	var out []benchCase
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range loadCorpus(b, file) {
			action := "generic"
			if a, ok := l.Expected["event.action"].(string); ok {
				action = a
			} else if tags, ok := l.Expected["tags"].([]any); ok && slices.Contains(tags, any("kerio_unmatched")) {
				action = "unmatched"
			}
			h := hintOf(l.Log)
			msg := l.Raw
			if l.Format != "" {
				var app string
				app, msg = splitSyslog(b, l.Format, l.Raw)
				h.Log, h.AppName = "", app
				action = "syslog-" + action
			} else {
				h.FileLine = true
			}
			out = append(out, benchCase{log: l.Log, action: action, msg: msg, hint: h})
		}
	}
	return out
}

// runParse parses the cases in turn and reports, beside ns/op, the thread's
// CPU time per line (cpu-ns/op), which other load on the machine does not
// inflate the way it inflates wall-clock time.
func runParse(b *testing.B, cases []benchCase) {
	p := NewParser()
	var doc ecs.Document
	cputime.Bench(b, func(i int) {
		c := &cases[i%len(cases)]
		doc.Reset()
		p.Parse(&doc, c.msg, c.hint, time.UTC)
	})
}

// BenchmarkParse has one row per Kerio log type (the corpus "log" field,
// "unknown" for foreign lines): every corpus line of that log, file and
// syslog forms, parsed in turn (per-log figures: the history of BENCHMARKS.md).
func BenchmarkParse(b *testing.B) {
	byLog := map[string][]benchCase{}
	var logs []string
	for _, c := range benchCorpus(b) {
		if _, ok := byLog[c.log]; !ok {
			logs = append(logs, c.log)
		}
		byLog[c.log] = append(byLog[c.log], c)
	}
	for _, lg := range logs {
		b.Run(lg, func(b *testing.B) { runParse(b, byLog[lg]) })
	}
}

// BenchmarkParseCorpus is the Kerio share of the issue #6 target: the
// Security lines alone against the whole corpus (every log of both products
// and the foreign lines), as pipeline's BenchmarkProcessCorpus feeds them.
func BenchmarkParseCorpus(b *testing.B) {
	mixed := benchCorpus(b)
	var security []benchCase
	for _, c := range mixed {
		if c.log == "connect.security" {
			security = append(security, c)
		}
	}
	b.Run("security", func(b *testing.B) { runParse(b, security) })
	b.Run("mixed", func(b *testing.B) { runParse(b, mixed) })
}

// BenchmarkParseVariant has one row per variant: the first corpus line of
// each (log, event.action) pair, plus recognition from the text alone (a
// configured APP-NAME like "kerio"), to find which layout a log's cost is in.
func BenchmarkParseVariant(b *testing.B) {
	seen := map[string]bool{}
	var cases []benchCase
	for _, c := range benchCorpus(b) {
		prod, _, _ := strings.Cut(c.log, ".")
		if name := prod + "/" + c.action; !seen[name] {
			seen[name] = true
			c.action = name
			cases = append(cases, c)
		}
	}
	cases = append(cases,
		benchCase{action: "recognise/connect-security-login-failed", msg: "[05/Mar/2025 09:14:21] Failed POP3 login from 10.20.30.40, authentication method PLAIN is disabled", hint: Hint{Product: "kerio_connect", AppName: "kerio"}},
		benchCase{action: "recognise/unknown-product-host", msg: "[02/Mar/2014 13:36:49] [IPv4] 192.168.40.131 [MAC] 00-10-18-A1-C1-DE (Apple) - Host registered"},
	)
	for _, c := range cases {
		b.Run(c.action, func(b *testing.B) { runParse(b, []benchCase{c}) })
	}
}

// BenchmarkIsIP: the addresses of Kerio lines, IPv4 and IPv6.
func BenchmarkIsIP(b *testing.B) {
	for _, s := range []string{"203.0.113.150", "2001:db8:85a3::8a2e:370:7334", "fe80::1", "::ffff:192.0.2.1", "mail01.contoso.example"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				isIP(s)
			}
		})
	}
}
