package pipeline

import (
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
	f.Fuzz(func(t *testing.T, rec []byte) {
		ev := &Event{}
		err := decodeRecord(rec, ev, &origins{})
		if err == nil && (ev.Origin == nil) {
			t.Fatal("decoded event without origin")
		}
	})
}
