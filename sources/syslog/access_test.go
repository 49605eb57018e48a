package syslog

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/process"
)

// outsider is a second loopback address: Linux routes all of 127.0.0.0/8
// to lo, so a client can bind to it and look like another host.
var outsider = net.ParseIP("127.0.0.2")

func dialFrom(t *testing.T, from net.IP, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: patience, LocalAddr: &net.TCPAddr{IP: from}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func udpFrom(t *testing.T, from net.IP, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.UDPAddr{IP: from}}
	c, err := d.Dial("udp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestAllowListTCP(t *testing.T) {
	for _, proto := range []string{ProtocolTCP, ProtocolTLS} {
		t.Run(proto, func(t *testing.T) {
			var cfg Config
			var p *pki
			if proto == ProtocolTLS {
				p = newPKI(t)
				cfg = p.config(ClientAuthNone)
			} else {
				cfg = tcpConfig()
			}
			cfg.Allow = []string{"127.0.0.1", "10.0.0.0/8"}
			h := start(t, cfg, 16)
			addr := h.src.Addr().String()

			const tries = 3
			for range tries {
				c := dialFrom(t, outsider, addr)
				_, _ = io.WriteString(c, "<13>from outside\n")
				waitClosed(t, c)
			}
			refused := h.m.SourceDropped.WithLabelValues("test", metrics.ReasonNotAllowed)
			poll.Until(t, patience, "refusals counted", func() bool { return value(t, refused) == tries })

			var c net.Conn
			if p != nil {
				c = dialTLS(t, addr, p.clientConfig(nil))
			} else {
				c = dialFrom(t, net.ParseIP("127.0.0.1"), addr)
			}
			_, err := io.WriteString(c, "<13>from inside\n")
			require.NoError(t, err)
			require.Equal(t, []string{"<13>from inside"}, raws(h.events(t, 1)))
			require.Equal(t, float64(tries), value(t, refused), "counted per connection")
			require.Zero(t, value(t, h.m.SourceDropped.WithLabelValues("test", reasonTLSHandshake)), "refused before the handshake")
		})
	}
}

func TestAllowListUDP(t *testing.T) {
	cfg := udpConfig()
	cfg.Allow = []string{"127.0.0.1/32"}
	h := start(t, cfg, 16)
	addr := h.src.Addr().String()
	out := udpFrom(t, outsider, addr)
	const n = 5
	for i := range n {
		_, err := fmt.Fprintf(out, "<13>outside %d", i)
		require.NoError(t, err)
	}
	in := udpFrom(t, net.ParseIP("127.0.0.1"), addr)
	_, err := io.WriteString(in, "<13>inside")
	require.NoError(t, err)
	require.Equal(t, []string{"<13>inside"}, raws(h.events(t, 1)))
	refused := h.m.SourceDropped.WithLabelValues("test", metrics.ReasonNotAllowed)
	poll.Until(t, patience, "every datagram counted", func() bool { return value(t, refused) == n })
	require.Equal(t, 1.0, value(t, h.m.SourceReceived.WithLabelValues("test")))
}

// TestMaxConnectionsPerIP floods from one address: the connections over
// its limit are refused and counted, while its admitted connections and
// another address's keep working.
func TestMaxConnectionsPerIP(t *testing.T) {
	cfg := tcpConfig()
	cfg.MaxConnectionsPerIP = 2
	h := start(t, cfg, 16)
	addr := h.src.Addr().String()
	var admitted []net.Conn
	for i := range 2 {
		c := dialFrom(t, outsider, addr)
		_, err := fmt.Fprintf(c, "<13>admitted %d\n", i)
		require.NoError(t, err)
		h.events(t, 1) // so the source counts it before the flood
		admitted = append(admitted, c)
	}
	const flood = 10
	for range flood {
		c := dialFrom(t, outsider, addr)
		waitClosed(t, c)
		_ = c.Close()
	}
	limited := h.m.SourceDropped.WithLabelValues("test", metrics.ReasonConnLimit)
	poll.Until(t, patience, "refusals counted", func() bool { return value(t, limited) == flood })

	other := dialFrom(t, net.ParseIP("127.0.0.1"), addr)
	_, err := io.WriteString(other, "<13>other host\n")
	require.NoError(t, err)
	require.Equal(t, []string{"<13>other host"}, raws(h.events(t, 1)))
	for i, c := range admitted {
		_, err := fmt.Fprintf(c, "<13>still here %d\n", i)
		require.NoError(t, err)
		require.Equal(t, []string{fmt.Sprintf("<13>still here %d", i)}, raws(h.events(t, 1)))
	}

	// A slot freed by a closing connection can be taken again.
	_ = admitted[0].Close()
	poll.Until(t, patience, "slot freed",
		func() bool { return value(t, h.m.SourceConnections.WithLabelValues("test")) == 2 })
	again := dialFrom(t, outsider, addr)
	_, err = io.WriteString(again, "<13>again\n")
	require.NoError(t, err)
	require.Equal(t, []string{"<13>again"}, raws(h.events(t, 1)))
	require.Equal(t, float64(flood), value(t, limited))
}

func TestRateLimitUDP(t *testing.T) {
	cfg := udpConfig()
	cfg.RateLimit = RateLimitConfig{EventsPerSecond: 10, Burst: 5, MaxSenders: 100}
	clock := newFakeClock()
	h := startWith(t, cfg, 64, func(s *Source) { s.limiter.now = clock.Now })
	c := udpFrom(t, net.ParseIP("127.0.0.1"), h.src.Addr().String())
	received := h.m.SourceReceived.WithLabelValues("test")
	limited := h.m.SourceDropped.WithLabelValues("test", metrics.ReasonRateLimited)
	send := func(n int) {
		for i := range n {
			_, err := fmt.Fprintf(c, "<13>m%d", i)
			require.NoError(t, err)
		}
	}
	send(20) // the clock stands still: the burst passes, the rest is dropped
	poll.Until(t, patience, "20 datagrams seen", func() bool { return value(t, received)+value(t, limited) == 20 })
	require.Equal(t, 5.0, value(t, received))
	require.Equal(t, 15.0, value(t, limited))

	clock.Advance(300 * time.Millisecond) // 3 tokens
	send(10)
	poll.Until(t, patience, "30 datagrams seen", func() bool { return value(t, received)+value(t, limited) == 30 })
	require.Equal(t, 8.0, value(t, received))

	clock.Advance(time.Hour) // refills to the burst, not beyond
	send(10)
	poll.Until(t, patience, "40 datagrams seen", func() bool { return value(t, received)+value(t, limited) == 40 })
	require.Equal(t, 13.0, value(t, received))
	require.Equal(t, 27.0, value(t, limited))

	// Another sender has its own bucket.
	o := udpFrom(t, outsider, h.src.Addr().String())
	_, err := io.WriteString(o, "<13>other")
	require.NoError(t, err)
	poll.Until(t, patience, "other sender passes", func() bool { return value(t, received) == 14 })
}

// TestRateLimitTCP checks that a TCP sender over its rate is slowed, not
// dropped: every event arrives, and the source waited exactly as long as
// the rate demands. The fake sleep advances the fake clock.
func TestRateLimitTCP(t *testing.T) {
	cfg := tcpConfig()
	cfg.BatchEvents = 16
	cfg.RateLimit = RateLimitConfig{EventsPerSecond: 100, Burst: 10, MaxSenders: 100}
	clock := newFakeClock()
	var (
		mu    sync.Mutex
		slept time.Duration
	)
	h := startWith(t, cfg, 64, func(s *Source) {
		s.limiter.now = clock.Now
		s.limiter.sleep = func(_ context.Context, d time.Duration) {
			mu.Lock()
			slept += d
			mu.Unlock()
			clock.Advance(d)
		}
	})
	c := h.dial(t)
	const n = 110
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "<13>m%d\n", i)
	}
	_, err := io.WriteString(c, sb.String())
	require.NoError(t, err)
	evs := h.events(t, n)
	require.Equal(t, "<13>m109", string(evs[n-1].Raw))
	mu.Lock()
	defer mu.Unlock()
	// (110 events - 10 burst) / 100 per second, however the frames were batched.
	require.InDelta(t, time.Second.Seconds(), slept.Seconds(), 1e-6)
	require.Zero(t, value(t, h.m.SourceDropped.WithLabelValues("test", metrics.ReasonRateLimited)))
}

