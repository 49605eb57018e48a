package pipeline

import (
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
	}
	origins := map[[6]string]*Origin{}
	var decoded []*Event
	for _, ev := range events {
		got, err := decodeRecord(appendRecord(nil, ev), origins)
		require.NoError(t, err)
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
	again, err := decodeRecord(appendRecord(nil, events[0]), origins)
	require.NoError(t, err)
	require.Same(t, decoded[0].Origin, again.Origin, "events of one file share their Origin")
}

func TestDamagedRecordsAreRefusedNotMisread(t *testing.T) {
	rec := appendRecord(nil, &Event{Raw: []byte("x"), JSON: []byte("{}"), Origin: &Origin{Source: "s"}})
	for cut := range len(rec) {
		_, err := decodeRecord(rec[:cut], map[[6]string]*Origin{})
		require.Error(t, err, "cut at %d", cut)
	}
	bad := append([]byte{99}, rec[1:]...)
	_, err := decodeRecord(bad, map[[6]string]*Origin{})
	require.ErrorIs(t, err, errBadRecord)
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, &Event{Raw: []byte("x"), JSON: []byte("{}"), Origin: &Origin{Source: "s"},
		Routes: Routes{Categories: []string{"a"}}}))
	f.Fuzz(func(t *testing.T, rec []byte) {
		ev, err := decodeRecord(rec, map[[6]string]*Origin{})
		if err == nil && (ev.Origin == nil) {
			t.Fatal("decoded event without origin")
		}
	})
}
