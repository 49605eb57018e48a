//go:build !race

package kerio

import (
	"testing"
	"time"

	"siemfwd/ecs"
)

// TestParseDoesNotAllocate pins the hot path at zero allocations for every
// corpus line, a rewritten (upper-cased) MAC address included. The count is
// exact, not timed.
func TestParseDoesNotAllocate(t *testing.T) {
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl"} {
		for _, l := range loadCorpus(t, file) {
			h := hintOf(l.Log)
			msg := l.Raw
			if l.Format != "" {
				var app string
				app, msg = splitSyslog(t, l.Format, l.Raw)
				h.Log, h.AppName = "", app
			} else {
				h.FileLine = true
			}
			p := NewParser()
			var doc ecs.Document
			p.Parse(&doc, msg, h, time.UTC) // grow the document once
			n := testing.AllocsPerRun(20, func() {
				doc.Reset()
				p.Parse(&doc, msg, h, time.UTC)
			})
			if n != 0 {
				t.Errorf("%s: %v allocations per Parse", l.ID, n)
			}
		}
	}
}
