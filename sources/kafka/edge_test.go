package kafka

import (
	"net/netip"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/kafka/kafkaedge"
	"siemfwd/pipeline"
)

func header(hs []kafkago.Header, key string) (string, bool) {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

func TestEdgeHeadersRoundTrip(t *testing.T) {
	prague := mustZone(t, "Europe/Prague")
	for _, l := range readCorpus(t) {
		edge := edgeEvent(l, prague)
		edge.Flags = pipeline.FlagTruncated
		hs := kafkaedge.Headers(edge)

		base := &pipeline.Origin{Source: "indexer_kafka", Transport: "kafka", Format: pipeline.FormatSyslog, Location: time.UTC}
		got := &pipeline.Event{Raw: edge.Raw, Origin: base, Offset: 99, Received: time.Unix(1, 0)}
		ok, err := kafkaedge.Apply(got, hs)
		require.NoError(t, err, l.ID)
		require.True(t, ok, l.ID)

		assert.True(t, edge.Received.Equal(got.Received), "%s: received %s, want %s", l.ID, got.Received, edge.Received)
		assert.Equal(t, edge.Received.UnixNano(), got.Received.UnixNano(), "the document id hashes this")
		assert.Equal(t, edge.Peer, got.Peer)
		assert.Equal(t, edge.Flags, got.Flags)
		if edge.Origin.FilePath != "" {
			assert.Equal(t, edge.Offset, got.Offset, "file events keep their file offset (log.offset)")
		} else {
			assert.EqualValues(t, 99, got.Offset, "others keep the Kafka offset")
		}
		want, o := *edge.Origin, *got.Origin
		assert.Equal(t, want.Location.String(), o.Location.String())
		want.Location, o.Location = nil, nil
		assert.Equal(t, want, o, l.ID)
	}
}

func TestEdgeHeadersNamesAndValues(t *testing.T) {
	o := &pipeline.Origin{Source: "syslog_udp", Transport: "udp", Format: pipeline.FormatSyslog, Location: time.UTC,
		Product: "kerio_control", Profile: "fw"}
	ev := &pipeline.Event{Origin: o, Peer: netip.MustParseAddrPort("[2001:db8::1]:514"),
		Received: time.Date(2026, 11, 29, 10, 0, 0, 1, time.FixedZone("x", 3600))}
	assert.Equal(t, []kafkago.Header{{Key: kafkaedge.HeaderEdge,
		Value: []byte("received=2026-11-29T09:00:00.000000001Z&peer=[2001:db8::1]:514&source=syslog_udp&transport=udp&profile=fw&product=kerio_control&timezone=UTC")},
	}, kafkaedge.Headers(ev), "one header; what is not set is left out")

	file := &pipeline.Origin{Source: "kerio_files", Transport: "file", Format: pipeline.FormatLine,
		Location: mustZone(t, "Europe/Prague"), FilePath: "/var/log/kerio/security.log", Log: "security"}
	ev = &pipeline.Event{Origin: file, Offset: 4096, Flags: pipeline.FlagTruncated | pipeline.FlagSplit, Received: time.Unix(1, 0)}
	assert.Equal(t, []kafkago.Header{{Key: kafkaedge.HeaderEdge,
		Value: []byte("received=1970-01-01T00:00:01Z&file_offset=4096&flags=truncated,split&source=kerio_files&transport=file&log=security&format=line&timezone=Europe%2FPrague&file_path=%2Fvar%2Flog%2Fkerio%2Fsecurity.log")},
	}, kafkaedge.Headers(ev))
}

func TestEdgeEncoderSendsTheProfileMatchedByHostname(t *testing.T) {
	byName := &pipeline.Origin{Source: "syslog_udp", Transport: "udp", Location: time.UTC, Profile: "by_name", Dataset: "fw.custom"}
	o := &pipeline.Origin{Source: "syslog_udp", Transport: "udp", Location: time.UTC, Profile: "by_address",
		ByHostname: func(h string) *pipeline.Origin {
			if h == "fw01" {
				return byName
			}
			return nil
		}}
	ev := &pipeline.Event{Origin: o, Received: time.Unix(1, 0), Routes: pipeline.Routes{Hostname: "fw01"}}
	v, _ := header(kafkaedge.Headers(ev), kafkaedge.HeaderEdge)
	assert.Equal(t, "received=1970-01-01T00:00:01Z&source=syslog_udp&transport=udp&profile=by_name&timezone=UTC&dataset=fw.custom", v)
	ev.Routes.Hostname = "other"
	v, _ = header(kafkaedge.Headers(ev), kafkaedge.HeaderEdge)
	assert.Equal(t, "received=1970-01-01T00:00:01Z&source=syslog_udp&transport=udp&profile=by_address&timezone=UTC", v)
}

func TestEdgeEncoderAllocatesNothingPerEventOnceWarm(t *testing.T) {
	o := &pipeline.Origin{Source: "syslog_tcp", Transport: "tcp", Location: time.UTC, Profile: "p",
		Labels: []pipeline.Label{{Key: "site", Value: "x"}}}
	ev := &pipeline.Event{Origin: o, Peer: netip.MustParseAddrPort("192.0.2.1:5000"), Received: time.Now()}
	var e kafkaedge.Encoder
	dst := make([]kafkago.Header, 0, 64)
	dst = e.Append(dst, ev)
	allocs := testing.AllocsPerRun(1000, func() {
		e.Reset()
		dst = e.Append(dst[:0], ev)
	})
	assert.Zero(t, allocs)
}

func TestEdgeDecoderSharesOrigins(t *testing.T) {
	o := &pipeline.Origin{Source: "edge", Transport: "udp", Location: mustZone(t, "Europe/Prague"), Product: "kerio_connect"}
	d := kafkaedge.NewDecoder(&pipeline.Origin{Source: "k", Transport: "kafka", Location: time.UTC})
	var origins []*pipeline.Origin
	for i := range 3 {
		ev := &pipeline.Event{Origin: o, Received: time.Unix(int64(i), 0), Peer: netip.MustParseAddrPort("192.0.2.1:1")}
		got := &pipeline.Event{}
		ok, err := d.Apply(got, kafkaedge.Headers(ev))
		require.NoError(t, err)
		require.True(t, ok)
		origins = append(origins, got.Origin)
	}
	assert.Same(t, origins[0], origins[1])
	assert.Same(t, origins[0], origins[2])

	other := *o
	other.Profile = "p2"
	got := &pipeline.Event{}
	_, err := d.Apply(got, kafkaedge.Headers(&pipeline.Event{Origin: &other, Received: time.Unix(1, 0)}))
	require.NoError(t, err)
	assert.NotSame(t, origins[0], got.Origin)
	assert.Equal(t, "p2", got.Origin.Profile)

	back := &pipeline.Event{}
	_, err = d.Apply(back, kafkaedge.Headers(&pipeline.Event{Origin: o, Received: time.Unix(2, 0)}))
	require.NoError(t, err)
	assert.Same(t, origins[0], back.Origin, "the first origin again")
}

func TestApplyEdgeHeadersWithoutOrWithBadHeaders(t *testing.T) {
	base := &pipeline.Origin{Source: "k", Transport: "kafka", Location: time.UTC, Product: "kerio_control"}
	ev := &pipeline.Event{Origin: base, Received: time.Unix(5, 0)}
	ok, err := kafkaedge.Apply(ev, []kafkago.Header{{Key: "event.dataset", Value: []byte("x")}, {Key: "siemfwd.source", Value: []byte("s")}})
	require.NoError(t, err)
	assert.False(t, ok, "siemfwd.edge marks edge records")
	assert.Same(t, base, ev.Origin)

	ev = &pipeline.Event{Origin: base, Received: time.Unix(5, 0)}
	ok, err = kafkaedge.Apply(ev, []kafkago.Header{
		{Key: kafkaedge.HeaderEdge, Value: []byte("received=yesterday&peer=not-an-address&timezone=Mars%2FOlympus&format=cef&clock_skew=-1h&label.site=a%20b&bogus=1&observer.name=%zz&log=security")},
	})
	assert.True(t, ok)
	for _, want := range []string{"received", "peer", "timezone", "unknown format", "clock_skew: bad duration", `unknown field "bogus"`, "invalid URL escape"} {
		assert.ErrorContains(t, err, want)
	}
	assert.Equal(t, []pipeline.Label{{Key: "site", Value: "a b"}}, ev.Origin.Labels)
	assert.Equal(t, time.Unix(5, 0), ev.Received, "a bad time leaves the record's own")
	assert.False(t, ev.Peer.IsValid())
	assert.Equal(t, "security", ev.Origin.Log, "good values still apply")
	assert.Equal(t, "kerio_control", ev.Origin.Product, "what the headers do not say comes from the source")
	assert.Equal(t, "k", ev.Origin.Source)
	assert.Equal(t, time.UTC, ev.Origin.Location)
}

func TestEdgeDecoderReusesThePeerOnlyWhenItIsTheSame(t *testing.T) {
	d := kafkaedge.NewDecoder(nil)
	o := &pipeline.Origin{Source: "edge", Location: time.UTC}
	for _, peer := range []string{"192.0.2.1:514", "192.0.2.1:514", "[2001:db8::1]:514", "192.0.2.1:514"} {
		got := &pipeline.Event{}
		_, err := d.Apply(got, kafkaedge.Headers(&pipeline.Event{Origin: o, Received: time.Unix(1, 0), Peer: netip.MustParseAddrPort(peer)}))
		require.NoError(t, err)
		assert.Equal(t, netip.MustParseAddrPort(peer), got.Peer)
	}
	got := &pipeline.Event{}
	_, err := d.Apply(got, []kafkago.Header{{Key: kafkaedge.HeaderEdge, Value: []byte("received=1970-01-01T00:00:01Z&peer=192.0.2.1")}})
	assert.ErrorContains(t, err, "peer")
	assert.False(t, got.Peer.IsValid(), "a bad peer after a good one is not replaced by the good one")
}

func TestEdgeDecoderReceiveTimesWithinOneSecond(t *testing.T) {
	d := kafkaedge.NewDecoder(nil)
	base := time.Date(2026, 11, 29, 9, 0, 5, 0, time.FixedZone("x", 3600))
	for _, ns := range []int{123456789, 100000000, 1, 0, 999999999, 5e8, 1e9 + 7, 1e9 + 7, 3, 59e9 + 10} {
		at := base.Add(time.Duration(ns))
		hs := kafkaedge.Headers(&pipeline.Event{Received: at})
		var want time.Time
		require.NoError(t, want.UnmarshalText([]byte(at.UTC().Format(time.RFC3339Nano))))
		got := &pipeline.Event{}
		_, err := d.Apply(got, hs)
		require.NoError(t, err)
		assert.Equal(t, want, got.Received, "%d ns: the same time.Time as a full parse", ns)
		assert.Equal(t, at.UnixNano(), got.Received.UnixNano())
	}
	got := &pipeline.Event{}
	_, err := d.Apply(got, []kafkago.Header{{Key: kafkaedge.HeaderEdge, Value: []byte("received=2026-11-29T08:01:04.12x4Z")}})
	assert.ErrorContains(t, err, "received", "a bad fraction within the cached second is still an error")
}

func TestEdgeReceivedOfECSRecords(t *testing.T) {
	at := time.Date(2026, 11, 29, 9, 0, 0, 5, time.UTC)
	got, ok := kafkaedge.Received(append([]kafkago.Header{{Key: "event.dataset", Value: []byte("x")}},
		kafkaedge.Headers(&pipeline.Event{Received: at, Peer: netip.MustParseAddrPort("192.0.2.1:514")})...))
	assert.True(t, ok)
	assert.True(t, at.Equal(got))
	_, ok = kafkaedge.Received([]kafkago.Header{{Key: kafkaedge.HeaderEdge, Value: []byte("peer=192.0.2.1:514")}})
	assert.False(t, ok)
}

func TestEdgeDecoderAllocatesNothingPerEventOnceWarm(t *testing.T) {
	o := &pipeline.Origin{Source: "syslog_tcp", Transport: "tcp", Location: mustZone(t, "Europe/Prague"), Profile: "p",
		Labels: []pipeline.Label{{Key: "site", Value: "x"}}}
	hs := kafkaedge.Headers(&pipeline.Event{Origin: o, Peer: netip.MustParseAddrPort("192.0.2.1:5000"), Received: time.Now()})
	d := kafkaedge.NewDecoder(nil)
	var ev pipeline.Event
	_, err := d.Apply(&ev, hs)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = d.Apply(&ev, hs)
	})
	assert.Zero(t, allocs)
}

