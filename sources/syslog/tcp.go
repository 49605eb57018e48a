package syslog

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
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

// listenTCP binds the TCP listener, for TLS too: acceptLoop wraps each
// connection in TLS after the allow-list and the connection limits have
// passed it, so that refused senders cost no handshake.
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
		// One log line per reason and second at most.
		notAllowed, overLimit, overIPLimit refusalLog
	)
	var tlsConf *tls.Config
	if s.certs != nil {
		tlsConf = s.certs.serverConfig()
	}
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
		peer := peerOf(conn.RemoteAddr())
		if !s.senders.allowed(peer.Addr()) {
			_ = conn.Close()
			s.m.notAllowed.Inc()
			notAllowed.note(s, "sender not in the allow-list, refusing connections")
			continue
		}
		c := &trackedConn{Conn: conn, idle: s.cfg.IdleTimeout, frameTimeout: s.cfg.FrameTimeout, peer: peer.Addr(), now: s.now}
		if tlsConf != nil {
			// No I/O yet: serveConn runs the handshake, with a deadline,
			// in the connection's own goroutine.
			c.Conn = tls.Server(conn, tlsConf)
		}
		switch s.conns.add(c) {
		case addStopping:
			_ = conn.Close()
			continue
		case addOverLimit:
			_ = conn.Close()
			s.m.connLimit.Inc()
			overLimit.note(s, "connection limit reached, refusing connections", "max_connections", s.cfg.MaxConnections)
			continue
		case addOverIPLimit:
			_ = conn.Close()
			s.m.connLimit.Inc()
			overIPLimit.note(s, "connection limit per address reached, refusing connections",
				"max_connections_per_ip", s.cfg.MaxConnectionsPerIP)
			continue
		}
		wg.Go(func() { s.serve(ctx, c, out) })
	}
}

// serve runs one connection, counted while it lasts: the TLS handshake,
// then syslog framing or a RELP session.
func (s *Source) serve(ctx context.Context, c *trackedConn, out chan<- pipeline.Batch) {
	s.m.connections.Inc()
	defer func() {
		_ = c.Close()
		s.conns.remove(c)
		s.m.connections.Dec()
	}()
	peer, origin, ok := s.openConn(c)
	if !ok {
		return
	}
	if s.cfg.Protocol == ProtocolRELP {
		s.serveRELP(ctx, c, peer, origin, out)
		return
	}
	s.serveConn(ctx, c, peer, origin, out)
}

// serveConn reads frames from one connection and sends them in batches. A
// batch goes out when it is full or when the reader has nothing buffered,
// so that latency stays low at low rates while a busy connection still
// fills whole batches. Sending blocks while out is full: that is the
// backpressure that makes TCP senders slow down.
func (s *Source) serveConn(ctx context.Context, c *trackedConn, peer netip.AddrPort, origin *pipeline.Origin,
	out chan<- pipeline.Batch,
) {
	br := bufio.NewReaderSize(c, readBufferSize)
	fr := NewFramer(br, s.cfg.MaxMessageBytes)
	b := newBatcher(s.cfg.BatchEvents, s.cfg.MaxMessageBytes, pipeline.ConnectionScope(s.session, s.name, s.conn.Add(1)))
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
		// The frame's last byte came with the latest read: frames that one
		// read completed share its time (a clock read per frame would cost
		// more than the precision is worth), and a frame split across reads
		// gets the time of its last part, never of its first.
		received := c.lastRead
		if err == nil {
			c.frameDone()
			var flags pipeline.Flags
			if info.Truncated || info.Incomplete {
				flags |= pipeline.FlagTruncated
			}
			if info.BadFrame {
				flags |= pipeline.FlagBadFrame
				b.bad++
			}
			b.push(start, received, origin, peer, flags)
		}
		if b.full() || (b.len() > 0 && (err != nil || br.Buffered() == 0)) {
			if s.limiter != nil {
				// Over its rate the sender waits here, reading nothing:
				// backpressure on this sender's connections only.
				s.limiter.wait(ctx, peer.Addr(), b.len())
			}
			// Blocks while out is full, after ctx ended too: what was read
			// is passed on, never dropped at shutdown. The wait ends: the
			// pipeline takes from out until every source has returned (past
			// its drain deadline it counts what it cannot write as abandoned).
			out <- b.take(&s.m)
		}
		if err != nil {
			s.logConnEnd(c, err)
			return
		}
	}
}

// openConn runs the TLS handshake of a TLS connection and returns the
// sender's address and origin; ok is false when the handshake failed.
func (s *Source) openConn(c *trackedConn) (peer netip.AddrPort, origin *pipeline.Origin, ok bool) {
	peer = peerOf(c.RemoteAddr())
	origin = s.senders.origin(peer.Addr())
	if tc, isTLS := c.Conn.(*tls.Conn); isTLS {
		if err := c.handshake(tc, s.cfg.TLS.HandshakeTimeout); err != nil {
			if !errors.Is(err, errStopping) {
				s.m.tlsHandshake.Inc()
				s.log.Debug("tls handshake failed", "peer", peer.String(), "err", handshakeError(err))
			}
			return peer, nil, false
		}
		tp := PeerFromState(tc.ConnectionState())
		s.log.Debug("tls connection", "peer", peer.String(), "version", tp.Version, "cipher", tp.Cipher,
			"client_subject", tp.Subject, "client_issuer", tp.Issuer)
		withTLS := *origin // the connection's own copy: the certificate is this sender's
		withTLS.TLS = &tp
		origin = &withTLS
	}
	return peer, origin, true
}

