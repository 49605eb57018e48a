package pipeline

import (
	"encoding/hex"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRecordRoundTrip(t *testing.T) {
	o := &Origin{Source: "files", Transport: "file", FilePath: "/var/log/kerio/security.log", Product: "kerio_connect",
		Log: "security", Location: time.UTC}
	events := []*Event{
		{Raw: []byte("[14/Mar/2026 09:15:02] line"), JSON: []byte(`{"a":1}`), Received: time.Unix(0, 1_773_480_902_123_456_789),
			Origin: o, Offset: 4096, Flags: FlagSplit, ID: "abc",
			Routes: Routes{Dataset: "kerio_connect.security", Kind: "alert", Categories: []string{"email", "malware"},
				Hostname: "mail01", SourceIP: "203.0.113.5", Module: "kerio_connect", Namespace: "default"}},
		{Raw: []byte("<13>hi"), JSON: []byte(`{}`), Received: time.Unix(5, 0), Origin: &Origin{Source: "udp", Transport: "udp"},
			Peer: netip.MustParseAddrPort("[2001:db8::1]:514")},
		{Raw: []byte("x"), JSON: []byte("{}"), Received: time.Unix(-1<<30, -1), Offset: math.MaxInt64, Origin: &Origin{},
			Peer: netip.MustParseAddrPort("[fe80::1%eth0]:65535")},
		// The raw message inside the document, as event.original, and a whole
		// passed-through document: stored as where it is there.
		{Raw: []byte("[14/Mar/2026 09:15:02] line"), JSON: []byte(`{"event":{"original":"[14/Mar/2026 09:15:02] line"}}`),
			Received: time.Unix(7, 0), Origin: o, Peer: netip.MustParseAddrPort("192.0.2.7:514")},
		{Raw: []byte(`{"a":1}`), JSON: []byte(`{"a":1}`), Received: time.Unix(8, 0), Origin: o},
		{Raw: []byte{}, JSON: []byte(`{}`), Received: time.Unix(9, 0), Origin: o},
	}
	var orig origins
	var decoded []*Event
	for _, ev := range events {
		rec := appendRecord(nil, ev)
		require.LessOrEqual(t, len(rec), recordBound(ev))
		got := &Event{}
		require.NoError(t, decodeRecord(rec, got, &orig))
		decoded = append(decoded, got)
	}
	for i, want := range events {
		got := decoded[i]
		require.Equal(t, want.Raw, got.Raw)
		require.Equal(t, want.JSON, got.JSON)
		require.True(t, want.Received.Equal(got.Received))
		require.Equal(t, want.Offset, got.Offset)
		require.Equal(t, want.Flags, got.Flags)
		require.Equal(t, want.Peer, got.Peer)
		require.Equal(t, want.ID, got.ID)
		require.Equal(t, want.Routes, got.Routes)
		require.Equal(t, want.Origin.Source, got.Origin.Source)
		require.Equal(t, want.Origin.FilePath, got.Origin.FilePath)
	}
	for i, ev := range events {
		again := &Event{}
		require.NoError(t, decodeRecord(appendRecord(nil, ev), again, &orig))
		require.Same(t, decoded[i].Origin, again.Origin, "events of one file share their Origin")
	}
}

// TestVersion1Record: records written before the raw message could be stored
// as a place in the document are still read (a buffer outlives an upgrade).
func TestVersion1Record(t *testing.T) {
	rec, err := hex.DecodeString("01aaa490b0feded59c3180400006c000020702020566696c65730466696c651b2f7661722f6c6f672f6b6572696f2f" +
		"73656375726974792e6c6f6700000003616263166b6572696f5f636f6e6e6563742e736563757269747900000000000105656d61696c1b5b31342f" +
		"4d61722f323032362030393a31353a30325d206c696e65347b226576656e74223a7b226f726967696e616c223a225b31342f4d61722f3230323620" +
		"30393a31353a30325d206c696e65227d7d")
	require.NoError(t, err)
	ev := &Event{}
	require.NoError(t, decodeRecord(rec, ev, &origins{}))
	require.Equal(t, "[14/Mar/2026 09:15:02] line", string(ev.Raw))
	require.Equal(t, `{"event":{"original":"[14/Mar/2026 09:15:02] line"}}`, string(ev.JSON))
	require.Equal(t, int64(1_773_480_902_123_456_789), ev.Received.UnixNano())
	require.Equal(t, int64(4096), ev.Offset)
	require.Equal(t, netip.MustParseAddrPort("192.0.2.7:514"), ev.Peer)
	require.Equal(t, "abc", ev.ID)
	require.Equal(t, FlagLegacyID, ev.Flags&FlagLegacyID, "written before event ids")
	require.Equal(t, "/var/log/kerio/security.log", ev.Origin.FilePath)
	require.Equal(t, Routes{Dataset: "kerio_connect.security", Categories: []string{"email"}}, ev.Routes)
}

// TestRecordsFromBeforeEventIDs: a version 2 record without an id (a
// network or file event, buffered before event ids) is replayed with the
// _id siemfwd gave it then, so that a document stored then answers 409.
// The expected ids are what the content hash of that time computed.
func TestRecordsFromBeforeEventIDs(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 33, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		ev   *Event
		want string
	}{
		{"network", &Event{Origin: &Origin{Source: "syslog_udp"}, Raw: []byte("<13>line"), Received: t0}, "I8SD-j-D8-YPkTZ_LGYL-w"},
		{"file", &Event{Origin: &Origin{Source: "files", FilePath: "logs/security.log"}, Raw: []byte("line"), Received: t0, Offset: 4096},
			"MfH3gf0ToL2wMeApbYPwiw"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.JSON = []byte(`{"message":"x"}`)
			rec := appendRecord(nil, tt.ev)
			rec[0] = 2
			got := &Event{}
			require.NoError(t, decodeRecord(rec, got, &origins{}))
			require.Equal(t, tt.want, got.ID)
			require.Equal(t, FlagLegacyID, got.Flags&FlagLegacyID)

			// The same event in a current record: no id is made up.
			rec[0] = recordVersion
			now := &Event{}
			require.NoError(t, decodeRecord(rec, now, &origins{}))
			require.Empty(t, now.ID)
			require.Zero(t, now.Flags&FlagLegacyID)
		})
	}
}

