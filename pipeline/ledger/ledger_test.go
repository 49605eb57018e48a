package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a clock that moves only when told to.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func senderAt(t testing.TB, l *Ledger, addr string) Sender {
	t.Helper()
	for _, s := range l.Snapshot() {
		if s.Address == ip(addr) {
			return s
		}
	}
	t.Fatalf("sender %s not in the ledger", addr)
	return Sender{}
}

func requireBalanced(t testing.TB, s Sender) {
	t.Helper()
	if s.Received != s.Delivered+s.DroppedTotal()+s.InFlight {
		t.Fatalf("sender %s unbalanced: received %d != delivered %d + dropped %d %v + in_flight %d",
			s.Address, s.Received, s.Delivered, s.DroppedTotal(), s.Dropped, s.InFlight)
	}
}

func TestCounts(t *testing.T) {
	clock := newFakeClock()
	l := New(DefaultConfig(), clock.now)
	a := ip("192.0.2.7")

	first := clock.now()
	t1 := l.Received(a, "fw01", 10)
	clock.advance(time.Second)
	t2 := l.Received(netip.AddrFrom16(a.As16()), "", 5) // IPv4-mapped: the same sender
	l.Done(t1, 7, "")
	l.Done(t1, 3, "queue_full")
	l.Dropped(a, 2, "rate_limited")
	l.Dropped(a, 1, "")

	s := senderAt(t, l, "192.0.2.7")
	assert.Equal(t, Sender{
		Address: a, Hostname: "fw01", FirstSeen: first.UTC(), LastSeen: clock.now().UTC(),
		Received: 18, Delivered: 7, InFlight: 5,
		Dropped: map[string]uint64{"queue_full": 3, "rate_limited": 2, ReasonUnknown: 1},
	}, s)
	requireBalanced(t, s)

	// Done never settles more than is in flight.
	l.Done(t2, 50, "shutdown")
	s = senderAt(t, l, "192.0.2.7")
	assert.Equal(t, uint64(0), s.InFlight)
	assert.Equal(t, uint64(5), s.Dropped["shutdown"])
	requireBalanced(t, s)

	// IPv6 zones are ignored.
	zoned := ip("fe80::1%eth0")
	l.Done(l.Received(zoned, "", 1), 1, "")
	var tl Tally
	tl.Add(zoned, "")
	tl.Add(ip("fe80::1"), "")
	l.ReceivedTally(&tl)
	link := senderAt(t, l, "fe80::1")
	assert.Equal(t, uint64(3), link.Received)
	assert.Equal(t, uint64(2), link.InFlight)
	l.DoneTally(&tl, "")

	// Zero and negative counts change nothing.
	l.Received(a, "x", 0)
	l.Dropped(a, -1, "x")
	l.Done(t2, 0, "")
	l.Done(Ticket{}, 5, "")
	assert.Equal(t, s, senderAt(t, l, "192.0.2.7"))
}

func TestNoAddressIsOneSender(t *testing.T) {
	l := New(DefaultConfig(), nil)
	l.Done(l.Received(netip.Addr{}, "", 3), 3, "")
	l.Received(netip.Addr{}, "", 1)
	snap := l.Snapshot()
	require.Len(t, snap, 1)
	assert.False(t, snap[0].Address.IsValid())
	assert.Equal(t, uint64(4), snap[0].Received)
	assert.Equal(t, uint64(1), snap[0].InFlight)
}

func TestDropReasonsAreBounded(t *testing.T) {
	l := New(DefaultConfig(), nil)
	a := ip("192.0.2.1")
	for i := range 40 {
		l.Dropped(a, 1, fmt.Sprintf("reason_%d", i))
	}
	s := senderAt(t, l, "192.0.2.1")
	assert.Len(t, s.Dropped, maxReasons)
	assert.Equal(t, uint64(40-(maxReasons-1)), s.Dropped[ReasonOther])
	requireBalanced(t, s)
}

func TestHostnameIsCopiedAndClipped(t *testing.T) {
	l := New(DefaultConfig(), nil)
	buf := []byte("mail01 rest of the message")
	host := unsafeString(buf[:6])
	tk := l.Received(ip("192.0.2.1"), host, 1)
	copy(buf, "XXXXXX")
	assert.Equal(t, "mail01", senderAt(t, l, "192.0.2.1").Hostname)
	l.Done(tk, 1, "")

	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'h'
	}
	l.Received(ip("192.0.2.1"), string(long), 1)
	assert.Len(t, senderAt(t, l, "192.0.2.1").Hostname, maxHostname)
	// "" keeps the last hostname.
	l.Received(ip("192.0.2.1"), "", 1)
	assert.Len(t, senderAt(t, l, "192.0.2.1").Hostname, maxHostname)
}

