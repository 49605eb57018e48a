package syslogparse

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the Berlin case must not depend on the machine's zoneinfo

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

// assertHeader compares two headers, times by instant and offset.
func assertHeader(t testing.TB, want, got Header) {
	t.Helper()
	if want.HasTime {
		assert.True(t, want.Time.Equal(got.Time), "time: want %s, got %s", want.Time, got.Time)
		_, wo := want.Time.Zone()
		_, gotOff := got.Time.Zone()
		assert.Equal(t, wo, gotOff, "time offset")
	}
	want.Time, got.Time = time.Time{}, time.Time{}
	assert.Equal(t, want, got)
}

func TestParse(t *testing.T) {
	recv := mustTime(t, "2026-03-14T09:15:03Z")
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	ts := func(s string) time.Time { return mustTime(t, s) }

	tests := []struct {
		name     string
		raw      string
		received time.Time // recv when zero
		loc      *time.Location
		want     Header
	}{
		{
			name: "rfc5424 kerio with offset",
			raw:  "<22>1 2026-04-01T14:59:32+07:00 mx01.example.local audit - - - IMAP: User authenticated",
			want: Header{Format: RFC5424, HasPriority: true, Priority: 22, Version: 1,
				Time: ts("2026-04-01T14:59:32+07:00"), HasTime: true, TimeZoned: true,
				Hostname: "mx01.example.local", AppName: "audit", Msg: "IMAP: User authenticated"},
		},
		{
			name: "rfc5424 fraction and Z",
			raw:  "<20>1 2026-03-14T09:15:02.481Z mail01 security 77 ID1 - text",
			want: Header{Format: RFC5424, HasPriority: true, Priority: 20, Version: 1,
				Time: ts("2026-03-14T09:15:02.481Z"), HasTime: true, TimeZoned: true,
				Hostname: "mail01", AppName: "security", ProcID: "77", MsgID: "ID1", Msg: "text"},
		},
		{
			name: "rfc5424 NIL timestamp and BOM",
			raw:  "<22>1 - mail01 audit - - - \ufeffPOP3: User c authenticated",
			want: Header{Format: RFC5424, HasPriority: true, Priority: 22, Version: 1,
				Hostname: "mail01", AppName: "audit", Msg: "POP3: User c authenticated"},
		},
		{
			name: "rfc5424 structured data",
			raw:  `<20>1 2026-03-14T09:33:00Z mail01 security 2345 SEC [origin ip="192.0.2.1"][meta sequenceId="42" x="a\"b"] IP address found`,
			want: Header{Format: RFC5424, HasPriority: true, Priority: 20, Version: 1,
				Time: ts("2026-03-14T09:33:00Z"), HasTime: true, TimeZoned: true,
				Hostname: "mail01", AppName: "security", ProcID: "2345", MsgID: "SEC",
				StructuredData: []byte(`{"meta":{"sequenceId":"42","x":"a\"b"},"origin":{"ip":"192.0.2.1"}}`),
				Msg:            "IP address found"},
		},
		{
			name: "rfc5424 empty MSG",
			raw:  "<22>1 - - - - - -",
			want: Header{Format: RFC5424, HasPriority: true, Priority: 22, Version: 1},
		},
		{
			name: "rfc5424 impossible date keeps the other fields",
			raw:  "<22>1 2026-02-30T14:59:32Z mx01 audit - - - msg",
			want: Header{Format: RFC5424, HasPriority: true, Priority: 22, Version: 1,
				Hostname: "mx01", AppName: "audit", Msg: "msg", Notes: NoteInvalidTime},
		},
		{
			name: "rfc3164 kerio control",
			raw:  "<134>Mar 19 09:30:11 fw01 filter: [19/Mar/2025 09:30:11] DENY URL",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 134,
				Time: ts("2026-03-19T09:30:11Z"), HasTime: true,
				Hostname: "fw01", AppName: "filter", Msg: "[19/Mar/2025 09:30:11] DENY URL"},
		},
		{
			name: "rfc3164 tag with pid",
			raw:  "<22>Mar 14 09:16:00 mail01 kerio[2211]: Recv: Queue-ID: 1",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 22,
				Time: ts("2026-03-14T09:16:00Z"), HasTime: true,
				Hostname: "mail01", AppName: "kerio", ProcID: "2211", Msg: "Recv: Queue-ID: 1"},
		},
		{
			name: "rfc3164 pid tag without colon",
			raw:  "<22>Mar 14 09:16:00 mail01 kerio[2211] Recv",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 22,
				Time: ts("2026-03-14T09:16:00Z"), HasTime: true,
				Hostname: "mail01", AppName: "kerio", ProcID: "2211", Msg: "Recv"},
		},
		{
			name: "rfc3164 tag without colon",
			raw:  "<13>Mar 14 09:15:02 host app msg no colon",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true,
				Hostname: "host", AppName: "app", Msg: "msg no colon"},
		},
		{
			name: "rfc3164 no PRI",
			raw:  "Mar 14 09:15:02 host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13, Notes: NotePriorityMissing,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 with RFC 3339 time",
			raw:  "<13>2026-03-14T09:15:02Z host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true, TimeZoned: true,
				Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 with RFC 3339 time and offset",
			raw:  "<13>2026-03-14T10:15:02.5+01:00 host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-14T10:15:02.5+01:00"), HasTime: true, TimeZoned: true,
				Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 with year",
			raw:  "<13>Mar 14 2025 09:15:02 host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2025-03-14T09:15:02Z"), HasTime: true,
				Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 with year and fraction",
			raw:  "<13>Mar 14 2025 09:15:02.250 host app[9]: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2025-03-14T09:15:02.25Z"), HasTime: true,
				Hostname: "host", AppName: "app", ProcID: "9", Msg: "msg"},
		},
		{
			name: "rfc3164 hostname dash",
			raw:  "<13>Mar 14 09:15:02 - app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true, AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 missing hostname",
			raw:  "<13>Mar 14 09:15:02 app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true, AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 space padded day",
			raw:  "<13>Mar  4 09:15:02 host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-04T09:15:02Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 8-bit text and BOM",
			raw:  "<13>Mar 14 09:15:02 host app: \ufeffЗдравствуйте \xff",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true, Hostname: "host", AppName: "app",
				Msg: "Здравствуйте \xff"},
		},
		{
			name: "rfc3164 control bytes in MSG",
			raw:  "<13>Mar 14 09:15:02 host app: a\x01b\x7f",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "a\x01b\x7f"},
		},
		{
			name: "rfc3164 empty MSG",
			raw:  "<13>Mar 14 09:15:02 host app:",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true, Hostname: "host", AppName: "app"},
		},
		{
			name: "rfc3164 empty MSG after space",
			raw:  "<13>Mar 14 09:15:02 host app: ",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true, Hostname: "host", AppName: "app"},
		},
		{
			name:     "rfc3164 Dec 31 received on Jan 1 is last year",
			raw:      "<13>Dec 31 23:59:58 host app: msg",
			received: ts("2026-01-01T00:00:03Z"),
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2025-12-31T23:59:58Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name:     "rfc3164 Jan 1 received on Dec 31 is next year",
			raw:      "<13>Jan  1 00:00:01 host app: msg",
			received: ts("2025-12-31T23:59:59Z"),
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-01-01T00:00:01Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 half a year ahead is last year",
			raw:  "<13>Sep 20 09:15:02 host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2025-09-20T09:15:02Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 more than the margin ahead is last year",
			raw:  "<13>Mar 21 09:15:04 host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2025-03-21T09:15:04Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 within the margin ahead is this year",
			raw:  "<13>Mar 21 09:15:03 host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-21T09:15:03Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name:     "rfc3164 received on 7 December, March is this year's",
			raw:      "<13>Mar  7 19:06:53 host app: msg",
			received: ts("2026-12-07T10:00:00Z"),
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2026-03-07T19:06:53Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 Feb 29 in a common year is no time",
			raw:  "<13>Feb 29 12:00:00 host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13, Notes: NoteInvalidTime,
				Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name:     "rfc3164 Feb 29 in a leap year",
			raw:      "<13>Feb 29 12:00:00 host app: msg",
			received: ts("2028-03-01T00:00:00Z"),
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("2028-02-29T12:00:00Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name:     "rfc3164 zero receive time never gives year 0",
			raw:      "<13>Dec 31 23:59:58 host app: msg",
			received: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), // not IsZero, which means "recv" here
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: ts("0001-12-31T23:59:58Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "rfc3164 in the source's zone",
			raw:  "<13>Mar 14 10:15:02 host app: msg",
			loc:  berlin,
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13,
				Time: time.Date(2026, 3, 14, 10, 15, 2, 0, berlin), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "PRI and a tag only",
			raw:  "<13>hello world",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13, AppName: "hello", Msg: "world"},
		},
		{
			name: "PRI and no header",
			raw:  "<13> [x] hello world",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13, Msg: "[x] hello world"},
		},
		{
			name: "no header at all",
			raw:  "[14/Mar/2026 09:15:02] just a line",
			want: Header{Format: Unknown, Msg: "[14/Mar/2026 09:15:02] just a line"},
		},
		{
			name: "invalid PRI is a missing one",
			raw:  "<192>Mar 14 09:15:02 host app: msg",
			want: Header{Format: RFC3164, HasPriority: true, Priority: 13, Notes: NotePriorityMissing,
				Time: ts("2026-03-14T09:15:02Z"), HasTime: true, Hostname: "host", AppName: "app", Msg: "msg"},
		},
		{
			name: "empty input",
			raw:  "",
			want: Header{Format: Unknown},
		},
	}
	p := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			received := tt.received
			if received.IsZero() {
				received = recv
			}
			loc := tt.loc
			if loc == nil {
				loc = time.UTC
			}
			got := p.Parse([]byte(tt.raw), received, loc)
			assertHeader(t, tt.want, got)
			// The lenient reader alone gives the same answer (the fast path is only a shortcut).
			assertHeader(t, tt.want, p.lenient([]byte(tt.raw), received, loc))
		})
	}
}

