package ecs

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// mustAppend encodes d with e, requiring no error.
func mustAppend(t testing.TB, e *Encoder, d *Document) []byte {
	t.Helper()
	out, err := e.Append(nil, d)
	require.NoError(t, err)
	return out
}

func TestEncoderNestsDottedKeys(t *testing.T) {
	var d Document
	d.SetString(NewKey("log.syslog.hostname"), "mail01")
	d.SetInt(NewKey("log.syslog.priority"), 22)
	d.SetString(NewKey("@timestamp"), "x")
	d.SetStrings(NewKey("event.category"), "email", "network")
	d.SetString(NewKey("log.level"), "warning")
	d.SetFloat(NewKey("kerio.spam.score"), 9.74)
	d.SetBool(NewKey("tls.established"), true)
	d.SetString(NewKey("user_agent.original"), "curl")
	d.SetString(NewKey("user.name"), "a@b")
	d.SetRaw(NewKey("log.syslog.structured_data"), []byte(`{"meta":{"a":"1"}}`))
	d.SetTime(NewKey("event.created"), time.Date(2026, 3, 14, 10, 15, 2, 481_000_000, time.FixedZone("x", 3600)))

	var e Encoder
	got := mustAppend(t, &e, &d)
	require.JSONEq(t, `{
		"@timestamp":"x",
		"event":{"category":["email","network"],"created":"2026-03-14T09:15:02.481Z"},
		"kerio":{"spam":{"score":9.74}},
		"log":{"level":"warning","syslog":{"hostname":"mail01","priority":22,"structured_data":{"meta":{"a":"1"}}}},
		"tls":{"established":true},
		"user":{"name":"a@b"},
		"user_agent":{"original":"curl"}
	}`, string(got))
}

func TestEncoderIsDeterministicAndReusable(t *testing.T) {
	var d Document
	var e Encoder
	d.SetString(NewKey("b.x"), "1")
	d.SetString(NewKey("a"), "2")
	first := string(mustAppend(t, &e, &d))
	d.Reset()
	d.SetString(NewKey("a"), "2")
	d.SetString(NewKey("b.x"), "1")
	require.Equal(t, first, string(mustAppend(t, &e, &d)))
	require.Equal(t, `{"a":"2","b":{"x":"1"}}`, first)
}

func TestSetReplacesAndDeleteRemoves(t *testing.T) {
	var d Document
	d.SetString(NewKey("a"), "1")
	d.SetString(NewKey("a"), "2")
	d.AppendUnique(NewKey("related.ip"), "1.2.3.4")
	d.AppendUnique(NewKey("related.ip"), "1.2.3.4")
	d.AppendUnique(NewKey("related.ip"), "::1")
	d.Delete(NewKey("missing"))
	require.Equal(t, `{"a":"2","related":{"ip":["1.2.3.4","::1"]}}`, string(mustAppend(t, new(Encoder), &d)))
	require.Equal(t, "2", d.GetString(NewKey("a")))
	f, ok := d.Get(NewKey("related.ip"))
	require.True(t, ok)
	require.Equal(t, []string{"1.2.3.4", "::1"}, f.Strs)
	d.Delete(NewKey("a"))
	require.False(t, d.Has(NewKey("a")))
}

func TestAppendStringEscapesAndReadsLatin1(t *testing.T) {
	cases := map[string]string{
		"plain":         "plain",
		"q\"b\\s\n\t\r": "q\"b\\s\n\t\r",
		"\x00\x1f":      "\x00\x1f",
		"Привет":        "Привет",
		"caf\xe9":       "café", // Latin-1 é
		"\xff\xfe tail": "ÿþ tail",
		"\xe2\x82":      "â\u0082", // truncated UTF-8 sequence, byte by byte
	}
	for in, want := range cases {
		out := AppendString(nil, in)
		var got string
		require.NoError(t, json.Unmarshal(out, &got), "input %q gave %s", in, out)
		require.Equal(t, want, got, "input %q", in)
	}
}