func TestSnapshotIsSorted(t *testing.T) {
	l := New(DefaultConfig(), nil)
	for _, a := range []string{"10.0.0.2", "2001:db8::1", "10.0.0.10", "10.0.0.1"} {
		l.Received(ip(a), "", 1)
	}
	l.Received(netip.Addr{}, "", 1)
	var got []string
	for _, s := range l.Snapshot() {
		got = append(got, s.Address.String())
	}
	assert.Equal(t, []string{"invalid IP", "10.0.0.1", "10.0.0.2", "10.0.0.10", "2001:db8::1"}, got)
}

// TestBalanceUnderLoad hammers the ledger from many goroutines with random
// outcomes while a reader checks the balance of every sender at every read.
func TestBalanceUnderLoad(t *testing.T) {
	for _, tt := range []struct {
		name       string
		maxSenders int
		shards     int
	}{
		{"one shard, no eviction", 1000, 1},
		{"sharded, no eviction", 1000, 16},
		{"sharded, evicting", 40, 4},
		{"one shard, evicting", 40, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxSenders = tt.maxSenders
			l := newLedger(cfg, nil, tt.shards)
			const writers, rounds, senders = 8, 3000, 200
			reasons := []string{"queue_full", "shutdown", "dead_lettered"}

			// What the writers did, per address, to compare at the end.
			type totals struct{ received, delivered, dropped atomic.Uint64 }
			want := make([]totals, senders)
			addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, byte(i >> 8), byte(i)}) }

			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(w), 42))
					// open holds settle funcs for what entered and is not done yet.
					var open []func(reason string)
					outcome := func(idx []int, n int, settle func(string)) {
						reason := ""
						if r.IntN(4) == 0 {
							reason = reasons[r.IntN(len(reasons))]
						}
						for _, i := range idx {
							if reason == "" {
								want[i].delivered.Add(uint64(n))
							} else {
								want[i].dropped.Add(uint64(n))
							}
						}
						settle(reason)
					}
					for range rounds {
						i, n := r.IntN(senders), 1+r.IntN(5)
						switch r.IntN(6) {
						case 0:
							l.Dropped(addr(i), n, reasons[0])
							want[i].received.Add(uint64(n))
							want[i].dropped.Add(uint64(n))
						case 1: // a batch of events from a few senders
							tl := &Tally{}
							var idx []int
							for range n {
								j := r.IntN(senders)
								tl.Add(addr(j), fmt.Sprint("host", j))
								idx = append(idx, j)
								want[j].received.Add(1)
							}
							if r.IntN(5) == 0 {
								l.DroppedTally(tl, reasons[0])
								for _, j := range idx {
									want[j].dropped.Add(1)
								}
								continue
							}
							l.ReceivedTally(tl)
							open = append(open, func(string) {
								outcome(idx, 1, func(reason string) { l.DoneTally(tl, reason) })
							})
						default:
							tk := l.Received(addr(i), fmt.Sprint("host", i), n)
							want[i].received.Add(uint64(n))
							open = append(open, func(string) {
								outcome([]int{i}, n, func(reason string) { l.Done(tk, n, reason) })
							})
						}
						// Settle some of what is open, out of order.
						for len(open) > 0 && r.IntN(3) > 0 {
							k := r.IntN(len(open))
							open[k]("")
							open[k] = open[len(open)-1]
							open = open[:len(open)-1]
						}
					}
					for _, settle := range open {
						settle("")
					}
				}()
			}
			writersDone := make(chan struct{})
			go func() { wg.Wait(); close(writersDone) }()

			reads := 0
			for done := false; !done || reads < 20; reads++ {
				select {
				case <-writersDone:
					done = true
				default:
				}
				snap := l.Snapshot()
				require.LessOrEqual(t, len(snap), tt.maxSenders)
				for _, s := range snap {
					requireBalanced(t, s)
				}
			}
			t.Logf("%d reads, %d evictions", reads, l.Evictions())

			snap := l.Snapshot()
			if tt.maxSenders >= senders {
				require.Zero(t, l.Evictions())
				require.Len(t, snap, senders)
				for _, s := range snap {
					i := int(s.Address.As4()[2])<<8 | int(s.Address.As4()[3])
					assert.Equal(t, want[i].received.Load(), s.Received, s.Address)
					assert.Equal(t, want[i].delivered.Load(), s.Delivered, s.Address)
					assert.Equal(t, want[i].dropped.Load(), s.DroppedTotal(), s.Address)
					assert.Zero(t, s.InFlight, s.Address)
				}
			} else {
				require.Positive(t, l.Evictions())
				require.Len(t, snap, tt.maxSenders)
				for _, s := range snap {
					// Done for events of a former record of the same address was ignored.
					assert.LessOrEqual(t, s.Received, want[int(s.Address.As4()[3])|int(s.Address.As4()[2])<<8].received.Load())
				}
			}
		})
	}
}