func TestParseNilLocationIsUTC(t *testing.T) {
	h := New().Parse([]byte("<13>Mar 14 09:15:02 host app: msg"), mustTime(t, "2026-03-14T09:15:03Z"), nil)
	assert.True(t, h.Time.Equal(mustTime(t, "2026-03-14T09:15:02Z")), "got %s", h.Time)
}

func TestFastPathAccepts(t *testing.T) {
	// The shapes Kerio and most senders produce must not need the lenient reader.
	recv := mustTime(t, "2026-03-14T09:15:03Z")
	for _, raw := range []string{
		"<22>1 2026-04-01T14:59:32+07:00 mx01.example.local audit - - - IMAP: User",
		"<22>1 - mx01 audit - - - \ufeffx",
		"<20>Mar 14 09:15:02 mail01 security: Failed IMAP login",
		"<22>Mar 14 09:16:00 mail01 kerio[2211]: Recv",
		bench5424SD,
	} {
		_, ok := New().fast([]byte(raw), recv, time.UTC)
		assert.True(t, ok, raw)
	}
}

func TestFastPathStructuredData(t *testing.T) {
	// What json.Marshal writes for go-syslog's map: sorted keys, RFC 5424
	// escapes undone, encoding/json's HTML and U+2028 escaping.
	for _, c := range []struct{ raw, sd, msg string }{
		{`<13>1 - h a p m [b z="1" a="2"][a@32473 y="<&>" x=""] msg`,
			`{"a@32473":{"x":"","y":"\u003c\u0026\u003e"},"b":{"a":"2","z":"1"}}`, "msg"},
		{`<13>1 - h a p m [x k="a\\b\"c\]d"]`, `{"x":{"k":"a\\b\"c]d"}}`, ""},
		{`<13>1 - h a p m [x\y k<="v"]`, `{"x\\y":{"k\u003c":"v"}}`, ""},
		{"<13>1 - h a p m [x k=\"\u2028 \u0416\"] \ufeffm", "{\"x\":{\"k\":\"\\u2028 \u0416\"}}", "m"},
	} {
		h, ok := New().fast([]byte(c.raw), time.Time{}, time.UTC)
		require.True(t, ok, c.raw)
		assert.Equal(t, c.sd, string(h.StructuredData), c.raw)
		assert.Equal(t, c.msg, h.Msg, c.raw)
	}
	// What RFC 5424 does not allow goes to the lenient reader.
	for _, raw := range []string{
		`<13>1 - h a p m [x k="a\nb"] msg`,    // an escape RFC 5424 does not define
		`<13>1 - h a p m [x][x] msg`,          // duplicate SD-ID
		`<13>1 - h a p m [x k="a" k="b"] msg`, // duplicate PARAM-NAME
		`<13>1 - h a p m [x  k="v"] msg`,      // doubled blank
		`<13>1 - h a p m [x k="v"]msg`,        // no blank before MSG
		"<13>1 - h a p m [x k=\"\x01\"] msg",  // control byte
		"<13>1 - h a p m [x k=\"\xff\"] msg",  // invalid UTF-8
		`<13>1 - h a p m [x k="v"`,            // unclosed
	} {
		_, ok := New().fast([]byte(raw), time.Time{}, time.UTC)
		assert.False(t, ok, raw)
	}
}