func TestProfileFieldsSurviveAwkwardCharacters(t *testing.T) {
	o := &pipeline.Origin{Source: "s", Location: time.UTC, Profile: "p q", Dataset: "a&b=c",
		Observer: pipeline.Observer{Name: "fw 01+é", Type: "firewall"}, ClockSkew: 90 * time.Second,
		Labels: []pipeline.Label{{Key: "z&k", Value: "x=1&y=%2"}, {Key: "a", Value: " "}}}
	got := &pipeline.Event{}
	ok, err := kafkaedge.Apply(got, kafkaedge.Headers(&pipeline.Event{Origin: o, Received: time.Unix(1, 0)}))
	require.NoError(t, err)
	require.True(t, ok)
	want := *o
	want.Transport = "" // not set at the edge: the decoder's default (none here)
	assert.Equal(t, want, *got.Origin)
}

// fullTLSPeer is a TLS session with every field set, some with characters
// a query string must escape.
func fullTLSPeer() *pipeline.TLSPeer {
	return &pipeline.TLSPeer{Version: "1.3", Cipher: "TLS_AES_128_GCM_SHA256", ServerName: "logs.example.com",
		Subject: "CN=fw01.example.com,O=Šťastná & Syn\\, s.r.o.,C=CZ", Issuer: "CN=Example CA=1,O=Example+Test",
		CommonName: "fw01.example.com", IssuerCommonName: "Example CA=1",
		AlternativeNames: []string{"fw01.example.com", "192.0.2.7", "2001:db8::7", "ops@example.com", "spiffe://example.com/fw?a=1&b=2"},
		SerialNumber:     "1A2B3C4D5E6F", NotBefore: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		NotAfter: time.Date(2027, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)),
		SHA256:   "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}
}

