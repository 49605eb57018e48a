package kerio

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
)

// fuzzHints are the hints the fuzz target and the robustness tests cycle through.
var fuzzHints = func() []Hint {
	hs := []Hint{{}, {FileLine: true}, {AppName: "kerio"}, {Product: "kerio_connect", AppName: "kerio"}, {Product: "kerio_control", AppName: "kerio"}}
	for _, a := range logAliases {
		for _, p := range []string{"", "kerio_connect", "kerio_control"} {
			hs = append(hs, Hint{Product: p, Log: a.name, FileLine: true}, Hint{Product: p, AppName: a.name})
		}
	}
	return hs
}()

func TestRobustness(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	tests := []struct {
		name  string
		msg   string
		hint  Hint
		loc   *time.Location
		check func(t *testing.T, doc *ecs.Document, res Result)
	}{
		{
			name: "non-ASCII text is kept as it is (the worker has decoded it to UTF-8)",
			msg:  "[06/Sep/2004 08:40:39] User wsmith@company.com marked a message as spam, Folder: ~wsmith@company.com/INBOX, Size: 462, From: \"Jörg Müller\" <jm@company.com>, Subject: Grüße",
			hint: Hint{Product: "kerio_connect", Log: "spam", FileLine: true},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.True(t, res.Matched)
				require.Equal(t, "Jörg Müller", doc.GetString(ecs.NewKey("kerio.mail.from_name")))
				require.Equal(t, "Grüße", doc.GetString(ecs.NewKey("email.subject")))
			},
		},
		{
			name: "CRLF and BOM are stripped",
			msg:  "\uFEFF[16/Jun/2004 18:53:43] Directory harvest attack from 213.7.0.87 detected\r\n",
			hint: Hint{Product: "kerio_connect", Log: "security", FileLine: true},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, "directory-harvest-detected", doc.GetString(ecs.NewKey("event.action")))
				require.Equal(t, "Directory harvest attack from 213.7.0.87 detected", doc.GetString(ecs.NewKey("message")))
			},
		},
		{
			name: "nil location means UTC",
			msg:  "[16/Jun/2004 18:53:43] Directory harvest attack from 213.7.0.87 detected",
			hint: Hint{FileLine: true},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, time.Date(2004, 6, 16, 18, 53, 43, 0, time.UTC), res.Bracket)
			},
		},
		{
			name: "zone-less times are read in the source's zone",
			msg:  "[07/Aug/2008 11:07:02] {DELETE} Protocol: IMAP, User: u@x.example, IP: 10.0.0.1, Folder: ~u@x.example/INBOX, From: <a@b.example>, Subject: \"s\", Delivered: 07/Aug/2008 11:05:27, Size: 1",
			hint: Hint{Product: "kerio_connect", Log: "operations", FileLine: true},
			loc:  berlin,
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, "2008-08-07T09:07:02Z", res.Bracket.UTC().Format(time.RFC3339))
				f, ok := doc.Get(ecs.NewKey("kerio.operations.delivered"))
				require.True(t, ok)
				require.Equal(t, "2008-08-07T09:05:27Z", f.Time.UTC().Format(time.RFC3339))
			},
		},
		{
			name: "APP-NAME warn selects the warning log, in any case",
			msg:  "Address <x@y.example> expanded to zero recipients",
			hint: Hint{Product: "kerio_connect", AppName: "WARN"},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, "kerio_connect.warning", doc.GetString(ecs.NewKey("event.dataset")))
				require.Equal(t, "warning", doc.GetString(ecs.NewKey("log.level")))
			},
		},
		{
			name: "a Control-only APP-NAME names the product",
			msg:  "[IPv4] 10.0.0.8 - Host removed",
			hint: Hint{AppName: "host"},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, "kerio_control.host", doc.GetString(ecs.NewKey("event.dataset")))
				require.Equal(t, "Kerio Control", doc.GetString(ecs.NewKey("observer.product")))
				require.Equal(t, "firewall", doc.GetString(ecs.NewKey("observer.type")))
			},
		},
		{
			name: "unknown wording over syslog with a Kerio APP-NAME is generic",
			msg:  "Store is almost full",
			hint: Hint{Product: "kerio_connect", AppName: "error"},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.True(t, res.Matched)
				require.Equal(t, []string{"kerio_generic"}, stringsOf(doc, "tags"))
				require.Equal(t, "error", doc.GetString(ecs.NewKey("log.level")))
			},
		},
		{
			name: "a file line without its bracket is unmatched even when the layout fits",
			msg:  "Directory harvest attack from 213.7.0.87 detected",
			hint: Hint{Product: "kerio_connect", Log: "security", FileLine: true},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.False(t, res.Matched)
				require.Equal(t, []string{"kerio_unmatched"}, stringsOf(doc, "tags"))
				require.Equal(t, "kerio_connect.security", doc.GetString(ecs.NewKey("event.dataset")))
				require.False(t, doc.Has(ecs.NewKey("event.action")))
			},
		},
		{
			name: "the same text over syslog matches",
			msg:  "Directory harvest attack from 213.7.0.87 detected",
			hint: Hint{Product: "kerio_connect", AppName: "security"},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.True(t, res.Matched)
				require.True(t, res.Bracket.IsZero())
				require.Equal(t, "directory-harvest-detected", doc.GetString(ecs.NewKey("event.action")))
				require.False(t, doc.Has(ecs.NewKey("kerio.timestamp")))
			},
		},
		{
			name: "APP-NAME is a hint: an Audit line sent as security is recognised as Audit",
			msg:  "[02/Apr/2026 08:00:09] SMTP: User bob@contoso.example authenticated from IP address 198.51.100.4",
			hint: Hint{Product: "kerio_connect", AppName: "security"},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.True(t, res.Matched)
				require.Equal(t, "kerio_connect.audit", doc.GetString(ecs.NewKey("event.dataset")))
				require.Equal(t, "login-succeeded", doc.GetString(ecs.NewKey("event.action")))
				require.Equal(t, "bob@contoso.example", doc.GetString(ecs.NewKey("user.name")))
				require.False(t, doc.Has(ecs.NewKey("tags")))
			},
		},
		{
			name: "APP-NAME hint without a configured product (loadgen before it named each log)",
			msg:  "IMAP: User j.doe@contoso.example authenticated from IP address 192.0.2.10",
			hint: Hint{AppName: "security"},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, "kerio_connect.audit", doc.GetString(ecs.NewKey("event.dataset")))
				require.Equal(t, "login-succeeded", doc.GetString(ecs.NewKey("event.action")))
				require.False(t, doc.Has(ecs.NewKey("tags")))
			},
		},
		{
			name: "a configured log is not a hint: the same line stays generic Security",
			msg:  "[02/Apr/2026 08:00:09] SMTP: User bob@contoso.example authenticated from IP address 198.51.100.4",
			hint: Hint{Product: "kerio_connect", Log: "security", AppName: "security"},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, "kerio_connect.security", doc.GetString(ecs.NewKey("event.dataset")))
				require.Equal(t, []string{"kerio_generic"}, stringsOf(doc, "tags"))
				require.False(t, doc.Has(ecs.NewKey("event.action")))
			},
		},
		{
			name: "a hinted log does not fall to the Config catch-all",
			msg:  "backup - disk almost full",
			hint: Hint{Product: "kerio_connect", AppName: "error"},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, "kerio_connect.error", doc.GetString(ecs.NewKey("event.dataset")))
				require.Equal(t, []string{"kerio_generic"}, stringsOf(doc, "tags"))
			},
		},
		{
			name: "a known log does not borrow another log's layout",
			msg:  "[16/Jun/2004 18:53:43] Directory harvest attack from 213.7.0.87 detected",
			hint: Hint{Product: "kerio_connect", Log: "mail", FileLine: true},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, "kerio_connect.mail", doc.GetString(ecs.NewKey("event.dataset")))
				require.Equal(t, []string{"kerio_generic"}, stringsOf(doc, "tags"))
			},
		},
		{
			name: "empty message",
			msg:  "",
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.False(t, res.Matched)
				require.True(t, doc.Has(ecs.NewKey("message")))
			},
		},
		{
			name: "bracket only",
			msg:  "[16/Jun/2004 18:53:43]",
			hint: Hint{FileLine: true},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.True(t, res.Matched)
				require.Equal(t, []string{"kerio_generic"}, stringsOf(doc, "tags"))
				require.Equal(t, "", doc.GetString(ecs.NewKey("message")))
			},
		},
		{
			name: "fields alias the message, so a reused document keeps no stale values",
			msg:  "[16/Jun/2004 18:37:17] Found virus in mail from <a@b.example> to <c@d.example>: EICAR",
			hint: Hint{Product: "kerio_connect", Log: "security", FileLine: true},
			check: func(t *testing.T, doc *ecs.Document, res Result) {
				require.Equal(t, []string{"c@d.example"}, stringsOf(doc, "email.to.address"))
			},
		},
	}
	p := NewParser()
	var doc ecs.Document
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Dirty the reused document first, as a worker's would be.
			doc.Reset()
			p.Parse(&doc, "[16/Jun/2004 18:37:17] Found virus in mail from <x@y.example> to <z@w.example>: OLD", Hint{FileLine: true}, nil)
			doc.Reset()
			res := p.Parse(&doc, tt.msg, tt.hint, tt.loc)
			require.True(t, doc.Has(ecs.NewKey("event.kind")))
			tt.check(t, &doc, res)
		})
	}
}