func TestAppendECS(t *testing.T) {
	recv := mustTime(t, "2026-03-14T09:15:03Z")
	p := New()
	var doc ecs.Document
	h := p.Parse([]byte(`<165>1 2026-03-14T09:33:00Z host app 12 ID [a b="c"] msg`), recv, time.UTC)
	h.AppendECS(&doc)
	want := map[string]any{
		"log.syslog.priority":        int64(165),
		"log.syslog.facility.code":   int64(20),
		"log.syslog.facility.name":   "local4",
		"log.syslog.severity.code":   int64(5),
		"log.syslog.severity.name":   "Notice",
		"log.syslog.version":         "1",
		"log.syslog.hostname":        "host",
		"log.syslog.appname":         "app",
		"log.syslog.procid":          "12",
		"log.syslog.msgid":           "ID",
		"log.syslog.structured_data": `{"a":{"b":"c"}}`,
	}
	got := map[string]any{}
	for _, f := range doc.Fields() {
		switch f.Kind {
		case ecs.KindInt:
			got[f.Key.Name()] = f.Int
		case ecs.KindString:
			got[f.Key.Name()] = f.Str
		case ecs.KindRaw:
			got[f.Key.Name()] = f.Str
		default:
			t.Fatalf("unexpected kind %d for %s", f.Kind, f.Key.Name())
		}
	}
	assert.Equal(t, want, got)

	// RFC 3164 has no version, msgid or structured data; an Unknown header writes nothing.
	doc.Reset()
	h = p.Parse([]byte("<13>Mar 14 09:15:02 host app: msg"), recv, time.UTC)
	h.AppendECS(&doc)
	assert.False(t, doc.Has(ecs.NewKey("log.syslog.version")))
	assert.Equal(t, "user", doc.GetString(ecs.NewKey("log.syslog.facility.name")))
	doc.Reset()
	h = p.Parse([]byte("[garbage]"), recv, time.UTC)
	h.AppendECS(&doc)
	assert.Empty(t, doc.Fields())
}