// TestEdgeHeadersCarryTheTLSSession: the indexer rebuilds the TLS session
// and client certificate of the edge's connection (its documents get the
// tls.* fields a direct receipt has), also when a profile matched by
// hostname supplies the rest of the origin; plain events carry none of it.
func TestEdgeHeadersCarryTheTLSSession(t *testing.T) {
	byName := &pipeline.Origin{Source: "syslog_tls", Transport: "tls", Location: time.UTC, Profile: "by_name"}
	profile := pipeline.Origin{Source: "syslog_tls", Transport: "tls", Location: time.UTC, Profile: "by_address",
		ByHostname: func(h string) *pipeline.Origin {
			if h == "fw01" {
				return byName
			}
			return nil
		}}
	conn := profile // a connection's own copy, as the TLS listener makes it
	conn.TLS = fullTLSPeer()
	noCert := profile
	noCert.TLS = &pipeline.TLSPeer{Version: "1.2", Cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
	emptySession := profile
	emptySession.TLS = &pipeline.TLSPeer{}

	d := kafkaedge.NewDecoder(&pipeline.Origin{Source: "indexer_kafka", Transport: "kafka", Location: time.UTC})
	for _, tt := range []struct {
		name     string
		origin   *pipeline.Origin
		hostname string
		profile  string
	}{
		{"full session, profile by address", &conn, "other", "by_address"},
		{"full session, profile by hostname", &conn, "fw01", "by_name"},
		{"no client certificate", &noCert, "", "by_address"},
		{"a session with nothing known", &emptySession, "", "by_address"},
		{"plain tcp", &profile, "fw01", "by_name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := &pipeline.Event{Origin: tt.origin, Received: time.Unix(1, 0), Routes: pipeline.Routes{Hostname: tt.hostname}}
			var e kafkaedge.Encoder
			hs := e.Append(nil, ev)
			got := &pipeline.Event{}
			ok, err := d.Apply(got, hs)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, tt.profile, got.Origin.Profile)
			v, _ := header(hs, kafkaedge.HeaderEdge)
			if tt.origin.TLS == nil {
				assert.NotContains(t, v, "tls.", "plain events carry no TLS keys")
				assert.Nil(t, got.Origin.TLS)
				return
			}
			require.NotNil(t, got.Origin.TLS)
			want, tp := *tt.origin.TLS, *got.Origin.TLS
			assert.True(t, want.NotBefore.Equal(tp.NotBefore), "not_before %s, want %s", tp.NotBefore, want.NotBefore)
			assert.True(t, want.NotAfter.Equal(tp.NotAfter), "not_after %s, want %s", tp.NotAfter, want.NotAfter)
			want.NotBefore, want.NotAfter, tp.NotBefore, tp.NotAfter = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			assert.Equal(t, want, tp)
		})
	}
}