// TestRecordKeepsTheAppliedOrigin: an event read back from the buffer keeps
// the settings of the origin the worker applied (the sender profile its
// HOSTNAME matched), so that an edge forwarding it raw sends its indexers
// the zone, charset, format and observer a direct receipt would use.
func TestRecordKeepsTheAppliedOrigin(t *testing.T) {
	prague, err := time.LoadLocation("Europe/Prague")
	require.NoError(t, err)
	prof := &Origin{Source: "udp", Transport: "udp", Profile: "prague-fw", Product: "kerio_control", Log: "security",
		Location: prague, Charset: "windows-1250", Dataset: "kerio_control.security", ClockSkew: time.Minute,
		Observer: Observer{Name: "fw01", Vendor: "Kerio", Product: "Kerio Control", Type: "firewall"},
		Labels:   []Label{{Key: "site", Value: "brno"}, {Key: "zone", Value: "dmz"}}}
	base := &Origin{Source: "udp", Transport: "udp", Location: time.UTC,
		ByHostname: func(h string) *Origin {
			if h == "fw01" {
				return prof
			}
			return nil
		}}
	file := &Origin{Source: "files", Transport: "file", Format: FormatLine, FilePath: "security.log", Location: prague}
	for _, tt := range []struct {
		name string
		ev   *Event
		want *Origin
	}{
		{"the profile matched by hostname", &Event{Raw: []byte("<13>x"), Origin: base, Routes: Routes{Hostname: "fw01"}}, prof},
		{"no profile matched", &Event{Raw: []byte("<13>x"), Origin: base, Routes: Routes{Hostname: "other"}}, &Origin{Source: "udp", Transport: "udp", Location: time.UTC}},
		{"a file line", &Event{Raw: []byte("[x] y"), Origin: file}, file},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := appendRecord(nil, tt.ev)
			require.LessOrEqual(t, len(rec), recordBound(tt.ev))
			got := &Event{}
			require.NoError(t, decodeRecord(rec, got, &origins{}))
			o, want := *got.Origin, *tt.want
			require.Equal(t, want.Location.String(), o.Location.String())
			o.Location, want.Location, want.ByHostname = nil, nil, nil
			require.Equal(t, want, o)

			// A version 3 record (written before the settings) comes back in UTC, without them.
			rec[0] = 3
			old := &Event{}
			require.NoError(t, decodeRecord(rec, old, &origins{}))
			require.Equal(t, time.UTC, old.Origin.Location)
			require.Empty(t, old.Origin.Observer)
		})
	}
}

