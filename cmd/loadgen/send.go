package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

// TCP framings (RFC 6587).
const (
	framingLF    = "lf"    // message followed by '\n'
	framingOctet = "octet" // "LEN SP message"
)

// result is what a send reports: how many messages and bytes left, and when
// the timed phase began and ended.
type result struct {
	sent  int
	bytes int64
	start time.Time
	end   time.Time
}

// tcpBufferSize is the bufio.Writer size per connection: large enough that
// a write syscall carries a few thousand messages.
const tcpBufferSize = 1 << 20

// writeFramed writes messages lo..hi-1 to w with the given framing through a
// large buffer, and flushes it.
func writeFramed(w io.Writer, msgs *messages, lo, hi int, framing string) error {
	bw := bufio.NewWriterSize(w, tcpBufferSize)
	var num [20]byte
	for i := lo; i < hi; i++ {
		m := msgs.At(i)
		if framing == framingOctet {
			bw.Write(strconv.AppendInt(num[:0], int64(len(m)), 10))
			bw.WriteByte(' ')
			bw.Write(m)
		} else {
			bw.Write(m)
			bw.WriteByte('\n')
		}
	}
	// bufio.Writer keeps the first error and returns it from Flush.
	return bw.Flush()
}

// framedLen returns the bytes message m occupies on the wire with framing.
func framedLen(m []byte, framing string) int {
	if framing == framingOctet {
		return len(strconv.Itoa(len(m))) + 1 + len(m)
	}
	return len(m) + 1
}

// sendTCP splits the messages into conns contiguous shares and writes each
// over its own connection. All connections are dialled before the clock
// starts. With senders > 1, connection i comes from the loopback address
// 127.0.0.(1 + i%senders) (Linux routes all of 127.0.0.0/8 to lo), so that a
// receiver keying by sender address sees that many senders. Cancelling ctx
// closes the connections.
func sendTCP(ctx context.Context, addr string, msgs *messages, framing string, conns, senders int) (result, error) {
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for i := range conns {
		var d net.Dialer
		if senders > 1 {
			d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%senders))}
		}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return result{}, fmt.Errorf("dial %s: %w", addr, err)
		}
		cs = append(cs, c)
	}
	// Closing the connections is what unblocks a writer stuck on a full
	// window when the user interrupts.
	stop := context.AfterFunc(ctx, func() {
		for _, c := range cs {
			c.Close()
		}
	})
	defer stop()

	n := msgs.Len()
	errs := make([]error, conns)
	res := result{start: time.Now()}
	var wg sync.WaitGroup
	for i, c := range cs {
		lo, hi := i*n/conns, (i+1)*n/conns
		wg.Go(func() {
			errs[i] = writeFramed(c, msgs, lo, hi, framing)
			if errs[i] == nil {
				// A half-close tells the receiver we are done while it
				// still reads what is in flight.
				if tc, ok := c.(*net.TCPConn); ok {
					errs[i] = tc.CloseWrite()
				}
			}
		})
	}
	wg.Wait()
	res.end = time.Now()
	for i := range conns {
		if errs[i] != nil {
			return res, fmt.Errorf("write to %s (connection %d): %w", addr, i, errs[i])
		}
		lo, hi := i*n/conns, (i+1)*n/conns
		res.sent += hi - lo
		for j := lo; j < hi; j++ {
			res.bytes += int64(framedLen(msgs.At(j), framing))
		}
	}
	return res, ctx.Err()
}

// udpBatch is the number of datagrams handed to one sendmmsg call when not
// limited by the pacer: it divides the syscall cost by about that much.
const udpBatch = 64

// sendUDP sends one datagram per message, paced at rate messages/s (0 = as
// fast as possible), in sendmmsg batches.
func sendUDP(ctx context.Context, addr string, msgs *messages, rate int) (result, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return result{}, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c.(*net.UDPConn))
	batch := make([]ipv4.Message, udpBatch)
	for i := range batch {
		batch[i].Buffers = make([][]byte, 1)
	}

	n := msgs.Len()
	p := newPacer(rate)
	res := result{start: time.Now()}
	for res.sent < n {
		if err := ctx.Err(); err != nil {
			res.end = time.Now()
			return res, err
		}
		allowed := min(p.allowed(time.Since(res.start)), n)
		if allowed <= res.sent {
			// Wake when a whole batch is due, not one message: waking every
			// 1/rate seconds would cost a timer and a syscall per datagram.
			wake := min(res.sent+min(udpBatch, int(p.burst)), n)
			time.Sleep(time.Until(res.start.Add(p.due(wake))))
			continue
		}
		k := min(allowed-res.sent, udpBatch)
		for j := range k {
			batch[j].Buffers[0] = msgs.At(res.sent + j)
		}
		// sendmmsg may take fewer than offered; the rest is offered again.
		w, err := pc.WriteBatch(batch[:k], 0)
		for j := range w {
			res.bytes += int64(len(batch[j].Buffers[0]))
		}
		res.sent += w
		if err != nil {
			res.end = time.Now()
			return res, fmt.Errorf("send to %s: %w", addr, err)
		}
	}
	res.end = time.Now()
	return res, nil
}

// pacer is a token bucket filled continuously at rate tokens/s that holds at
// most one millisecond's worth: the sender may burst rate/1000 messages and is
// otherwise held to the rate. Computing the allowance from the elapsed time,
// rather than counting ticks, keeps late wake-ups from losing tokens.
type pacer struct {
	rate  int64 // messages per second; 0 means unlimited
	burst int64 // messages allowed ahead of the exact schedule
}

func newPacer(rate int) pacer {
	return pacer{rate: int64(rate), burst: max(1, int64(rate)/1000)}
}

// unlimited is the allowance of a pacer without a rate.
const unlimited = int(^uint(0) >> 1)

// allowed returns how many messages may have been sent in total after
// elapsed since the start.
func (p pacer) allowed(elapsed time.Duration) int {
	if p.rate == 0 {
		return unlimited
	}
	// rate * ns stays below 2^63 for rates up to 10^7/s over 10^11 ns (100 s)
	// and far beyond at the rates used; split to be safe for long runs.
	s := int64(elapsed / time.Second)
	ns := int64(elapsed % time.Second)
	return int(s*p.rate + ns*p.rate/int64(time.Second) + p.burst)
}

// due returns the elapsed time at which the allowance reaches total.
func (p pacer) due(total int) time.Duration {
	if p.rate == 0 {
		return 0
	}
	ahead := int64(total) - p.burst
	if ahead <= 0 {
		return 0
	}
	s := ahead / p.rate
	rem := ahead % p.rate
	// Round up so that at the returned time the allowance really reached total.
	return time.Duration(s)*time.Second + time.Duration((rem*int64(time.Second)+p.rate-1)/p.rate)
}
