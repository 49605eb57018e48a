package syslog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"siemfwd/pipeline"
)

// readBufferSize is the bufio.Reader size per connection: big enough for
// many messages per read syscall, and the most a connection buffers besides
// the message being assembled.
const readBufferSize = 64 << 10

// errStopping is what a connection's Read returns once the source stops.
var errStopping = errors.New("source stopping")

// listenTCP binds the TCP listener. A TLS listener (RFC 5425) will wrap it
// with tls.NewListener and feed the same acceptLoop and serveConn.
func (s *Source) listenTCP() (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", s.cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("listen tcp %s: %w", s.cfg.Address, err)
	}
	return ln, nil
}

// acceptLoop accepts connections until ctx ends, serving each in its own
// goroutine tracked by wg. It works on any net.Listener so that TLS can
// reuse it.
func (s *Source) acceptLoop(ctx context.Context, ln net.Listener, out chan<- pipeline.Batch, wg *sync.WaitGroup) error {
	var (
		backoff time.Duration
		refused int // since the last "refusing" log line
		lastLog time.Time
	)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept: %w", err)
			}
			// Out of file descriptors and the like: wait and retry, as
			// net/http does, rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		backoff = 0
		c := &trackedConn{Conn: conn, idle: s.cfg.IdleTimeout}
		switch s.conns.add(c) {
		case addStopping:
			_ = conn.Close()
			continue
		case addOverLimit:
			_ = conn.Close()
			s.m.connLimit.Inc()
			// One line per second at most: a flood must not flood the log.
			refused++
			if now := time.Now(); now.Sub(lastLog) >= time.Second {
				s.log.Warn("connection limit reached, refusing connections",
					"max_connections", s.cfg.MaxConnections, "refused", refused)
				refused, lastLog = 0, now
			}
			continue
		}
		wg.Go(func() { s.serveConn(ctx, c, out) })
	}
}

// serveConn reads frames from one connection and sends them in batches. A
// batch goes out when it is full or when the reader has nothing buffered,
// so that latency stays low at low rates while a busy connection still
// fills whole batches. Sending blocks while out is full: that is the
// backpressure that makes TCP senders slow down.
func (s *Source) serveConn(ctx context.Context, c *trackedConn, out chan<- pipeline.Batch) {
	s.m.connections.Inc()
	defer func() {
		_ = c.Close()
		s.conns.remove(c)
		s.m.connections.Dec()
	}()
	peer := peerOf(c.RemoteAddr())
	br := bufio.NewReaderSize(c, readBufferSize)
	fr := NewFramer(br, s.cfg.MaxMessageBytes)
	b := newBatcher(s.cfg.BatchEvents, s.cfg.MaxMessageBytes, s.origin)
	for {
		// Room for a whole frame, so the framer appends into the arena
		// without reallocating it.
		b.reserve(s.cfg.MaxMessageBytes)
		start := len(b.arena)
		var (
			info FrameInfo
			err  error
		)
		b.arena, info, err = fr.Next(b.arena)
		if err == nil {
			var flags pipeline.Flags
			if info.Truncated || info.Incomplete {
				flags |= pipeline.FlagTruncated
			}
			if info.BadFrame {
				b.bad++
			}
			b.push(start, time.Now(), peer, flags)
		}
		if b.full() || (b.len() > 0 && (err != nil || br.Buffered() == 0)) {
			if !s.sendBlocking(ctx, out, b.take(&s.m)) {
				return
			}
		}
		if err != nil {
			s.logConnEnd(c, err)
			return
		}
	}
}

// logConnEnd says why a connection ended, quietly for the ordinary cases.
func (s *Source) logConnEnd(c *trackedConn, err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, errStopping):
		s.log.Debug("connection closed", "peer", c.RemoteAddr().String())
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.isStopping():
		s.log.Debug("connection idle, closing", "peer", c.RemoteAddr().String(), "idle_timeout", s.cfg.IdleTimeout)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.log.Debug("connection closed", "peer", c.RemoteAddr().String())
	default:
		s.log.Debug("connection failed", "peer", c.RemoteAddr().String(), "err", err)
	}
}

// sendBlocking sends b, waiting while out is full. When ctx ends first it
// makes one last non-blocking attempt (out is still open: Run has not
// returned) and otherwise counts the events as dropped at shutdown. It
// reports whether b was sent.
func (s *Source) sendBlocking(ctx context.Context, out chan<- pipeline.Batch, b pipeline.Batch) bool {
	select {
	case out <- b:
		return true
	case <-ctx.Done():
	}
	select {
	case out <- b:
		return true
	default:
		s.m.shutdown.Add(float64(len(b.Events)))
		return false
	}
}

// trackedConn is a connection whose reads the source can interrupt, and
// whose read deadline moves forward on every read while an idle timeout is
// set.
type trackedConn struct {
	net.Conn
	idle time.Duration

	// mu orders stop against Read's deadline update: without it a Read
	// could push the deadline forward just after stop set it in the past,
	// and block until the idle timeout instead of returning.
	mu       sync.Mutex
	stopping bool
}

// Read reads from the connection, first extending the idle deadline.
func (c *trackedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return 0, errStopping
	}
	if c.idle > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// stop makes the pending and every later Read return at once. The reader
// still flushes what it has and closes the connection itself.
func (c *trackedConn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping = true
	_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
}

func (c *trackedConn) isStopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopping
}

// addResult says whether connSet.add took a connection.
type addResult int

const (
	addOK addResult = iota
	addOverLimit
	addStopping
)

// connSet tracks the open connections so that the source can cap their
// number and interrupt them all when it stops.
type connSet struct {
	mu       sync.Mutex
	limit    int
	stopping bool
	conns    map[*trackedConn]struct{}
}

func (cs *connSet) init(limit int) {
	cs.limit = limit
	cs.conns = make(map[*trackedConn]struct{})
}

func (cs *connSet) add(c *trackedConn) addResult {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch {
	case cs.stopping:
		return addStopping
	case len(cs.conns) >= cs.limit:
		return addOverLimit
	}
	cs.conns[c] = struct{}{}
	return addOK
}

func (cs *connSet) remove(c *trackedConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.conns, c)
}

// stopAll interrupts every connection and refuses new ones. Lock order:
// connSet.mu, then trackedConn.mu.
func (cs *connSet) stopAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.stopping = true
	for c := range cs.conns {
		c.stop()
	}
}