// logConnEnd says why a connection ended, quietly for the ordinary cases.
func (s *Source) logConnEnd(c *trackedConn, err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, errStopping):
		s.log.Debug("connection closed", "peer", c.RemoteAddr().String())
	case errors.Is(err, os.ErrDeadlineExceeded) && c.frameExpired():
		s.log.Debug("frame not complete in frame_timeout, closing", "peer", c.RemoteAddr().String(), "frame_timeout", s.cfg.FrameTimeout)
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.isStopping():
		s.log.Debug("connection idle, closing", "peer", c.RemoteAddr().String(), "idle_timeout", s.cfg.IdleTimeout)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.log.Debug("connection closed", "peer", c.RemoteAddr().String())
	default:
		s.log.Debug("connection failed", "peer", c.RemoteAddr().String(), "err", err)
	}
}

// trackedConn is a connection whose reads the source can interrupt, and
// whose read deadline moves forward on every read while an idle timeout is
// set, but never past the frame timeout of a frame in progress.
type trackedConn struct {
	net.Conn     // a *tls.Conn on a TLS source
	idle         time.Duration
	frameTimeout time.Duration
	peer         netip.Addr // for the per-address limit

	// frameStart is when the first bytes after the last complete frame
	// arrived; zero while no frame is in progress. Only the reader uses it.
	frameStart time.Time

	// now is the source's clock; lastRead is its time when the latest Read
	// returned bytes. Only the connection's reader uses them.
	now      func() time.Time
	lastRead time.Time

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
	if c.idle > 0 || c.frameTimeout > 0 {
		_ = c.Conn.SetReadDeadline(c.deadline(time.Now()))
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.lastRead = c.now()
		if c.frameStart.IsZero() && c.frameTimeout > 0 {
			c.frameStart = time.Now()
		}
	}
	return n, err
}

// deadline is the next read's deadline: the idle timeout from now, or the
// end of the frame in progress if that is sooner; zero for none.
func (c *trackedConn) deadline(now time.Time) time.Time {
	var d time.Time
	if c.idle > 0 {
		d = now.Add(c.idle)
	}
	if c.frameTimeout > 0 && !c.frameStart.IsZero() {
		if end := c.frameStart.Add(c.frameTimeout); d.IsZero() || end.Before(d) {
			d = end
		}
	}
	return d
}

// frameDone says a frame was completed: the next bytes start the next one's clock.
func (c *trackedConn) frameDone() { c.frameStart = time.Time{} }

// frameExpired says whether the frame in progress has outlived the frame timeout.
func (c *trackedConn) frameExpired() bool {
	return c.frameTimeout > 0 && !c.frameStart.IsZero() && time.Since(c.frameStart) >= c.frameTimeout
}

// handshake runs the TLS handshake within timeout. Like Read, it sets its
// deadline under mu, so that stop cannot be overridden by it.
func (c *trackedConn) handshake(tc *tls.Conn, timeout time.Duration) error {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return errStopping
	}
	_ = tc.SetDeadline(time.Now().Add(timeout))
	c.mu.Unlock()
	err := tc.Handshake()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return errors.Join(errStopping, err)
	}
	if err == nil {
		_ = tc.SetDeadline(time.Time{}) // Read sets the idle deadline from now on
	}
	return err
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
	addOverIPLimit
	addStopping
)

// connSet tracks the open connections so that the source can cap their
// number and interrupt them all when it stops.
type connSet struct {
	mu       sync.Mutex
	limit    int
	perIP    int // 0: no per-address limit
	stopping bool
	conns    map[*trackedConn]struct{}
	byIP     map[netip.Addr]int // open connections per address, while perIP > 0
}

func (cs *connSet) init(limit, perIP int) {
	cs.limit, cs.perIP = limit, perIP
	cs.conns = make(map[*trackedConn]struct{})
	cs.byIP = make(map[netip.Addr]int)
}

func (cs *connSet) add(c *trackedConn) addResult {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch {
	case cs.stopping:
		return addStopping
	case len(cs.conns) >= cs.limit:
		return addOverLimit
	case cs.perIP > 0 && cs.byIP[c.peer] >= cs.perIP:
		return addOverIPLimit
	}
	cs.conns[c] = struct{}{}
	if cs.perIP > 0 {
		cs.byIP[c.peer]++
	}
	return addOK
}

func (cs *connSet) remove(c *trackedConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.conns[c]; !ok {
		return
	}
	delete(cs.conns, c)
	if cs.perIP > 0 {
		if cs.byIP[c.peer]--; cs.byIP[c.peer] <= 0 {
			delete(cs.byIP, c.peer)
		}
	}
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

// refusalLog logs refused connections at most once per second with a count,
// so that a flood does not flood the log. Only the accept loop uses it.
type refusalLog struct {
	refused int // since the last line
	last    time.Time
}

func (r *refusalLog) note(s *Source, msg string, attrs ...any) {
	r.refused++
	if now := time.Now(); now.Sub(r.last) >= time.Second {
		s.log.Warn(msg, append(attrs, "refused", r.refused)...)
		r.refused, r.last = 0, now
	}
}