// TestEveryLineHasTheBasics runs every corpus line with every hint: no
// panic, valid ECS, and the fallback tags agree with Result.Matched.
func TestEveryLineHasTheBasics(t *testing.T) {
	s := loadSchema(t)
	p := NewParser()
	var doc ecs.Document
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl"} {
		for _, l := range loadCorpus(t, file) {
			for _, h := range fuzzHints {
				doc.Reset()
				res := p.Parse(&doc, l.Raw, h, time.UTC)
				requireBasics(t, s, &doc, res, l.Raw)
			}
		}
	}
}

func requireBasics(t *testing.T, s *ecsSchema, doc *ecs.Document, res Result, msg string) {
	t.Helper()
	if bad := basics(s, doc, res); len(bad) > 0 {
		t.Fatalf("%q: %q\n%s", msg, bad, dump(doc))
	}
}

// basics lists what is wrong with a parsed document; the caller formats.
func basics(s *ecsSchema, doc *ecs.Document, res Result) []string {
	bad := s.check(doc)
	tags := stringsOf(doc, "tags")
	if !res.Matched != slices.Contains(tags, "kerio_unmatched") {
		bad = append(bad, "Matched disagrees with the kerio_unmatched tag")
	}
	if (slices.Contains(tags, "kerio_generic") || !res.Matched) && doc.Has(ecs.NewKey("event.action")) {
		bad = append(bad, "a fallback has an event.action")
	}
	if !doc.Has(ecs.NewKey("message")) {
		bad = append(bad, "message missing")
	}
	if !strings.HasPrefix(doc.GetString(ecs.NewKey("event.dataset")), doc.GetString(ecs.NewKey("event.module"))+".") {
		bad = append(bad, "event.dataset does not start with event.module")
	}
	for _, f := range doc.Fields() {
		if f.Kind == ecs.KindString && !utf8.ValidString(f.Str) {
			bad = append(bad, f.Key.Name()+": invalid UTF-8")
		}
	}
	return bad
}