func TestNonFiniteFloatsEncodeAsNull(t *testing.T) {
	var d Document
	var zero float64
	d.SetFloat(NewKey("x"), 1/zero)
	require.Equal(t, `{"x":null}`, string(mustAppend(t, new(Encoder), &d)))
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\xff", "Привет", "\"\\", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", out, s, err)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	var d Document
	d.SetString(NewKey("@timestamp"), "2026-03-14T09:15:02.481Z")
	for _, k := range []string{"event.action", "event.dataset", "event.module", "event.kind", "event.outcome",
		"log.syslog.hostname", "log.syslog.appname", "log.syslog.severity.name", "log.syslog.facility.name",
		"source.ip", "user.name", "user.domain", "kerio.service", "network.protocol", "message", "event.original",
		"observer.vendor", "observer.product", "observer.type", "agent.type", "agent.version", "ecs.version",
		"data_stream.type", "data_stream.dataset", "data_stream.namespace"} {
		d.SetString(NewKey(k), "some value of a typical length here")
	}
	d.SetStrings(NewKey("event.category"), "authentication")
	d.SetStrings(NewKey("event.type"), "start")
	d.SetInt(NewKey("log.syslog.priority"), 20)
	d.SetTime(NewKey("event.created"), time.Now())
	var e Encoder
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.Append(buf[:0], &d)
	}
	b.SetBytes(int64(len(buf)))
}

func TestCachedOrderIsOnlyUsedForTheSameKeys(t *testing.T) {
	var e Encoder
	var d Document
	build := func(keys ...string) string {
		d.Reset()
		for _, k := range keys {
			d.SetString(NewKey(k), k)
		}
		return string(mustAppend(t, &e, &d))
	}
	require.Equal(t, `{"a":"a","b":{"c":"b.c"}}`, build("b.c", "a"))
	require.Equal(t, `{"a":"a","b":{"c":"b.c"}}`, build("b.c", "a"), "cached order")
	// Same lengths and count, other strings built at run time: sorted afresh.
	x, y := string([]byte("z")), string([]byte("y.c"))
	require.Equal(t, `{"y":{"c":"y.c"},"z":"z"}`, build(y, x))
}