func TestLRUEviction(t *testing.T) {
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.MaxSenders = 3
	cfg.ExpectedSenders = []ExpectedSender{{Address: "10.0.0.99", Hostname: "core", Interval: time.Hour}}
	l := New(cfg, clock.now)
	addresses := func() []string {
		var out []string
		for _, s := range l.Snapshot() {
			out = append(out, s.Address.String())
		}
		return out
	}

	t1 := l.Received(ip("10.0.0.1"), "", 1)
	t2 := l.Received(ip("10.0.0.2"), "", 2)
	l.Received(ip("10.0.0.3"), "", 1)
	clock.advance(time.Second)
	l.Dropped(ip("10.0.0.1"), 1, "queue_full") // heard again: now the most recent
	clock.advance(time.Second)
	l.Done(t1, 1, "") // settling is not hearing
	require.Equal(t, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.99"}, addresses())
	require.Equal(t, 4, l.Len())

	l.Received(ip("10.0.0.4"), "", 1) // evicts .2, the least recently heard, with 2 in flight
	assert.Equal(t, []string{"10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.99"}, addresses())
	assert.Equal(t, uint64(1), l.Evictions())

	// .2 comes back as a new record; the old record's Done is ignored.
	t2b := l.Received(ip("10.0.0.2"), "", 1) // evicts .3
	l.Done(t2, 2, "")
	s := senderAt(t, l, "10.0.0.2")
	assert.Equal(t, uint64(1), s.Received)
	assert.Equal(t, uint64(1), s.InFlight)
	assert.Zero(t, s.Delivered)
	l.Done(t2b, 1, "")
	assert.Equal(t, uint64(1), senderAt(t, l, "10.0.0.2").Delivered)
	assert.Equal(t, uint64(2), l.Evictions())

	// The expected sender was never evicted, and is listed before it speaks.
	core := senderAt(t, l, "10.0.0.99")
	assert.True(t, core.Expected)
	assert.Equal(t, "core", core.Hostname)
	assert.True(t, core.FirstSeen.IsZero())
	for _, s := range l.Snapshot() {
		requireBalanced(t, s)
	}
}

func TestLRUResolution(t *testing.T) {
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.MaxSenders = 2
	l := New(cfg, clock.now)
	l.Received(ip("10.0.0.1"), "", 1)
	l.Received(ip("10.0.0.2"), "", 1)
	clock.advance(time.Duration(lruResolution / 2))
	l.Received(ip("10.0.0.1"), "", 1) // within the resolution: keeps its place
	l.Received(ip("10.0.0.3"), "", 1) // evicts .1, whose place is from its first event
	var got []string
	for _, s := range l.Snapshot() {
		got = append(got, s.Address.String())
	}
	assert.Equal(t, []string{"10.0.0.2", "10.0.0.3"}, got)
}

func TestShardedCapIsExact(t *testing.T) {
	l := New(DefaultConfig(), nil)
	require.Len(t, l.shards, maxShards)
	const n = 20000
	for i := range n {
		l.Received(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), "", 1)
	}
	// Every shard got far more than its share, so every one is full.
	assert.Equal(t, DefaultConfig().MaxSenders, l.Len())
	assert.Equal(t, uint64(n-DefaultConfig().MaxSenders), l.Evictions())
}