// FuzzParse: no panic, valid ECS keys and types, consistent fallbacks.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl"} {
		for i, l := range loadCorpus(f, file) {
			f.Add(l.Raw, uint8(i))
		}
	}
	s := loadSchema(f)
	p := NewParser()
	var doc ecs.Document
	f.Fuzz(func(t *testing.T, msg string, sel uint8) {
		h := fuzzHints[int(sel)%len(fuzzHints)]
		// Parse takes valid UTF-8 (the worker's charset step replaces bad
		// bytes with U+FFFD first), so the fuzzer's text is given the same.
		msg = strings.ToValidUTF8(msg, "\uFFFD")
		doc.Reset()
		res := p.Parse(&doc, msg, h, time.UTC)
		requireBasics(t, s, &doc, res, msg)
	})
}

// FuzzIsIP checks the hand-written address test against netip, which it
// replaces on the hot path.
func FuzzIsIP(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "255.255.255.255", "256.1.1.1", "01.2.3.4", "0.0.0.0", "1.2.3", "1.2.3.4.5",
		"1..2.3", "1.2.3.", ".1.2.3", "2001:db8::1", "::ffff:1.2.3.4", "1.2.3.4:80", "fe80::1%eth0", "a.b.c.d", ""} {
		f.Add(s)
	}
	for _, s := range ipv6Cases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		if want := err == nil && a.Zone() == ""; isIP(s) != want {
			t.Fatalf("isIP(%q) = %v, netip says %v", s, !want, want)
		}
	})
}

// ipv6Cases are the edges of netip's IPv6 rules.
var ipv6Cases = []string{"::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
	"1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1::2::3", ":::", "1:::2",
	"12345::", "ffff::FFFF", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:1.2.3.4", "::1.2.3.4", "1::5:6:7:1.2.3.4",
	"1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:5", "::01.2.3.4", "::256.1.1.1", "::1.2.3", "1:", ":1", "1:2", "::ab.1.1.1",
	"1:2:3:4:5:6::1.2.3.4", "1:2:3:4:5::1.2.3.4", "0000:0000::0000", "2001:db8:0:0:0:0:2:1"}

// TestIsIPAgreesWithNetip compares isIP with netip on the edge cases and
// on random strings of the pieces an address is made of.
func TestIsIPAgreesWithNetip(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 4))
	pieces := []string{":", ":", ":", "::", ".", "0", "1", "9", "a", "F", "00", "ab", "fff", "ffff", "0ffff", "255", "256", "1.2.3.4", "01"}
	cases := slices.Clone(ipv6Cases)
	for range 300_000 {
		var b []byte
		for range 1 + rng.IntN(20) {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		a, err := netip.ParseAddr(s)
		require.Equal(t, err == nil && a.Zone() == "", isIP(s), "%q", s)
	}
}

// TestLogOfKnowsEveryAlias keeps logOf's fast switch and logAliases in step.
func TestLogOfKnowsEveryAlias(t *testing.T) {
	for _, a := range logAliases {
		require.Equal(t, a.log, logOf(a.name), a.name)
		require.Equal(t, a.log, logOf(strings.ToUpper(a.name)), a.name)
	}
	require.Equal(t, logUnknown, logOf("kerio"))
	require.Equal(t, logUnknown, logOf("postfix"))
}