// TestRecordKeepsTheTLSSession: an event received over TLS comes back
// with its connection's session and client certificate (an edge forwards
// them to its indexers), also when a hostname profile was applied; a
// version 4 record, written before them, comes back without, and its
// settings are still read.
func TestRecordKeepsTheTLSSession(t *testing.T) {
	tp := &TLSPeer{Version: "1.3", Cipher: "TLS_AES_128_GCM_SHA256", ServerName: "logs.example.com",
		Subject: "CN=fw01.example.com,O=Example,C=CZ", Issuer: "CN=Example CA,O=Example", CommonName: "fw01.example.com",
		IssuerCommonName: "Example CA", AlternativeNames: []string{"fw01.example.com", "192.0.2.7", "ops@example.com"},
		SerialNumber: "1A2B3C", NotBefore: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		NotAfter: time.Date(2027, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600)),
		SHA256:   "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}
	prof := &Origin{Source: "tls", Transport: "tls", Profile: "by_name", Location: time.UTC, Dataset: "fw.custom"}
	conn := &Origin{Source: "tls", Transport: "tls", Profile: "by_address", Location: time.UTC, TLS: tp,
		ByHostname: func(h string) *Origin {
			if h == "fw01" {
				return prof
			}
			return nil
		}}
	plain := &Origin{Source: "tcp", Transport: "tcp", Location: time.UTC}
	for _, tt := range []struct {
		name     string
		ev       *Event
		profile  string
		wantTLS  *TLSPeer
		wantData string
	}{
		{"profile by address", &Event{Raw: []byte("<13>x"), Origin: conn, Routes: Routes{Hostname: "other"}}, "by_address", tp, ""},
		{"profile by hostname", &Event{Raw: []byte("<13>x"), Origin: conn, Routes: Routes{Hostname: "fw01"}}, "by_name", tp, "fw.custom"},
		{"no client certificate", &Event{Raw: []byte("<13>x"), Origin: &Origin{Source: "tls", Transport: "tls", Location: time.UTC,
			TLS: &TLSPeer{Version: "1.2", Cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}}}, "",
			&TLSPeer{Version: "1.2", Cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, ""},
		{"plain tcp", &Event{Raw: []byte("<13>x"), Origin: plain}, "", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := appendRecord(nil, tt.ev)
			require.LessOrEqual(t, len(rec), recordBound(tt.ev))
			got := &Event{}
			require.NoError(t, decodeRecord(rec, got, &origins{}))
			require.Equal(t, tt.profile, got.Origin.Profile)
			require.Equal(t, tt.wantData, got.Origin.Dataset)
			if tt.wantTLS == nil {
				require.Nil(t, got.Origin.TLS)
			} else {
				require.NotNil(t, got.Origin.TLS)
				want, tls := *tt.wantTLS, *got.Origin.TLS
				require.True(t, want.NotBefore.Equal(tls.NotBefore), "not_before %s, want %s", tls.NotBefore, want.NotBefore)
				require.True(t, want.NotAfter.Equal(tls.NotAfter), "not_after %s, want %s", tls.NotAfter, want.NotAfter)
				want.NotBefore, want.NotAfter, tls.NotBefore, tls.NotAfter = time.Time{}, time.Time{}, time.Time{}, time.Time{}
				require.Equal(t, want, tls)
			}

			// Version 4: the same record without the tls part.
			tail := len(appendTLSPeer(nil, tt.ev.Origin.TLS))
			v4 := append([]byte{4}, rec[1:len(rec)-tail]...)
			old := &Event{}
			require.NoError(t, decodeRecord(v4, old, &origins{}))
			require.Nil(t, old.Origin.TLS)
			require.Equal(t, tt.wantData, old.Origin.Dataset)
			require.Equal(t, tt.ev.Raw, old.Raw)
		})
	}
}

func TestRawOutsideTheDocumentIsRefused(t *testing.T) {
	ev := &Event{Raw: []byte("line"), JSON: []byte(`{"m":"line"}`), Origin: &Origin{}}
	rec := appendRecord(nil, ev)
	// The record ends: uvarint(at+1) uvarint(len) uvarint(len(json)) json settings.
	tail := len(rec) - len(appendSettings(nil, ev.Origin, nil)) - len(ev.JSON) - 1
	require.Equal(t, []byte{7, 4}, rec[tail-2:tail], "the raw message is stored as where it is in the document")
	rec[tail-1] = 10 // one byte longer than what follows it there
	require.ErrorIs(t, decodeRecord(rec, &Event{}, &origins{}), errBadRecord)
}