func TestNames(t *testing.T) {
	want := []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
		"authpriv", "ftp", "ntp", "audit", "alert", "clock",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	for code, name := range want {
		assert.Equal(t, name, FacilityName(uint8(code)))
	}
	assert.Empty(t, FacilityName(24))
	sev := []string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}
	for code, name := range sev {
		assert.Equal(t, name, SeverityName(uint8(code)))
	}
	assert.Empty(t, SeverityName(8))
}

func TestParseDoesNotAllocateOnFastPath(t *testing.T) {
	p := New()
	recv := mustTime(t, "2026-03-14T09:15:03Z")
	for _, raw := range [][]byte{[]byte(bench5424), []byte(bench5424SD), []byte(bench3164)} {
		p.Parse(raw, recv, time.UTC) // warm the zone cache and the scratch
		allocs := testing.AllocsPerRun(100, func() { p.Parse(raw, recv, time.UTC) })
		assert.Zero(t, allocs, string(raw))
	}
}

// TestStampTimeYearRule checks the year choice against a brute-force search
// over the neighbouring years, for receive times and stamps all over the
// calendar: the latest year whose date is at most YearMargin after the
// receive time, and no time at all when that year has no such day.
func TestStampTimeYearRule(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	for _, loc := range []*time.Location{time.UTC, berlin} {
		start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
		for r := start; r.Before(start.AddDate(2, 0, 0)); r = r.Add(97 * time.Hour) {
			for s := time.Date(2000, 1, 1, 0, 0, 0, 0, loc); s.Year() == 2000; s = s.Add(61 * time.Hour) {
				got, ok := stampTime(s.Month(), s.Day(), s.Hour(), s.Minute(), s.Second(), 0, r, loc)
				var want time.Time
				wantOK := false
				for y := r.In(loc).Year() + 1; y >= r.In(loc).Year()-1; y-- {
					c := time.Date(y, s.Month(), s.Day(), s.Hour(), s.Minute(), s.Second(), 0, loc)
					if !c.After(r.Add(YearMargin)) {
						want, wantOK = c, c.Day() == s.Day()
						break
					}
				}
				require.Equal(t, wantOK, ok, "stamp %s received %s", s.Format(time.Stamp), r)
				if ok {
					require.True(t, got.Equal(want), "stamp %s received %s: got %s, want %s", s.Format(time.Stamp), r, got, want)
					require.False(t, got.After(r.Add(YearMargin)))
				}
			}
		}
	}
}

