package syslog

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"siemfwd/pipeline"
)

// relpOffers is the answer to "open": the protocol version librelp speaks
// (0) and the one command siemfwd serves. librelp's client requires the
// "syslog" command among the server's offers.
const relpOffers = "200 OK\nrelp_version=0\nrelp_software=siemfwd\ncommands=syslog"

// relpWriteTimeout bounds one write of answers to a sender that stopped
// reading; the session is then broken and the sender resends what it did not
// see answered.
const relpWriteTimeout = 10 * time.Second

// serveRELP serves one RELP session as rsyslog's omrelp (librelp) speaks it:
// "open" (answered with the offers), "syslog" frames, "close". Each syslog
// frame becomes an event. It is answered "200 OK" only when the Ack of its
// batch succeeds: every routed sink stored it, or a sink's disk buffer holds
// it. A failed Ack is answered "500", which makes the sender break the
// session and send the message again. What was never answered (siemfwd
// stopped or crashed first) is sent again too: RELP senders keep every
// message until it is answered. Ack with pipeline.ErrDropped (a when_full
// drop policy, or no route) is answered 200: the operator chose to drop.
func (s *Source) serveRELP(ctx context.Context, c *trackedConn, peer netip.AddrPort, origin *pipeline.Origin,
	out chan<- pipeline.Batch,
) {
	sess := newRELPSession(c)
	go sess.writeLoop()

	br := bufio.NewReaderSize(c, readBufferSize)
	rr := newRELPReader(br, s.cfg.MaxMessageBytes)
	b := newBatcher(s.cfg.BatchEvents, s.cfg.MaxMessageBytes, pipeline.ConnectionScope(s.session, s.name, s.conn.Add(1)))
	var txnrs []int // of the events in b
	opened := false
	closeTxnr := -1 // the txnr of "close", answered last
	var err error
	for closeTxnr < 0 {
		b.reserve(s.cfg.MaxMessageBytes)
		start := len(b.arena)
		var f relpFrame
		f, err = rr.next(b.arena)
		if err != nil {
			b.arena = b.arena[:start]
			break
		}
		b.arena = f.data
		c.frameDone()
		switch string(f.cmd) {
		case "syslog":
			if !opened {
				err = errors.New("relp: syslog before open")
				break
			}
			if len(b.arena) == start {
				sess.answer([]int{f.txnr}, nil, false) // nothing to deliver
				break
			}
			var flags pipeline.Flags
			if f.truncated {
				flags |= pipeline.FlagTruncated
			}
			b.push(start, c.lastRead, origin, peer, flags)
			txnrs = append(txnrs, f.txnr)
		case "open":
			b.arena = b.arena[:start] // the sender's offers: nothing siemfwd needs
			if opened {
				sess.respond(f.txnr, "500 protocol error: connection already open")
				err = errors.New("relp: second open")
				break
			}
			opened = true
			sess.respond(f.txnr, relpOffers)
		case "close":
			b.arena = b.arena[:start]
			closeTxnr = f.txnr
		default:
			b.arena = b.arena[:start]
			sess.respond(f.txnr, "500 command not supported")
		}
		if err != nil {
			break
		}
		if b.full() || (b.len() > 0 && (closeTxnr >= 0 || br.Buffered() == 0)) {
			s.sendRELP(ctx, out, b, &txnrs, sess, peer)
		}
	}
	if b.len() > 0 {
		s.sendRELP(ctx, out, b, &txnrs, sess, peer)
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errStopping) && !errors.Is(err, os.ErrDeadlineExceeded) {
		if errors.Is(err, errRELPFrame) {
			s.m.badFrame.Inc()
		}
		s.log.Warn("relp session failed", "peer", peer.String(), "err", err)
	}
	// Answer what the pipeline acknowledges in time, then say goodbye: the
	// answer to "close", or a "serverclose" hint when siemfwd stops.
	if !sess.drain(s.cfg.DrainTimeout) {
		s.log.Warn("relp acknowledgements still pending at session end; the sender will send them again",
			"peer", peer.String(), "pending", sess.unanswered())
	}
	switch {
	case closeTxnr >= 0:
		sess.respond(closeTxnr, "")
	case ctx.Err() != nil:
		sess.hint("serverclose")
	}
	sess.stop()
}