func TestAppendTimeWritesRFC3339WithTheFractionKept(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{
		time.Date(2026, 3, 14, 9, 15, 2, 481_000_000, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 0, time.FixedZone("east", 3600)),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	}
	for range 10_000 {
		times = append(times, time.Unix(rng.Int64N(400_000_000_000)-62_135_596_800, rng.Int64N(1_000_000_000)))
	}
	for _, tm := range times {
		require.Equal(t, tm.UTC().Format(time.RFC3339Nano), string(AppendTime(nil, tm)), "%v", tm)
	}
	// The encoder's remembered seconds: times in the same and neighbouring
	// seconds, repeated, in every zone and out of range.
	var c secondsText
	for i, tm := range times {
		for _, u := range []time.Time{tm, tm.Add(time.Second), tm.Add(-time.Nanosecond), tm, times[i/2].In(time.FixedZone("x", -7200))} {
			require.Equal(t, u.UTC().Format(time.RFC3339Nano), string(c.appendTime(nil, u)), "%v", u)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	values := []string{"login-failed", "authentication", "203.0.113.150", "kerio_connect.security", "Kerio Connect",
		"david.garcia97@branch-office.contoso-holding.example", "mail01.contoso.example", "HTTP/WebMail", "logs", "default",
		"HTTP/WebMail: Invalid password for user david.garcia97@branch-office.contoso-holding.example. Attempt from IP address 203.0.113.150.",
		"<20>1 2026-11-29T11:58:57.508Z mail01.contoso.example security - seq256 - [29/Nov/2026 11:58:57] HTTP/WebMail: Invalid password for user david.garcia97@branch-office.contoso-holding.example. Attempt from IP address 203.0.113.150."}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, v := range values {
			buf = AppendString(buf, v)
		}
	}
}

func TestConstantsEncodeAsTheirValuesAndSelectTheLayout(t *testing.T) {
	var e Encoder
	var d Document
	catA, catB := []string{"email", "network"}, []string{"email", "file"}
	build := func(konst bool, kind, version string, cat []string, prio int64) string {
		d.Reset()
		d.SetString(NewKey("message"), "hi")
		if konst {
			d.SetConst(NewKey("event.kind"), NewConst(kind))
			d.SetConst(NewKey("event.category"), NewConstStrings(cat...))
			d.SetConst(NewKey("log.syslog.priority"), NewConstInt(prio))
			d.SetConst(NewKey("ecs.version"), NewConst(version))
		} else {
			d.SetString(NewKey("event.kind"), kind)
			d.SetStrings(NewKey("event.category"), cat...)
			d.SetInt(NewKey("log.syslog.priority"), prio)
			d.SetString(NewKey("ecs.version"), version)
		}
		d.SetString(NewKey("event.action"), "x")
		return string(mustAppend(t, &e, &d))
	}
	for range 2 { // the second round hits the cached layouts
		for _, c := range []struct {
			kind, version string
			cat           []string
			prio          int64
		}{{"event", "1", catA, 22}, {"alert", "2", catA, 22}, {"event", "1", catB, 22}, {"event", "1", catA, 13}} {
			plain := build(false, c.kind, c.version, c.cat, c.prio)
			require.Equal(t, plain, build(true, c.kind, c.version, c.cat, c.prio))
		}
	}
	require.Equal(t, `{"ecs":{"version":"1"},"event":{"action":"x","category":["email","file"],"kind":"event"},"log":{"syslog":{"priority":13}},"message":"hi"}`,
		build(true, "event", "1", catB, 13))
}

func TestAConstantChangedOrReplacedIsNoLongerCached(t *testing.T) {
	var e Encoder
	var d Document
	cat := []string{"email"}
	for range 2 {
		d.Reset()
		d.SetConst(NewKey("event.category"), NewConstStrings(cat...))
		d.AppendUnique(NewKey("event.category"), "network")
		d.SetConst(NewKey("a"), NewConst("1"))
		d.SetString(NewKey("a"), "2")
		d.SetString(NewKey("b"), "3")
		d.SetConst(NewKey("b"), NewConst("4"))
		require.Equal(t, `{"a":"2","b":"4","event":{"category":["email","network"]}}`, string(mustAppend(t, &e, &d)))
	}
	require.Equal(t, []string{"email"}, cat, "the caller's slice is not written")
}

func TestPartsOfTheLongestValueAreEscapedWhereItNeedsIt(t *testing.T) {
	var e Encoder
	var d Document
	raw := `<13>host app: user "bob" from caf` + "\xe9" + ` at 192.0.2.1`
	host, user, at := raw[4:8], raw[19:24], raw[len(raw)-9:]
	for range 2 {
		d.Reset()
		d.SetString(NewKey("event.original"), raw)
		d.SetString(NewKey("host"), host)
		d.SetString(NewKey("user"), user)
		d.SetStrings(NewKey("ips"), host, at)
		d.SetString(NewKey("word"), raw[14:18])
		var plain Document
		for _, f := range d.Fields() {
			if f.Kind == KindStrings {
				plain.SetStrings(f.Key, f.Strs...)
			} else {
				plain.SetString(f.Key, string([]byte(f.Str)))
			}
		}
		got := string(mustAppend(t, &e, &d))
		require.Equal(t, string(mustAppend(t, new(Encoder), &plain)), got)
		require.Contains(t, got, `"user":"\"bob\""`)
		require.Contains(t, got, `"ips":["host","192.0.2.1"]`)
	}
}

func TestPlainPrefixStopsAtTheFirstByteToEscape(t *testing.T) {
	for n := range 48 {
		plain := make([]byte, n)
		for i := range plain {
			plain[i] = byte(0x20 + (i*7)%0x60) // printable ASCII, with '"' and '\\' replaced below
			if plain[i] == '"' || plain[i] == '\\' {
				plain[i] = 'x'
			}
		}
		require.Equal(t, n, plainPrefix(string(plain)))
		for at := range n {
			for _, c := range []byte{0, 0x1f, '"', '\\', 0x80, 0xc3, 0xff} {
				s := []byte(string(plain))
				s[at] = c
				for after := at + 1; after < n; after++ { // bytes after the first special one do not matter
					s[after] = 0x01 + byte(after)%0xfe
				}
				require.Equal(t, at, plainPrefix(string(s)), "%q", s)
			}
		}
	}
}

// BenchmarkSetAndEncodeConstants fills and encodes a document shaped like a
// Kerio event received over syslog: a constant for most of its fields (the
// header's priority, the categorisation, the observer, the source's
// settings as one run), per-event text for the rest.
func BenchmarkSetAndEncodeConstants(b *testing.B) {
	str := func(names ...string) []Key {
		keys := make([]Key, len(names))
		for i, n := range names {
			keys[i] = NewKey(n)
		}
		return keys
	}
	texts := str("log.syslog.hostname", "log.syslog.appname", "log.syslog.msgid", "message", "source.ip",
		"user.name", "user.domain", "kerio.service", "observer.hostname", "host.hostname", "process.name")
	header := []ConstField{{NewKey("log.syslog.priority"), NewConstInt(20)}, {NewKey("log.syslog.facility.code"), NewConstInt(2)},
		{NewKey("log.syslog.facility.name"), NewConst("mail")}, {NewKey("log.syslog.severity.code"), NewConstInt(4)},
		{NewKey("log.syslog.severity.name"), NewConst("warning")}, {NewKey("log.syslog.version"), NewConstInt(1)}}
	event := []ConstField{{NewKey("event.kind"), NewConst("event")}, {NewKey("event.category"), NewConstStrings("authentication")},
		{NewKey("event.type"), NewConstStrings("start")}, {NewKey("event.outcome"), NewConst("failure")},
		{NewKey("event.action"), NewConst("login-failed")}, {NewKey("event.module"), NewConst("kerio_connect")},
		{NewKey("event.dataset"), NewConst("kerio_connect.security")}, {NewKey("observer.vendor"), NewConst("Kerio")},
		{NewKey("observer.product"), NewConst("Connect")}, {NewKey("observer.type"), NewConst("mail-server")}}
	source := []ConstField{{NewKey("labels.siemfwd_profile"), NewConst("default")}, {NewKey("ecs.version"), NewConst(Version)},
		{NewKey("agent.type"), NewConst("siemfwd")}, {NewKey("agent.name"), NewConst("siemfwd")},
		{NewKey("agent.version"), NewConst("1.0.0")}, {NewKey("labels.siemfwd_source"), NewConst("syslog_tcp")},
		{NewKey("data_stream.type"), NewConst("logs")}, {NewKey("data_stream.namespace"), NewConst("default")}}
	timestamp, created, original := NewKey("@timestamp"), NewKey("event.created"), NewKey("event.original")
	raw := "<20>1 2026-11-29T11:58:57.508Z mail01.contoso.example security - seq256 - [29/Nov/2026 11:58:57] HTTP/WebMail: Invalid password for user david.garcia97@branch-office.contoso-holding.example. Attempt from IP address 203.0.113.150."
	now := time.Date(2026, 11, 29, 11, 58, 57, 508_000_000, time.UTC)
	var d Document
	var e Encoder
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		d.SetTime(timestamp, now)
		for _, c := range header {
			d.SetConst(c.Key, c.Value)
		}
		for i, k := range texts {
			d.SetString(k, raw[i*8:i*8+8])
		}
		for _, c := range event {
			d.SetConstNonEmpty(c.Key, c.Value)
		}
		d.SetTime(created, now)
		d.SetString(original, raw)
		d.SetConsts(source)
		buf, _ = e.Append(buf[:0], &d)
	}
	b.SetBytes(int64(len(buf)))
}
