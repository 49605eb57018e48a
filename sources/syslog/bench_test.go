package syslog

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// BenchmarkTCP measures the TCP path end to end on loopback: senders write
// frames, the source frames and batches them into a channel that a
// goroutine drains. One op is one frame. cpu-ns/frame is the process's CPU
// time (user+system, senders included) per frame: on a shared machine it
// moves less than the wall-clock rate.
func BenchmarkTCP(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Protocol = ProtocolTCP
	benchStream(b, cfg, func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) })
}

// BenchmarkTLSIngest is BenchmarkTCP over TLS 1.3 (the Go default, with
// AES-GCM) with mutual TLS: the cost of encryption on the same path.
func BenchmarkTLSIngest(b *testing.B) {
	p := &pki{serverCA: newTestCA(b, "server CA"), clientCA: newTestCA(b, "client CA")}
	p.server = p.serverCA.issue(b, leafOpts{cn: "server", server: true})
	p.client = p.clientCA.issue(b, leafOpts{cn: "client"})
	p.files = writeTLSFiles(b, p.server, p.clientCA)
	conf := p.clientConfig(&p.client)
	benchStream(b, p.config(ClientAuthRequire), func(addr string) (net.Conn, error) {
		return tls.Dial("tcp", addr, conf)
	})
}

func benchStream(b *testing.B, cfg Config, dial func(addr string) (net.Conn, error)) {
	msg := "<134>1 2026-04-01T14:59:32+07:00 mx01.example.local audit - - - IMAP: User john.doe@example.local authenticated from IP address 10.150.90.11"
	cfg.Address = "127.0.0.1:0"
	for _, bc := range []struct {
		name  string
		frame string
		conns int
	}{
		{"lf/1conn", msg + "\n", 1},
		{"octet/1conn", strconv.Itoa(len(msg)) + " " + msg, 1},
		{"lf/4conns", msg + "\n", 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src, err := New("bench", cfg, nil, metrics.New(), nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := src.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			out := make(chan pipeline.Batch, 64)
			runDone := make(chan error, 1)
			go func() { runDone <- src.Run(ctx, out) }()

			// Each connection sends its share of b.N frames in 1000-frame writes.
			total := b.N - b.N%bc.conns
			counted := make(chan int)
			go func() {
				n := 0
				for n < total {
					n += len((<-out).Events)
				}
				counted <- n
			}()
			chunk := []byte(strings.Repeat(bc.frame, 1000))
			conns := make([]net.Conn, bc.conns)
			for i := range conns {
				if conns[i], err = dial(src.Addr().String()); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(bc.frame)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			var wg sync.WaitGroup
			for _, c := range conns {
				wg.Go(func() {
					left := total / bc.conns
					for left > 0 {
						n := min(left, 1000)
						if _, err := c.Write(chunk[:n*len(bc.frame)]); err != nil {
							b.Error(err)
							return
						}
						left -= n
					}
				})
			}
			wg.Wait()
			got := <-counted
			cpu := cpuTime() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "frames/s")
			if got > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(got), "cpu-ns/frame")
			}
			for _, c := range conns {
				_ = c.Close()
			}
			cancel()
			if err := <-runDone; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSenders measures what the address checks cost per datagram:
// the allow-list and profile scans over n prefixes, with the miss at the
// end (the worst case), without and with the per-reader last-sender cache.
func BenchmarkSenders(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		cfg := DefaultConfig()
		for i := range n {
			a := fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
			cfg.Allow = append(cfg.Allow, a)
			cfg.Profiles = append(cfg.Profiles, ProfileConfig{Name: fmt.Sprint(i), Match: MatchConfig{Addresses: []string{a}}})
		}
		cfg.Allow = append(cfg.Allow, "192.0.2.0/24")
		s, err := newSenders("bench", cfg)
		if err != nil {
			b.Fatal(err)
		}
		addr := netip.MustParseAddr("192.0.2.1")
		b.Run(fmt.Sprintf("scan/%d", n), func(b *testing.B) {
			for b.Loop() {
				if !s.allowed(addr) || s.origin(addr) != s.base {
					b.Fatal("wrong verdict")
				}
			}
		})
		b.Run(fmt.Sprintf("cached/%d", n), func(b *testing.B) {
			var pc peerCache
			for b.Loop() {
				if ok, o := pc.lookup(s, addr); !ok || o != s.base {
					b.Fatal("wrong verdict")
				}
			}
		})
	}
	b.Run("hostname/glob", func(b *testing.B) {
		s, err := newSenders("bench", profileConfig())
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if s.base.ByHostname("mx07.contoso.example") == nil {
				b.Fatal("no match")
			}
		}
	})
	b.Run("ratelimit/allow", func(b *testing.B) {
		l := newRateLimiter(RateLimitConfig{EventsPerSecond: 1e12, Burst: 1 << 30, MaxSenders: 10000})
		addr := netip.MustParseAddr("192.0.2.1")
		for b.Loop() {
			l.allow(addr)
		}
	})
}

// BenchmarkUDP measures the UDP path on loopback: one sender writing with
// sendmmsg, the default readers, batches drained by a goroutine. The sender
// writes rounds of 100 datagrams and waits for each round to arrive, so the
// kernel never drops for lack of buffer even with the default rmem_max (the
// result would not be comparable otherwise). One op is one datagram.
func BenchmarkUDP(b *testing.B) {
	msg := []byte("<134>1 2026-04-01T14:59:32+07:00 mx01.example.local audit - - - IMAP: User john.doe@example.local authenticated from IP address 10.150.90.11")
	cfg := DefaultConfig()
	cfg.Address = "127.0.0.1:0"
	src, err := New("bench", cfg, nil, metrics.New(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan pipeline.Batch, 1024)
	runDone := make(chan error, 1)
	go func() { runDone <- src.Run(ctx, out) }()

	const round = 100
	rounds := (b.N + round - 1) / round
	arrived := make(chan struct{}, 1) // a round arrived
	go func() {
		n := 0
		for bt := range out {
			n += len(bt.Events)
			for n >= round {
				n -= round
				arrived <- struct{}{}
			}
		}
	}()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	sender := ipv4.NewPacketConn(pc)
	msgs := make([]ipv4.Message, round)
	for i := range msgs {
		msgs[i] = ipv4.Message{Buffers: [][]byte{msg}, Addr: src.Addr()}
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range rounds {
		for sent := 0; sent < round; {
			n, err := sender.WriteBatch(msgs[sent:], 0)
			if err != nil {
				b.Fatal(err)
			}
			sent += n
		}
		<-arrived
	}
	b.StopTimer()
	b.ReportMetric(float64(rounds*round)/b.Elapsed().Seconds(), "datagrams/s")
	cancel()
	if err := <-runDone; err != nil {
		b.Fatal(err)
	}
	close(out)
}