func TestTokenStopsAtTheFirstSpaceAndRefusesOtherBytes(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for at := range n {
			for _, c := range []byte{' ', 0, 0x20 - 1, 0x7f, 0x80, 0xa0, 0xff, '!', '~'} {
				b := []byte(strings.Repeat("a", n) + " tail")
				b[at] = c
				end, ok := token(b, 0, 255)
				want, wantOK := at, c == ' ' && at > 0
				if c == '!' || c == '~' { // graph bytes: the token runs on to the space
					want, wantOK = n, true
				}
				require.Equal(t, wantOK, ok, "%q", b)
				if ok {
					require.Equal(t, want, end, "%q", b)
				}
			}
		}
	}
}

func TestRFC3339TimeIsWhatTimeDateReturns(t *testing.T) {
	p := New()
	for _, in := range []string{"2026-11-29T12:00:00.000Z", "2026-11-29T23:59:59.999999Z", "2026-11-29T00:00:00+01:00",
		"2026-11-30T00:00:00-05:30", "2024-02-29T10:11:12.5+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59",
		"2026-11-29T12:00:01Z"} {
		got, _, ok := p.rfc3339([]byte(in), 0)
		require.True(t, ok, in)
		want, err := time.Parse(time.RFC3339Nano, in)
		require.NoError(t, err)
		_, off := want.Zone()
		require.Equal(t, time.Date(want.Year(), want.Month(), want.Day(), want.Hour(), want.Minute(), want.Second(),
			want.Nanosecond(), p.zone(off)), got, in) // the same value, location and representation
	}
}