func TestQuietAndWatch(t *testing.T) {
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.DefaultInterval = time.Hour
	cfg.ExpectedSenders = []ExpectedSender{
		{Address: "10.0.0.5", Hostname: "mail01", Interval: 5 * time.Minute},
		{Address: "10.0.0.6", Hostname: "fw01"}, // takes default_interval
	}
	l := New(cfg, clock.now)
	var emitted []string
	check := func() []string {
		emitted = nil
		l.check(func(s Sender) { emitted = append(emitted, s.Address.String()+" "+s.Hostname) })
		return emitted
	}
	quiet := func() map[string]bool {
		out := map[string]bool{}
		for _, s := range l.Snapshot() {
			out[s.Address.String()] = s.Quiet
		}
		return out
	}

	l.Received(ip("192.0.2.1"), "laptop", 1) // unknown sender: default_interval
	require.Empty(t, check())
	clock.advance(5 * time.Minute)
	require.Empty(t, check(), "exactly the interval is not yet quiet")

	clock.advance(time.Second)
	// mail01 never spoke: quiet since the ledger started.
	assert.Equal(t, []string{"10.0.0.5 mail01"}, check())
	assert.Empty(t, check(), "one alert per silence")
	assert.Equal(t, map[string]bool{"192.0.2.1": false, "10.0.0.5": true, "10.0.0.6": false}, quiet())
	assert.Equal(t, 1, l.Quiet())

	l.Received(ip("10.0.0.5"), "mail01.example", 3)
	assert.False(t, quiet()["10.0.0.5"])
	clock.advance(4 * time.Minute)
	assert.Empty(t, check())
	clock.advance(2 * time.Minute)
	assert.Equal(t, []string{"10.0.0.5 mail01.example"}, check(), "spoke, then quiet again: a new alert")

	clock.advance(55 * time.Minute) // 61 minutes since the start
	assert.Equal(t, []string{"10.0.0.6 fw01", "192.0.2.1 laptop"}, check())
	assert.Equal(t, uint64(4), l.Alerts())

	// A sender refused at the door still counts as heard.
	l.Dropped(ip("10.0.0.6"), 1, "not_allowed")
	assert.False(t, quiet()["10.0.0.6"])
}

func TestUnknownSendersNeverQuietByDefault(t *testing.T) {
	clock := newFakeClock()
	l := New(DefaultConfig(), clock.now)
	l.Received(ip("192.0.2.1"), "", 1)
	clock.advance(1000 * time.Hour)
	l.check(func(s Sender) { t.Errorf("unexpected alert for %s", s.Address) })
	assert.False(t, l.Snapshot()[0].Quiet)
}

func TestWatch(t *testing.T) {
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.ExpectedSenders = []ExpectedSender{{Address: "10.0.0.5", Interval: time.Minute}}
	l := New(cfg, clock.now)
	ticks := make(chan time.Time)
	alerts := make(chan Sender, 10)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		l.watch(ctx, ticks, func(s Sender) {
			l.Received(netip.Addr{}, "", 1) // emit may use the ledger: no lock is held
			alerts <- s
		})
	}()

	ticks <- clock.now()
	clock.advance(2 * time.Minute)
	ticks <- clock.now()
	ticks <- clock.now() // an unbuffered send returns only once the previous check is done
	cancel()
	<-stopped
	close(alerts)
	var got []string
	for s := range alerts {
		got = append(got, s.Address.String())
	}
	assert.Equal(t, []string{"10.0.0.5"}, got)
}

func TestWatchStopsWithContext(t *testing.T) {
	l := New(DefaultConfig(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		l.Watch(ctx, time.Hour, func(Sender) {})
	}()
	cancel()
	<-stopped
}

func TestTally(t *testing.T) {
	l := New(DefaultConfig(), nil)
	a, b := ip("10.0.0.1"), ip("10.0.0.2")
	var tl Tally
	buf := []byte("hostA")
	for range 3 {
		tl.Add(a, unsafeString(buf))
	}
	tl.Add(b, "")
	tl.Add(a, "") // within the look-back: merged
	for i := range 10 {
		tl.Add(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), "")
	}
	tl.Add(a, "") // beyond the look-back: a second item for a
	assert.Equal(t, 16, tl.Len())
	assert.Len(t, tl.items, 13)

	l.ReceivedTally(&tl)
	copy(buf, "XXXXX")
	s := senderAt(t, l, "10.0.0.1")
	assert.Equal(t, uint64(5), s.InFlight)
	assert.Equal(t, "hostA", s.Hostname)

	l.DoneTally(&tl, "shutdown")
	s = senderAt(t, l, "10.0.0.1")
	assert.Zero(t, s.InFlight)
	assert.Equal(t, map[string]uint64{"shutdown": 5}, s.Dropped)
	assert.Equal(t, uint64(1), senderAt(t, l, "10.0.0.2").Dropped["shutdown"])

	// A batch refused at the door.
	var refused Tally
	refused.Add(b, "")
	refused.Add(netip.AddrFrom16(b.As16()), "") // the same sender, IPv4-mapped
	l.DroppedTally(&refused, "queue_full")
	s = senderAt(t, l, "10.0.0.2")
	assert.Equal(t, uint64(3), s.Received)
	assert.Equal(t, map[string]uint64{"shutdown": 1, "queue_full": 2}, s.Dropped)
	requireBalanced(t, s)

	// Empty tallies change nothing.
	var empty Tally
	l.ReceivedTally(&empty)
	l.DoneTally(&empty, "")
	l.DroppedTally(&empty, "x")
}