func TestDamagedRecordsAreRefusedNotMisread(t *testing.T) {
	rec := appendRecord(nil, &Event{Raw: []byte("x"), JSON: []byte("{}"), Origin: &Origin{Source: "s"}})
	for cut := range len(rec) {
		err := decodeRecord(rec[:cut], &Event{}, &origins{})
		require.Error(t, err, "cut at %d", cut)
	}
	bad := append([]byte{99}, rec[1:]...)
	err := decodeRecord(bad, &Event{}, &origins{})
	require.ErrorIs(t, err, errBadRecord)
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, &Event{Raw: []byte("x"), JSON: []byte("{}"), Origin: &Origin{Source: "s"},
		Routes: Routes{Categories: []string{"a"}}}))
	f.Add(appendRecord(nil, &Event{Raw: []byte("x"), JSON: []byte(`{"x":1}`), Origin: &Origin{Source: "s"}}))
	f.Add(appendRecord(nil, &Event{Raw: []byte("x"), JSON: []byte("{}"), Origin: &Origin{Source: "s", TLS: &TLSPeer{
		Version: "1.3", Subject: "CN=a", AlternativeNames: []string{"a", "b"}, NotAfter: time.Unix(1, 2)}}}))
	f.Fuzz(func(t *testing.T, rec []byte) {
		ev := &Event{}
		err := decodeRecord(rec, ev, &origins{})
		if err == nil && (ev.Origin == nil) {
			t.Fatal("decoded event without origin")
		}
	})
}

// BenchmarkAppendRecord: the record of a Kerio security line as the file
// source and the ECS processor leave it (event.original inside the JSON).
func BenchmarkAppendRecord(b *testing.B) {
	raw := []byte("[29/Nov/2026 14:36:33] Failed HTTP login from 2001:db8:c6ad:2109:1291:44f2:9506:acb6, user lucie.horvath@branch-office.contoso-holding.example not found.")
	json := []byte(`{"@timestamp":"2026-11-29T14:36:33Z","agent":{"name":"vm","type":"siemfwd","version":"dev"},` +
		`"data_stream":{"dataset":"kerio_connect.security","namespace":"default","type":"logs"},"ecs":{"version":"9.4.0"},` +
		`"event":{"action":"login-failed","category":["authentication"],"created":"2026-11-29T14:38:12.117339449Z",` +
		`"dataset":"kerio_connect.security","kind":"event","module":"kerio_connect","original":"` + string(raw) + `",` +
		`"outcome":"failure","type":["start"]},"kerio":{"auth":{"failure":"user_not_found"},"service":"HTTP",` +
		`"timestamp":"29/Nov/2026 14:36:33"},"labels":{"siemfwd_source":"kerio_files"},"log":{"file":{"path":` +
		`"/var/log/kerio/security.log"},"offset":0},"message":"` + string(raw[23:]) + `","network":{"protocol":"http"},` +
		`"observer":{"product":"Kerio Connect","type":"mail-server","vendor":"Kerio"},"related":{"ip":` +
		`["2001:db8:c6ad:2109:1291:44f2:9506:acb6"],"user":["lucie.horvath@branch-office.contoso-holding.example"]},` +
		`"source":{"ip":"2001:db8:c6ad:2109:1291:44f2:9506:acb6"},"user":{"domain":"branch-office.contoso-holding.example",` +
		`"name":"lucie.horvath@branch-office.contoso-holding.example"}}` + "\n")
	ev := &Event{Raw: raw, JSON: json, Received: time.Now(), Offset: 123456789, Origin: &Origin{Source: "kerio_files",
		Transport: "file", FilePath: "/var/log/kerio/security.log", Product: "kerio_connect", Log: "security"},
		Routes: Routes{Dataset: "kerio_connect.security", Kind: "event", Categories: []string{"authentication"},
			SourceIP: "2001:db8:c6ad:2109:1291:44f2:9506:acb6", Module: "kerio_connect", Namespace: "default"}}
	buf := make([]byte, 0, recordBound(ev))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRecord(buf[:0], ev)
	}
	b.ReportMetric(float64(len(buf)), "record-bytes")
}