func TestEdgeDecoderReportsBadTLSValues(t *testing.T) {
	hs := []kafkago.Header{{Key: kafkaedge.HeaderEdge,
		Value: []byte("received=1970-01-01T00:00:01Z&source=s&tls.version=1.3&tls.not_after=tomorrow&tls.colour=blue")}}
	got := &pipeline.Event{}
	ok, err := kafkaedge.NewDecoder(nil).Apply(got, hs)
	require.True(t, ok)
	require.ErrorContains(t, err, "tls.not_after")
	require.ErrorContains(t, err, `tls.colour: unknown field`)
	require.NotNil(t, got.Origin.TLS, "what could be read is kept")
	assert.Equal(t, "1.3", got.Origin.TLS.Version)
}

// FuzzEdgeHeader: any siemfwd.edge value decodes without a crash into an
// event with an origin, and the decoder loses nothing the encoder writes:
// once a value decodes without an error, encoding and decoding it again
// gives the same value.
func FuzzEdgeHeader(f *testing.F) {
	prague := mustZone(f, "Europe/Prague")
	conn := &pipeline.Origin{Source: "syslog_tls", Transport: "tls", Location: prague, Profile: "fw",
		Labels: []pipeline.Label{{Key: "site", Value: "brno & co"}}, TLS: fullTLSPeer()}
	file := &pipeline.Origin{Source: "files", Transport: "file", Format: pipeline.FormatLine, Location: time.UTC, FilePath: "a b.log"}
	for _, ev := range []*pipeline.Event{
		{Origin: conn, Received: time.Unix(1, 5), Peer: netip.MustParseAddrPort("192.0.2.1:6514"), Flags: pipeline.FlagSplit},
		{Origin: file, Received: time.Unix(2, 0), Offset: 42},
	} {
		v, _ := header(kafkaedge.Headers(ev), kafkaedge.HeaderEdge)
		f.Add(v)
	}
	f.Add("received=x&tls.not_after=2026-01-01T00:00:00%2B01:00&tls.san=&label.=v&%zz=1")
	// A base without defaults: an empty value ("transport=") then means
	// what the key's absence does, as the encoder assumes.
	base := &pipeline.Origin{Location: time.UTC}
	decode := func(t *testing.T, v string) (*pipeline.Event, error) {
		ev := &pipeline.Event{}
		ok, err := kafkaedge.NewDecoder(base).Apply(ev, []kafkago.Header{{Key: kafkaedge.HeaderEdge, Value: []byte(v)}})
		require.True(t, ok)
		require.NotNil(t, ev.Origin)
		return ev, err
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := decode(t, v)
		if err != nil {
			return
		}
		once, _ := header(kafkaedge.Headers(got), kafkaedge.HeaderEdge)
		again, err := decode(t, once)
		require.NoError(t, err, "from %q", v)
		twice, _ := header(kafkaedge.Headers(again), kafkaedge.HeaderEdge)
		require.Equal(t, once, twice, "from %q", v)
	})
}