func TestNilLedger(t *testing.T) {
	var l *Ledger
	tk := l.Received(ip("10.0.0.1"), "", 1)
	l.Done(tk, 1, "")
	l.Dropped(ip("10.0.0.1"), 1, "x")
	var tl Tally
	tl.Add(ip("10.0.0.1"), "")
	l.ReceivedTally(&tl)
	l.DoneTally(&tl, "")
	assert.Nil(t, l.Snapshot())
	assert.Zero(t, l.Len())
	assert.Zero(t, l.Evictions())
	assert.Zero(t, l.Quiet())
	assert.Zero(t, l.Alerts())
	assert.NoError(t, l.Register(prometheus.NewRegistry()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.Watch(ctx, time.Second, func(Sender) {})
}

func TestRegister(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSenders = 2
	l := New(cfg, nil)
	reg := prometheus.NewRegistry()
	require.NoError(t, l.Register(reg))
	require.Error(t, l.Register(reg), "registering twice must fail")
	for i := range 3 {
		l.Received(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), "", 1)
	}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			got[mf.GetName()] = m.GetCounter().GetValue()
		} else {
			got[mf.GetName()] = m.GetGauge().GetValue()
		}
	}
	assert.Equal(t, map[string]float64{
		"siemfwd_ledger_senders":              2,
		"siemfwd_ledger_capacity_senders":     2,
		"siemfwd_ledger_evictions_total":      1,
		"siemfwd_ledger_quiet_senders":        0,
		"siemfwd_ledger_silence_alerts_total": 0,
	}, got)
}

func TestShardCount(t *testing.T) {
	for _, tt := range []struct{ max, shards int }{
		{1, 1}, {100, 1}, {127, 1}, {128, 2}, {1000, 8}, {10000, 16}, {1 << 20, 16},
	} {
		cfg := DefaultConfig()
		cfg.MaxSenders = tt.max
		l := New(cfg, nil)
		assert.Len(t, l.shards, tt.shards, "max_senders %d", tt.max)
		total := 0
		for i := range l.shards {
			total += l.shards[i].max
		}
		assert.Equal(t, tt.max, total, "shards share max_senders exactly")
	}
}

func TestDoneTallyLosingDropsOnlyTheLostEvents(t *testing.T) {
	l := New(DefaultConfig(), newFakeClock().now)
	a, b := ip("192.0.2.1"), ip("192.0.2.2")
	tally := &Tally{}
	for _, addr := range []netip.Addr{a, a, b, a, b} {
		tally.Add(addr, "")
	}
	l.ReceivedTally(tally)
	l.DoneTallyLosing(tally, []Loss{{Addr: a, Reason: "dead_letter_failed"}, {Addr: b, Reason: "refused"},
		{Addr: b, Reason: "refused"}, {Addr: b, Reason: "refused"}}) // one loss more than b sent: ignored
	sa, sb := senderAt(t, l, "192.0.2.1"), senderAt(t, l, "192.0.2.2")
	requireBalanced(t, sa)
	requireBalanced(t, sb)
	require.EqualValues(t, 2, sa.Delivered)
	require.Equal(t, map[string]uint64{"dead_letter_failed": 1}, sa.Dropped)
	require.EqualValues(t, 0, sb.Delivered)
	require.Equal(t, map[string]uint64{"refused": 2}, sb.Dropped)
}

func TestUndeliverTakesFromDeliveredThenFromInFlight(t *testing.T) {
	l := New(DefaultConfig(), newFakeClock().now)
	a := ip("192.0.2.1")
	first := l.Received(a, "", 2)
	l.Done(first, 2, "")
	l.Undeliver(a, 1, "dead_letter_failed")
	s := senderAt(t, l, "192.0.2.1")
	requireBalanced(t, s)
	require.EqualValues(t, 1, s.Delivered)

	// A disk-buffered sink may lose an event before its acknowledgement is settled.
	second := l.Received(a, "", 3)
	l.Undeliver(a, 2, "dead_letter_failed") // one from delivered, one from in flight
	requireBalanced(t, senderAt(t, l, "192.0.2.1"))
	l.Done(second, 3, "")
	s = senderAt(t, l, "192.0.2.1")
	requireBalanced(t, s)
	require.EqualValues(t, 5, s.Received)
	require.EqualValues(t, 2, s.Delivered)
	require.Equal(t, map[string]uint64{"dead_letter_failed": 3}, s.Dropped)
	require.Zero(t, s.InFlight)

	l.Undeliver(ip("192.0.2.99"), 1, "x") // an unknown sender: nothing to correct
	require.Len(t, l.Snapshot(), 1)
}
