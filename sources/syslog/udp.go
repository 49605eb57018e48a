package syslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
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
func (s *Source) listenUDP() ([]net.PacketConn, error) {
	var rcvErr error
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var sockErr error
		err := rc.Control(func(fd uintptr) {
			if sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); sockErr != nil {
				sockErr = fmt.Errorf("set SO_REUSEPORT: %w", sockErr)
				return
			}
			if n := s.cfg.ReceiveBuffer; n > 0 {
				// SO_RCVBUFFORCE passes net.core.rmem_max but needs
				// CAP_NET_ADMIN; without it SO_RCVBUF is capped silently.
				if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) != nil {
					rcvErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
				}
			}
		})
		return errors.Join(err, sockErr)
	}}
	pcs := make([]net.PacketConn, 0, s.cfg.Readers)
	addr := s.cfg.Address
	for range s.cfg.Readers {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			for _, p := range pcs {
				_ = p.Close()
			}
			return nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		// With port 0 the first socket picked the port; the others share it.
		addr = pc.LocalAddr().String()
		pcs = append(pcs, pc)
	}
	if rcvErr != nil {
		s.log.Warn("cannot set receive buffer, using the kernel default", "err", rcvErr,
			"receive_buffer", s.cfg.ReceiveBuffer)
	} else if got := receiveBuffer(pcs[0]); got > 0 && got < s.cfg.ReceiveBuffer {
		// Linux reports twice the usable size; less than asked means
		// net.core.rmem_max capped it.
		s.log.Warn("receive buffer smaller than configured; raise net.core.rmem_max or run with CAP_NET_ADMIN",
			"receive_buffer", s.cfg.ReceiveBuffer, "kernel_bytes", got)
	}
	return pcs, nil
}

// receiveBuffer returns the kernel's SO_RCVBUF value, or 0 if unknown.
func receiveBuffer(pc net.PacketConn) int {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	var n int
	_ = rc.Control(func(fd uintptr) {
		n, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return n
}

// readUDP reads datagrams from pc until it is closed, one message each.
// It reads with recvmmsg into reused buffers, copies each message into the
// batch arena, and keeps reading without waiting while datagrams are queued,
// so a batch goes out when it is full or the socket is drained.
func (s *Source) readUDP(ctx context.Context, pc net.PacketConn, out chan<- pipeline.Batch) {
	// A buffer no larger than the maximum message makes the kernel cut
	// longer datagrams and say so with MSG_TRUNC.
	bufSize := min(s.cfg.MaxMessageBytes, maxDatagram)
	r, err := newMmsgReader(pc, min(udpReadBatch, s.cfg.BatchEvents), bufSize)
	if err != nil {
		s.log.Error("udp reader not started", "err", err)
		return
	}
	b := newBatcher(s.cfg.BatchEvents, bufSize)
	var (
		lastErrLog time.Time
		cache      peerCache
	)
	for {
		dgs, err := r.read(s.cfg.BatchEvents-b.len(), b.len() == 0)
		if err != nil {
			if b.len() > 0 {
				s.sendOrDrop(ctx, out, b.take(&s.m))
			}
			if errors.Is(err, unix.EAGAIN) {
				continue // drained: the batch went out, now wait
			}
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Not expected on an unconnected UDP socket; do not spin on
			// the log if it persists.
			if now := time.Now(); now.Sub(lastErrLog) >= time.Second {
				s.log.Warn("udp read failed", "err", err)
				lastErrLog = now
			}
			continue
		}
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

// refusal says why pushDatagram did not take a datagram.
type refusal uint8

const (
	accepted refusal = iota
	refusedNotAllowed
	refusedRateLimited
)

// pushDatagram adds one datagram to the batch: trailing LF, CR and NUL
// trimmed, cut datagrams flagged, carrying its sender's Origin. Empty
// datagrams carry nothing and are skipped. Senders outside the allow-list
// and over their rate are refused before any of that.
func (s *Source) pushDatagram(b *batcher, dg *datagram, received time.Time, cache *peerCache) refusal {
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
// counted by the kernel and exported as siemfwd's kernel drop metric.
func (s *Source) sendOrDrop(ctx context.Context, out chan<- pipeline.Batch, b pipeline.Batch) {
	select {
	case out <- b:
		return
	default:
	}
	if s.cfg.QueueFullWait > 0 { // the slow path: a timer per full queue is cheap
		wait := time.NewTimer(s.cfg.QueueFullWait)
		defer wait.Stop()
		select {
		case out <- b:
			return
		case <-wait.C:
		case <-ctx.Done():
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
