package syslog

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/ipv4"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// BenchmarkTCP measures the TCP path end to end on loopback: senders write
// frames, the source frames and batches them into a channel that a
// goroutine drains. One op is one frame.
func BenchmarkTCP(b *testing.B) {
	msg := "<134>1 2026-04-01T14:59:32+07:00 mx01.example.local audit - - - IMAP: User john.doe@example.local authenticated from IP address 10.150.90.11"
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
			cfg := DefaultConfig()
			cfg.Protocol = ProtocolTCP
			cfg.Address = "127.0.0.1:0"
			src, err := New("bench", cfg, nil, metrics.New())
			if err != nil {
				b.Fatal(err)
			}
			if err := src.Listen(); err != nil {
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
				if conns[i], err = net.Dial("tcp", src.Addr().String()); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(bc.frame)))
			b.ReportAllocs()
			b.ResetTimer()
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
			b.StopTimer()
			b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "frames/s")
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

// BenchmarkUDP measures the UDP path on loopback: one sender writing with
// sendmmsg, the default readers, batches drained by a goroutine. The sender
// writes rounds of 100 datagrams and waits for each round to arrive, so the
// kernel never drops for lack of buffer even with the default rmem_max (the
// result would not be comparable otherwise). One op is one datagram.
func BenchmarkUDP(b *testing.B) {
	msg := []byte("<134>1 2026-04-01T14:59:32+07:00 mx01.example.local audit - - - IMAP: User john.doe@example.local authenticated from IP address 10.150.90.11")
	cfg := DefaultConfig()
	cfg.Address = "127.0.0.1:0"
	src, err := New("bench", cfg, nil, metrics.New())
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Listen(); err != nil {
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
