package syslogparse

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"siemfwd/ecs"
)

// fuzzReceived is the receive time the fuzz targets use.
var fuzzReceived = time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC)

// addCorpusSeeds seeds f with every raw message of the Kerio corpus; the
// hand-made seeds live in testdata/fuzz/<target>/.
func addCorpusSeeds(f *testing.F) {
	for _, l := range loadCorpus(f) {
		f.Add([]byte(l.Raw))
	}
}

// FuzzParse checks the properties every input must keep: no panic; Msg is
// the whole input when the header is Unknown and a suffix of it otherwise
// (nothing is invented, nothing after the header is lost); AppendECS writes
// only log.syslog.* keys and tags; structured data is valid JSON.
func FuzzParse(f *testing.F) {
	addCorpusSeeds(f)
	p := New()
	var doc ecs.Document
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := string(raw) // raw must not change; compare against a copy
		h := p.Parse(raw, fuzzReceived, time.UTC)
		if h.Format == Unknown {
			if h.Msg != in {
				t.Fatalf("unknown header: Msg %q is not the whole input %q", h.Msg, in)
			}
		} else if !strings.HasSuffix(in, h.Msg) {
			t.Fatalf("Msg %q is not a suffix of %q", h.Msg, in)
		}
		if h.StructuredData != nil && !json.Valid(h.StructuredData) {
			t.Fatalf("structured data is not valid JSON: %q", h.StructuredData)
		}
		// A year we infer is never 0; a zoned time keeps what the sender wrote
		// (RFC 3339 allows year 0000).
		if h.HasTime && !h.TimeZoned && h.Time.Year() < 1 {
			t.Fatalf("year %d for %q", h.Time.Year(), in)
		}
		if h.HasPriority && h.Priority > 191 {
			t.Fatalf("priority %d", h.Priority)
		}
		doc.Reset()
		h.AppendECS(&doc)
		for _, fl := range doc.Fields() {
			if !strings.HasPrefix(fl.Key.Name(), "log.syslog.") && fl.Key.Name() != "tags" {
				t.Fatalf("AppendECS wrote %q", fl.Key.Name())
			}
		}
		if string(raw) != in {
			t.Fatalf("Parse modified its input")
		}
	})
}

// FuzzLenientAgrees is the differential test of the two paths: on every
// input the fast path accepts, the lenient reader must return exactly what
// the fast path returns (so the fast path is only a shortcut), and the
// fields the go-syslog machines report must match it too (go-syslog stays
// the reference for well-formed headers).
func FuzzLenientAgrees(f *testing.F) {
	addCorpusSeeds(f)
	for _, s := range []string{
		"<13>Mar 14 09:15:02 host app: msg",
		"<13>Feb 29 09:15:02 h[1] a[2]: m",
		"<13>Mar 14 09:15:02 2025 app: msg",
		"<0>Jan 01 00:00:00 - -: -",
		"<191>1 0000-02-29T23:59:59.999999-23:59 - - - - -",
		"<22>1 2026-04-01T14:59:32+00:00 h a p m - \ufeff",
		// Structured data: sorting, escapes, JSON escaping, UTF-8, edges.
		`<20>1 2026-03-14T09:33:00Z h security 2345 SEC [meta sequenceId="42"][origin ip="192.0.2.25" software="Kerio Connect"] msg`,
		`<13>1 - h a p m [b z="1" a="2"][a@32473 y="<&>" x=""]`,
		`<13>1 - h a p m [x k="a\\b\"c\]d"] `,
		`<13>1 - h a p m [x\y k\="v"]m`,
		"<13>1 - h a p m [x k=\"\u2028\u2029 \u0416\"] \ufeffmsg",
		`<13>1 - h a p m [x k="a\nb"] msg`,
		`<13>1 - h a p m [x][x] msg`,
		`<13>1 - h a p m [x k="a" k="b"] msg`,
		`<13>1 - h a p m [x  k="v"] msg`,
	} {
		f.Add([]byte(s))
	}
	p := New()
	m5424 := rfc5424.NewMachine(rfc5424.WithBestEffort())
	m3164 := rfc3164.NewMachine(rfc3164.WithBestEffort(), rfc3164.WithLenientDay())
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := p.fast(raw, fuzzReceived, time.UTC)
		if !ok {
			return
		}
		fast.StructuredData = append([]byte(nil), fast.StructuredData...) // the scratch is reused
		lh := p.lenient(raw, fuzzReceived, time.UTC)
		if !fast.Time.Equal(lh.Time) {
			t.Fatalf("time: fast %s, lenient %s, input %q", fast.Time, lh.Time, raw)
		}
		_, fo := fast.Time.Zone()
		_, so := lh.Time.Zone()
		if fo != so {
			t.Fatalf("offset: fast %d, lenient %d, input %q", fo, so, raw)
		}
		fast.Time, lh.Time = time.Time{}, time.Time{}
		if fast.Format != lh.Format || fast.HasPriority != lh.HasPriority || fast.Priority != lh.Priority ||
			fast.Version != lh.Version || fast.HasTime != lh.HasTime || fast.TimeZoned != lh.TimeZoned ||
			fast.Hostname != lh.Hostname || fast.AppName != lh.AppName || fast.ProcID != lh.ProcID ||
			fast.MsgID != lh.MsgID || string(fast.StructuredData) != string(lh.StructuredData) || fast.Msg != lh.Msg ||
			fast.Notes != lh.Notes {
			t.Fatalf("fast and lenient differ on %q:\nfast    %+v\nlenient %+v", raw, fast, lh)
		}

		// Straight against go-syslog, without our post steps.
		var base struct {
			pri                        *uint8
			host, app, pid, msgid, msg *string
		}
		switch fast.Format {
		case RFC5424:
			res, _ := m5424.Parse(raw)
			m := res.(*rfc5424.SyslogMessage)
			base.pri, base.host, base.app, base.pid, base.msgid, base.msg = m.Priority, m.Hostname, m.Appname, m.ProcID, m.MsgID, m.Message
			if m.Message != nil && strings.TrimPrefix(*m.Message, bom) != fast.Msg {
				t.Fatalf("go-syslog MSG %q, fast %q", *m.Message, fast.Msg)
			}
		case RFC3164:
			res, _ := m3164.Parse(raw)
			m := res.(*rfc3164.SyslogMessage)
			base.pri, base.host, base.app, base.pid = m.Priority, m.Hostname, m.Appname, m.ProcID
			// go-syslog keeps no MSG after control bytes, and reports a header
			// word as the MSG when the MSG is empty; compare only otherwise.
			if m.Message != nil && fast.Msg != "" && strings.TrimPrefix(*m.Message, bom) != fast.Msg &&
				!strings.ContainsAny(fast.Msg, "\n\r") {
				t.Fatalf("go-syslog MSG %q, fast %q", *m.Message, fast.Msg)
			}
		default:
			t.Fatalf("fast path returned %v", fast.Format)
		}
		if base.pri == nil || *base.pri != fast.Priority {
			t.Fatalf("priority: go-syslog %v, fast %d", base.pri, fast.Priority)
		}
		for _, c := range []struct {
			name string
			want *string
			got  string
		}{{"hostname", base.host, fast.Hostname}, {"appname", base.app, fast.AppName}, {"procid", base.pid, fast.ProcID}, {"msgid", base.msgid, fast.MsgID}} {
			if deref(c.want) != c.got {
				t.Fatalf("%s: go-syslog %q, fast %q, input %q", c.name, deref(c.want), c.got, raw)
			}
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