func TestLenientRFC5424KeepsWhatItCan(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	recv := mustTime(t, "2026-03-14T09:15:03Z")
	p := New()
	for _, c := range []struct {
		name, raw string
		want      Header
	}{
		{"zone-less time in the source's zone", "<13>1 2026-03-14T10:15:02 h a p m - msg",
			Header{Format: RFC5424, HasPriority: true, Priority: 13, Version: 1, Time: time.Date(2026, 3, 14, 10, 15, 2, 0, berlin), HasTime: true,
				Hostname: "h", AppName: "a", ProcID: "p", MsgID: "m", Msg: "msg"}},
		{"malformed time", "<13>1 yesterday h a p m [x k=\"v\"] msg",
			Header{Format: RFC5424, HasPriority: true, Priority: 13, Version: 1, Notes: NoteInvalidTime,
				Hostname: "h", AppName: "a", ProcID: "p", MsgID: "m", StructuredData: []byte(`{"x":{"k":"v"}}`), Msg: "msg"}},
		{"invalid SD never gives an empty element", "<13>1 - h a p m [a b] msg",
			Header{Format: RFC5424, HasPriority: true, Priority: 13, Version: 1, Notes: NoteInvalidSD,
				Hostname: "h", AppName: "a", ProcID: "p", MsgID: "m", Msg: "msg"}},
		{"repeated SD-ID dropped, first kept", `<13>1 - h a p m [x k="1"][x k="2"][y j="3"] msg`,
			Header{Format: RFC5424, HasPriority: true, Priority: 13, Version: 1, Notes: NoteInvalidSD,
				Hostname: "h", AppName: "a", ProcID: "p", MsgID: "m", StructuredData: []byte(`{"x":{"k":"1"},"y":{"j":"3"}}`), Msg: "msg"}},
		{"control bytes and invalid UTF-8 in a value stay valid JSON", "<13>1 - h a p m [x k=\"a\x01\xff\\n\"] msg",
			Header{Format: RFC5424, HasPriority: true, Priority: 13, Version: 1,
				Hostname: "h", AppName: "a", ProcID: "p", MsgID: "m", StructuredData: []byte(`{"x":{"k":"a\u0001\ufffd\\n"}}`), Msg: "msg"}},
		{"no STRUCTURED-DATA", "<13>1 - h a p m text",
			Header{Format: RFC5424, HasPriority: true, Priority: 13, Version: 1, Notes: NoteInvalidSD,
				Hostname: "h", AppName: "a", ProcID: "p", MsgID: "m", Msg: "text"}},
		{"header cut short", "<13>1 - h a",
			Header{Format: RFC5424, HasPriority: true, Priority: 13, Version: 1, Hostname: "h", AppName: "a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			assertHeader(t, c.want, p.Parse([]byte(c.raw), recv, berlin))
		})
	}
}

func TestAppendECSWritesNotesAsTags(t *testing.T) {
	h := New().Parse([]byte("Mar 14 09:15:02 host "+strings.Repeat("a", 49)+": msg"), mustTime(t, "2026-03-14T09:15:03Z"), time.UTC)
	require.Equal(t, NotePriorityMissing, h.Notes)
	h.Notes |= NoteInvalidTime | NoteFieldTooLong | NoteInvalidSD
	var doc ecs.Document
	h.AppendECS(&doc)
	tags, ok := doc.Get(ecs.NewKey("tags"))
	require.True(t, ok)
	assert.Equal(t, []string{TagPriorityMissing, TagInvalidTime, TagFieldTooLong, TagInvalidSD}, tags.Strs)
	pri, ok := doc.Get(ecs.NewKey("log.syslog.priority"))
	require.True(t, ok)
	assert.Equal(t, int64(13), pri.Int)
}
