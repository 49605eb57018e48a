package syslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"siemfwd/pipeline"
	"siemfwd/pipeline/ledger"
	"siemfwd/pipeline/metrics"
)

// maxDatagram is the largest UDP payload (64 KiB less the headers, rounded
// up): a read buffer this size never makes the kernel cut a datagram.
const maxDatagram = 65535

// udpReadBatch is how many datagrams one recvmmsg call reads at most. The
// gain of batching flattens out in the tens, and every slot holds a buffer
// of up to 64 KiB per reader.
const udpReadBatch = 32

// listenUDP binds one socket per reader, all on the same address with
// SO_REUSEPORT so that the kernel spreads datagrams over them by a hash of
// the sender: one sender's messages stay in order on one reader.
func (s *Source) listenUDP() ([]*udpSocket, error) {
	var rcvErr error
	socks := make([]*udpSocket, 0, s.cfg.Readers)
	addr := s.cfg.Address
	for range s.cfg.Readers {
		sock, sockRcvErr, err := openUDP(addr, s.cfg.ReceiveBuffer)
		if err != nil {
			for _, o := range socks {
				_ = o.close()
			}
			return nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		rcvErr = errors.Join(rcvErr, sockRcvErr)
		// With port 0 the first socket picked the port; the others share it.
		addr = sock.local.String()
		socks = append(socks, sock)
	}
	if rcvErr != nil {
		s.log.Warn("cannot set receive buffer, using the kernel default", "err", rcvErr,
			"receive_buffer", s.cfg.ReceiveBuffer)
	} else if got := socks[0].receiveBuffer(); got > 0 && got < s.cfg.ReceiveBuffer {
		// Linux reports twice the usable size; less than asked means
		// net.core.rmem_max capped it.
		s.log.Warn("receive buffer smaller than configured; raise net.core.rmem_max or run with CAP_NET_ADMIN",
			"receive_buffer", s.cfg.ReceiveBuffer, "kernel_bytes", got)
	}
	return socks, nil
}

// readUDP reads datagrams from sock until ctx is done, one message each
// (its event id is scope and the reader's sequence),
// with recvmmsg into reused buffers, copying each message into the batch
// arena. It reads until the socket is drained, passes the batch on, and
// sleeps for poll_interval before it reads again, so that at high rates one
// wake-up serves hundreds of datagrams instead of each burst costing a
// wake-up, a small batch and a hand-off; the receive buffer holds what
// arrives meanwhile. When a whole interval brought nothing, the reader
// blocks in the kernel until the next datagram, so an idle source costs
// nothing and a lone message is not held back.
func (s *Source) readUDP(ctx context.Context, sock *udpSocket, scope pipeline.IDScope, out chan<- pipeline.Batch) {
	// A buffer no larger than the maximum message makes the kernel cut
	// longer datagrams and say so with MSG_TRUNC.
	bufSize := min(s.cfg.MaxMessageBytes, maxDatagram)
	r := newMmsgReader(sock, min(udpReadBatch, s.cfg.BatchEvents), bufSize)
	b := newBatcher(s.cfg.BatchEvents, bufSize, scope)
	var (
		lastErrLog time.Time
		cache      peerCache
		slept      bool // the reader slept since its last datagram
		idle       bool // a whole interval brought nothing: block for the next datagram
	)
	defer func() {
		if b.len() > 0 {
			s.sendOrDrop(ctx, out, b.take(&s.m))
		}
	}()
	for ctx.Err() == nil {
		dgs, err := r.read(s.cfg.BatchEvents-b.len(), idle)
		if err != nil {
			if b.len() > 0 {
				s.sendOrDrop(ctx, out, b.take(&s.m))
			}
			switch {
			case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
				// Drained, or a blocking read timed out (it then looks
				// at ctx and blocks again).
			default:
				// Not expected on a bound UDP socket; do not spin on the
				// log or the socket if it persists.
				if now := time.Now(); now.Sub(lastErrLog) >= time.Second {
					s.log.Warn("udp read failed", "err", err)
					lastErrLog = now
				}
				time.Sleep(udpErrorPause)
				continue
			}
			switch {
			case idle:
			case slept || s.cfg.PollInterval == 0:
				idle = true
			default:
				time.Sleep(s.cfg.PollInterval)
				slept = true
			}
			continue
		}
		idle, slept = false, false
		now := time.Now()
		var notAllowed, rateLimited int
		for i := range dgs {
			switch s.pushDatagram(b, &dgs[i], now, &cache) {
			case refusedNotAllowed:
				notAllowed++
			case refusedRateLimited:
				rateLimited++
				s.ledger.Dropped(dgs[i].peer.Addr(), 1, metrics.ReasonRateLimited)
			}
		}
		// Counted per read, not per datagram: a flood of refused
		// datagrams must not make the readers contend on the counters.
		if notAllowed > 0 {
			s.m.notAllowed.Add(float64(notAllowed))
		}
		if rateLimited > 0 {
			s.m.rateLimited.Add(float64(rateLimited))
		}
		if b.full() {
			s.sendOrDrop(ctx, out, b.take(&s.m))
		}
	}
}

// udpErrorPause is how long a reader waits after a read failed for a reason
// other than an empty socket, so a persistent failure does not spin.
const udpErrorPause = 10 * time.Millisecond

// refusal says why pushDatagram did not take a datagram.
type refusal uint8

const (
	accepted refusal = iota
	refusedNotAllowed
	refusedRateLimited
)

// pushDatagram adds one datagram to the batch: trailing LF, CR and NUL
// trimmed, cut datagrams flagged, carrying its sender's Origin. Empty
// datagrams (before or after trimming) carry nothing and are skipped.
// Senders outside the allow-list and over their rate are refused before
// anything is copied.
func (s *Source) pushDatagram(b *batcher, dg *datagram, received time.Time, cache *peerCache) refusal {
	if len(dg.data) == 0 {
		// Nothing to carry, and possibly no sender: a read woken by
		// shutdown reports one empty "datagram" whose address the kernel
		// never filled in.
		return accepted
	}
	peer := dg.peer
	allowed, origin := cache.lookup(s.senders, peer.Addr())
	if !allowed {
		return refusedNotAllowed
	}
	if s.limiter != nil && !s.limiter.allow(peer.Addr()) {
		return refusedRateLimited
	}
	data := dg.data
	var flags pipeline.Flags
	if dg.truncated {
		flags |= pipeline.FlagTruncated
	}
	if len(data) > s.cfg.MaxMessageBytes {
		data = data[:s.cfg.MaxMessageBytes]
		flags |= pipeline.FlagTruncated
	}
	data = bytes.TrimRight(data, "\n\r\x00")
	data = stripOctetCount(data)
	if len(data) == 0 {
		return accepted
	}
	b.reserve(len(data))
	start := len(b.arena)
	b.arena = append(b.arena, data...)
	b.push(start, received, origin, peer, flags)
	return accepted
}

// stripOctetCount removes an RFC 6587 octet count from the front of a
// datagram whose count matches the rest exactly. Some senders frame UDP as if
// it were TCP (util-linux logger --octet-count without --tcp does); the
// count is framing, not message. Anything else is left as it came.
func stripOctetCount(data []byte) []byte {
	sp := bytes.IndexByte(data, ' ')
	if sp < 1 || sp > octetMaxDigits {
		return data
	}
	n := 0
	for _, c := range data[:sp] {
		if !isDigit(c) {
			return data
		}
		n = n*10 + int(c-'0')
	}
	if rest := data[sp+1:]; n == len(rest) && len(rest) > 0 && rest[0] == '<' {
		return rest
	}
	return data
}

// sendOrDrop passes a UDP batch on, waiting up to queue_full_wait for room,
// and otherwise drops it, counting every event: UDP cannot push back. While
// the reader waits, the socket's receive buffer holds what arrives, so a
// short stall of the pipeline costs nothing; what overflows that buffer is
// counted by the kernel and exported as siemfwd's kernel drop metric. At
// shutdown (ctx ended) it waits: what was read is passed on.
func (s *Source) sendOrDrop(ctx context.Context, out chan<- pipeline.Batch, b pipeline.Batch) {
	select {
	case out <- b:
		return
	default:
	}
	if ctx.Err() != nil {
		// Shutting down: reading has stopped, so waiting costs no datagram,
		// and the pipeline takes from out until every source has returned.
		out <- b
		return
	}
	if s.cfg.QueueFullWait > 0 { // the slow path: a timer per full queue is cheap
		wait := time.NewTimer(s.cfg.QueueFullWait)
		defer wait.Stop()
		select {
		case out <- b:
			return
		case <-wait.C:
		case <-ctx.Done():
			out <- b // as above
			return
		}
	}
	s.m.queueFull.Add(float64(len(b.Events)))
	if s.ledger != nil {
		var t ledger.Tally
		for _, ev := range b.Events {
			t.Add(ev.Peer.Addr(), "")
		}
		s.ledger.DroppedTally(&t, metrics.ReasonQueueFull)
	}
}