// sendRELP sends the events of b as a batch whose Ack answers their txnrs.
// Like a plain TCP connection's batch, it waits while out is full, after ctx
// ended too: what was read is passed on, never dropped at shutdown (the
// session answers what is acknowledged within drain_timeout; the sender
// sends the rest again).
func (s *Source) sendRELP(ctx context.Context, out chan<- pipeline.Batch, b *batcher, txnrs *[]int,
	sess *relpSession, peer netip.AddrPort,
) {
	if s.limiter != nil {
		s.limiter.wait(ctx, peer.Addr(), b.len())
	}
	batch := b.take(&s.m)
	ids := *txnrs
	*txnrs = nil
	sess.expect(len(ids))
	batch.Ack = func(err error) { sess.answer(ids, err, true) }
	out <- batch
}

// relpSession writes a session's answers. The reader and the Acks of its
// batches (called by sink loops, which must never wait on a sender) queue
// them; one writer goroutine sends them.
type relpSession struct {
	conn net.Conn

	mu      sync.Mutex
	queue   []byte // answers not yet written
	pending int    // events handed to the pipeline and not yet answered

	wake    chan struct{} // cap 1: the queue has something
	acked   chan struct{} // cap 1: pending went down
	done    chan struct{} // closed by stop: write what is queued and return
	written chan struct{} // closed when the writer has returned
}

func newRELPSession(conn net.Conn) *relpSession {
	return &relpSession{
		conn: conn, wake: make(chan struct{}, 1), acked: make(chan struct{}, 1),
		done: make(chan struct{}), written: make(chan struct{}),
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// respond queues an "rsp" frame.
func (ss *relpSession) respond(txnr int, msg string) {
	ss.mu.Lock()
	ss.queue = appendRELPFrame(ss.queue, txnr, "rsp", msg)
	ss.mu.Unlock()
	signal(ss.wake)
}

// hint queues a frame of txnr 0, which RELP uses for unsolicited commands.
func (ss *relpSession) hint(cmd string) {
	ss.mu.Lock()
	ss.queue = appendRELPFrame(ss.queue, 0, cmd, "")
	ss.mu.Unlock()
	signal(ss.wake)
}

// expect adds n events handed to the pipeline (negative: taken back).
func (ss *relpSession) expect(n int) {
	ss.mu.Lock()
	ss.pending += n
	ss.mu.Unlock()
}

// answer queues the answers to txnrs, as the Ack of their batch says:
// nil or ErrDropped is "200 OK", anything else "500". counted says whether
// the txnrs were counted by expect.
func (ss *relpSession) answer(txnrs []int, err error, counted bool) {
	msg := "200 OK"
	if err != nil && !errors.Is(err, pipeline.ErrDropped) {
		msg = "500 not delivered, send again"
	}
	ss.mu.Lock()
	for _, t := range txnrs {
		ss.queue = appendRELPFrame(ss.queue, t, "rsp", msg)
	}
	if counted {
		ss.pending -= len(txnrs)
	}
	ss.mu.Unlock()
	signal(ss.wake)
	signal(ss.acked)
}

func (ss *relpSession) unanswered() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.pending
}

// drain waits up to timeout for every pending event to be answered.
func (ss *relpSession) drain(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for ss.unanswered() > 0 {
		select {
		case <-ss.acked:
		case <-t.C:
			return ss.unanswered() == 0
		}
	}
	return true
}

// stop writes what is queued and ends the writer.
func (ss *relpSession) stop() {
	close(ss.done)
	<-ss.written
}

// writeLoop writes queued answers until stop. After a failed write the
// session is broken: later answers are dropped (the sender resends).
func (ss *relpSession) writeLoop() {
	defer close(ss.written)
	var buf []byte
	broken := false
	for {
		stopping := false
		select {
		case <-ss.wake:
		case <-ss.done:
			stopping = true
		}
		ss.mu.Lock()
		buf, ss.queue = ss.queue, buf[:0]
		ss.mu.Unlock()
		if len(buf) > 0 && !broken {
			_ = ss.conn.SetWriteDeadline(time.Now().Add(relpWriteTimeout))
			if _, err := ss.conn.Write(buf); err != nil {
				broken = true
			}
		}
		if stopping {
			return
		}
	}
}
