package ledger

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
)

// reportCPU reports the process's CPU time per operation since start.
func reportCPU(b *testing.B, start int64) {
	if cpu := processCPU(); cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu-start)/float64(b.N), "cpu-ns/op")
	}
}

func benchAddrs(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
	}
	return out
}

// BenchmarkReceivedDone is the per-event cost when a worker calls the ledger
// for every event: one Received and one Done, 1000 senders, from
// GOMAXPROCS goroutines at once (2 here). One op is one event.
func BenchmarkReceivedDone(b *testing.B) {
	addrs := benchAddrs(1000)
	for _, shards := range []int{1, 16} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			l := newLedger(DefaultConfig(), nil, shards)
			var seed atomic.Uint64
			b.ReportAllocs()
			start := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(seed.Add(1), 1))
				i := r.IntN(len(addrs))
				for pb.Next() {
					i = (i + 1 + r.IntN(7)) % len(addrs)
					t := l.Received(addrs[i], "host", 1)
					l.Done(t, 1, "")
				}
			})
			reportCPU(b, start)
		})
	}
}

// BenchmarkTally is the per-event cost when a worker tallies a 256-event
// batch (events from 1, 8 or 256 senders) and settles it in one ack, from
// GOMAXPROCS goroutines at once. One op is one event.
func BenchmarkTally(b *testing.B) {
	addrs := benchAddrs(1000)
	const batch = 256
	for _, perBatch := range []int{1, 8, 256} {
		b.Run(fmt.Sprintf("senders_per_batch=%d", perBatch), func(b *testing.B) {
			l := New(DefaultConfig(), nil)
			var seed atomic.Uint64
			b.ReportAllocs()
			start := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(seed.Add(1), 1))
				for {
					base := r.IntN(len(addrs))
					var tl Tally
					for k := range batch {
						if !pb.Next() {
							l.ReceivedTally(&tl)
							l.DoneTally(&tl, "")
							return
						}
						// Consecutive runs of the same sender, as connections and bursts arrive.
						tl.Add(addrs[(base+k*perBatch/batch)%len(addrs)], "host")
					}
					l.ReceivedTally(&tl)
					l.DoneTally(&tl, "")
				}
			})
			reportCPU(b, start)
		})
	}
}

// BenchmarkSnapshot is the cost of one /senders read of 10000 senders.
func BenchmarkSnapshot(b *testing.B) {
	l := New(DefaultConfig(), nil)
	for _, a := range benchAddrs(10000) {
		l.Received(a, "host", 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		runtime.KeepAlive(l.Snapshot())
	}
}