// TestRateLimitTCPBackpressureIsPerSender holds one sender in its wait and
// checks that another sender's events still flow.
func TestRateLimitTCPBackpressureIsPerSender(t *testing.T) {
	cfg := tcpConfig()
	cfg.RateLimit = RateLimitConfig{EventsPerSecond: 1, Burst: 2, MaxSenders: 100}
	clock := newFakeClock()
	waiting := make(chan struct{}, 8)
	release := make(chan struct{})
	h := startWith(t, cfg, 64, func(s *Source) {
		s.limiter.now = clock.Now
		s.limiter.sleep = func(ctx context.Context, d time.Duration) {
			waiting <- struct{}{}
			select {
			case <-release:
				clock.Advance(d)
			case <-ctx.Done():
			}
		}
	})
	addr := h.src.Addr().String()
	noisy := dialFrom(t, outsider, addr)
	_, err := io.WriteString(noisy, "<13>n1\n<13>n2\n<13>n3\n")
	require.NoError(t, err)
	select {
	case <-waiting: // the noisy sender is held in its wait now
	case <-time.After(patience):
		t.Fatal("the noisy sender never had to wait")
	}
	var got []string

	quiet := dialFrom(t, net.ParseIP("127.0.0.1"), addr)
	_, err = io.WriteString(quiet, "<13>q1\n")
	require.NoError(t, err)
	for !contains(got, "<13>q1") {
		select {
		case b := <-h.out:
			got = append(got, raws(b.Events)...)
		case <-time.After(patience):
			t.Fatalf("the quiet sender was held up by the noisy one: %q", got)
		}
	}
	require.Less(t, countPrefix(got, "<13>n"), 3, "the noisy sender's events passed its limit")
	close(release)
	for countPrefix(got, "<13>n") < 3 {
		select {
		case b := <-h.out:
			got = append(got, raws(b.Events)...)
		case <-time.After(patience):
			t.Fatalf("noisy sender's events lost after the wait: %q", got)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func countPrefix(s []string, p string) int {
	n := 0
	for _, x := range s {
		if strings.HasPrefix(x, p) {
			n++
		}
	}
	return n
}

func TestRateLimiterEvictsLeastRecentlyUsed(t *testing.T) {
	l := newRateLimiter(RateLimitConfig{EventsPerSecond: 1, Burst: 1, MaxSenders: 2})
	clock := newFakeClock()
	l.now = clock.Now
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::3")
	require.True(t, l.allow(a))
	require.True(t, l.allow(b))
	require.False(t, l.allow(a)) // a is empty and now the most recent
	require.True(t, l.allow(c))  // evicts b, the least recently used
	require.Equal(t, 2, l.len())
	require.False(t, l.allow(a), "a kept its empty bucket")
	require.True(t, l.allow(b), "b was evicted and starts with a full burst")
	require.Equal(t, 2, l.len())

	require.Nil(t, newRateLimiter(RateLimitConfig{MaxSenders: 5}), "0 events per second turns it off")
	d := newRateLimiter(RateLimitConfig{EventsPerSecond: 50, MaxSenders: 5})
	require.Equal(t, 50.0, d.burst, "burst 0 means one second's worth")
	d.now = clock.Now
	require.Equal(t, time.Duration(0), d.reserve(a, 50))
	require.Equal(t, 2*time.Second, d.reserve(a, 100))
}

func TestProfilesByAddress(t *testing.T) {
	for _, proto := range []string{ProtocolUDP, ProtocolTCP} {
		t.Run(proto, func(t *testing.T) {
			cfg := profileConfig()
			cfg.Protocol = proto
			h := start(t, cfg, 16)
			addr := h.src.Addr().String()
			send := func(from net.IP, msg string) {
				var c net.Conn
				if proto == ProtocolUDP {
					c = udpFrom(t, from, addr)
				} else {
					c = dialFrom(t, from, addr)
					msg += "\n"
				}
				_, err := io.WriteString(c, msg)
				require.NoError(t, err)
			}
			send(outsider, "<13>from the branch")
			evs := h.events(t, 1)
			o := evs[0].Origin
			require.Equal(t, "branch", o.Profile)
			require.Equal(t, "Europe/Prague", o.Location.String())
			require.Equal(t, "kerio_control", o.Product)
			require.Equal(t, "kerio_control.security", o.Dataset)
			require.Equal(t, pipeline.Observer{Name: "fw-branch", Vendor: "Kerio", Product: "Kerio Control", Type: "firewall"}, o.Observer)
			require.Equal(t, []pipeline.Label{{Key: "env", Value: "prod"}, {Key: "site", Value: "brno"}}, o.Labels)
			require.Equal(t, 2*time.Minute, o.ClockSkew)
			require.Equal(t, "test", o.Source)
			require.Equal(t, proto, o.Transport)

			send(net.ParseIP("127.0.0.1"), "<13>from the lab")
			evs = h.events(t, 1)
			base := evs[0].Origin
			require.Empty(t, base.Profile)
			require.Equal(t, "UTC", base.Location.String())
			require.Equal(t, 5*time.Minute, base.ClockSkew, "the source's clock_skew")
			require.NotNil(t, base.ByHostname)

			// Events of one profile share one Origin.
			send(outsider, "<13>again")
			require.Same(t, o, h.events(t, 1)[0].Origin)
		})
	}
}

func profileConfig() Config {
	cfg := udpConfig()
	cfg.ClockSkew = 5 * time.Minute
	cfg.Profiles = []ProfileConfig{
		{Name: "mail", Match: MatchConfig{Hostnames: []string{"MX*.contoso.example"}},
			Product: "kerio_connect", Dataset: "kerio_connect.mail"},
		{Name: "branch", Match: MatchConfig{Addresses: []string{"127.0.0.2", "192.0.2.0/24"}, Hostnames: []string{"fw-branch"}},
			Timezone: "Europe/Prague", Product: "kerio_control", Dataset: "kerio_control.security",
			Observer:  ObserverConfig{Name: "fw-branch", Vendor: "Kerio", Product: "Kerio Control", Type: "firewall"},
			Labels:    map[string]string{"site": "brno", "env": "prod"},
			ClockSkew: 2 * time.Minute},
		{Name: "lab", Match: MatchConfig{Addresses: []string{"192.0.2.128/25"}, Hostnames: []string{"lab-[0-9]*", "exact.lab"}}},
	}
	return cfg
}

func TestProfilesByHostname(t *testing.T) {
	s, err := newSenders("src", profileConfig())
	require.NoError(t, err)
	byName := func(o *pipeline.Origin, host string) string {
		if o.ByHostname == nil {
			return "<no lookup>"
		}
		if p := o.ByHostname(host); p != nil {
			return p.Profile
		}
		return "<none>"
	}
	base := s.base
	branch := s.origin(netip.MustParseAddr("127.0.0.2"))
	require.Equal(t, "branch", branch.Profile)
	require.Equal(t, "branch", s.origin(netip.MustParseAddr("192.0.2.200")).Profile,
		"192.0.2.200 is in both branch and lab: the first profile wins")
	lab := s.origins[2]
	require.Equal(t, "lab", lab.Profile)

	tests := []struct {
		origin *pipeline.Origin
		host   string
		want   string
	}{
		{base, "mx01.contoso.example", "mail"},
		{base, "MX01.Contoso.Example", "mail"}, // case-insensitive
		{base, "mx.contoso.example.evil", "<none>"},
		{base, "fw-branch", "branch"},
		{base, "FW-BRANCH", "branch"},
		{base, "lab-7", "lab"},
		{base, "exact.lab", "lab"},
		{base, "lab-x", "<none>"},
		{base, "", "<none>"},
		// Matched by address to "branch": only an earlier profile's hostname can take it over.
		{branch, "mx02.contoso.example", "mail"},
		{branch, "lab-7", "<none>"},
		{branch, "fw-branch", "<none>"},
		{lab, "fw-branch", "branch"},
		{lab, "exact.lab", "<none>"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, byName(tt.origin, tt.host), "%s from %q", tt.host, tt.origin.Profile)
	}
	// The first profile has nobody before it: no lookup at all.
	mail, err := profileOrigin(s.base, profileConfig().Profiles[0])
	require.NoError(t, err)
	require.Nil(t, newHostMatcher(profileConfig().Profiles, []*pipeline.Origin{mail}).before(0))

	// Without hostname profiles the worker makes no call.
	cfg := udpConfig()
	cfg.Profiles = []ProfileConfig{{Name: "a", Match: MatchConfig{Addresses: []string{"10.0.0.1"}}}}
	s, err = newSenders("src", cfg)
	require.NoError(t, err)
	require.Nil(t, s.base.ByHostname)
}

// TestProfileReachesTheDocument runs the worker's processor on an event
// from a profiled sender, to check the two halves fit: the source picks
// the Origin, the worker writes its fields.
func TestProfileReachesTheDocument(t *testing.T) {
	s, err := newSenders("syslog_udp", profileConfig())
	require.NoError(t, err)
	p := process.NewECSProcessor(process.ProcessOptions{Namespace: "default"}, metrics.New())
	received := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		from, raw, wantProfile, wantTag string
	}{
		{"127.0.0.2", "<13>Apr  1 14:00:00 fw-branch kernel: hello", "branch", ""},
		{"127.0.0.1", "<13>Apr  1 12:00:00 MX07.contoso.example app: hello", "mail", ""},
		{"127.0.0.1", "<13>Apr  1 11:50:00 somewhere app: late", "", "_clock_skew"},
	} {
		peer := netip.MustParseAddr(tt.from)
		ev := &pipeline.Event{Raw: []byte(tt.raw), Received: received, Origin: s.origin(peer),
			Peer: netip.AddrPortFrom(peer, 514)}
		p.Process(ev)
		doc := string(ev.JSON)
		if tt.wantProfile != "" {
			require.Contains(t, doc, `"siemfwd_profile":"`+tt.wantProfile+`"`, doc)
		} else {
			require.NotContains(t, doc, "siemfwd_profile", doc)
		}
		if tt.wantTag != "" {
			require.Contains(t, doc, tt.wantTag, doc)
		} else {
			require.NotContains(t, doc, "_clock_skew", doc)
		}
	}
}

func TestSendersAllow(t *testing.T) {
	cfg := udpConfig()
	cfg.Allow = []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::ffff:198.51.100.0/120"}
	s, err := newSenders("x", cfg)
	require.NoError(t, err)
	for addr, want := range map[string]bool{
		"10.1.2.3": true, "11.0.0.1": false, "192.0.2.7": true, "192.0.2.8": false,
		"2001:db8::1": true, "2001:db9::1": false, "198.51.100.9": true, "198.51.101.9": false,
	} {
		require.Equal(t, want, s.allowed(netip.MustParseAddr(addr)), addr)
	}
	open, err := newSenders("x", udpConfig())
	require.NoError(t, err)
	require.True(t, open.allowed(netip.MustParseAddr("203.0.113.1")), "empty allow-list lets everyone")

	var pc peerCache
	a := netip.MustParseAddr("10.9.9.9")
	ok, o := pc.lookup(s, a)
	require.True(t, ok)
	require.Same(t, s.base, o)
	ok, _ = pc.lookup(s, netip.MustParseAddr("11.0.0.1"))
	require.False(t, ok, "the cache follows the address")
}

// TestPrefixTableMatchesLinearScan checks the per-length maps of a long
// table against the plain scan: same first (smallest) index, or none.
func TestPrefixTableMatchesLinearScan(t *testing.T) {
	var pfx []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "192.0.2.0/24",
		"0.0.0.0/0", "2001:db8::/32", "2001:db8:1::/48", "::1/128", "10.1.0.0/16", "198.51.100.0/25",
		"198.51.100.128/25", "2001:db8::/32", "172.16.0.0/12"} {
		pfx = append(pfx, netip.MustParsePrefix(s))
	}
	for _, rotate := range []int{0, 3, 7} { // the order decides the index
		var tab prefixTable
		order := append(append([]netip.Prefix(nil), pfx[rotate:]...), pfx[:rotate]...)
		for i, p := range order {
			tab.add(p, i)
		}
		require.NotNil(t, tab.byLen, "a table this long uses the maps")
		for _, s := range []string{"10.1.2.3", "10.1.2.4", "10.9.9.9", "192.0.2.1", "8.8.8.8", "198.51.100.200",
			"2001:db8:1::5", "2001:db8:2::5", "::1", "2001:db9::1", "172.20.0.1"} {
			a := netip.MustParseAddr(s)
			want, wantOK := -1, false
			for i, p := range order {
				if p.Contains(a) {
					want, wantOK = i, true
					break
				}
			}
			got, ok := tab.lookup(a)
			require.Equal(t, wantOK, ok, s)
			if ok {
				require.Equal(t, want, got, "%s, rotation %d", s, rotate)
			}
		}
	}
}
