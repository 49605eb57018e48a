// Package syslog receives syslog messages over UDP (one message per
// datagram), TCP (RFC 6587 octet counting or LF framing, detected per
// frame) and TLS (RFC 5425: the same framing inside TLS) and sends them
// downstream in batches of raw events; parsing is the workers' job.
//
//	UDP: Readers × (SO_REUSEPORT socket → recvmmsg → allow? rate? profile → batch) ─┐ select/default: drop and count
//	TCP: accept → allow? per-IP limit? → goroutine per connection → [TLS handshake]  │
//	     → profile → Framer → batch → rate limit (wait) ─────────────────────────────┴→ out (TCP blocks: backpressure)
//
// Who may send is decided before any parsing: an allow-list of addresses,
// a connection limit per address and a token bucket per address. Sender
// profiles are matched by address here (one shared Origin per profile) and
// by syslog hostname in the worker (Origin.ByHostname).
//
// TCP pushes back: a full out channel blocks the connection's reader, the
// kernel receive window fills and the sender slows down. UDP cannot push
// back, so a full out channel drops the batch and counts every event in it.
package syslog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"siemfwd/pipeline"
	"siemfwd/pipeline/ledger"
	"siemfwd/pipeline/metrics"
)

// Source is one syslog listener. Start binds it, Run serves it.
type Source struct {
	name    string
	cfg     Config
	log     *slog.Logger
	senders *senders     // allow-list and profiles; read-only
	limiter *rateLimiter // nil: no rate limit
	m       sourceMetrics
	reg     prometheus.Registerer // where Start registers the kernel drop counter of UDP sockets
	ledger  *ledger.Ledger        // per-sender accounts of events dropped here; nil records nothing
	now     func() time.Time      // receive times and certificate reloads; tests replace it before Start
	session pipeline.Session      // the random part of this source's event ids
	conn    atomic.Uint64         // numbers connections for their event ids

	// mu guards the sockets, which Start creates and Run or Close closes.
	mu       sync.Mutex
	listened bool
	closed   bool
	ln       net.Listener  // tcp and tls (a plain TCP listener; TLS is per connection)
	socks    []*udpSocket  // udp, one per reader
	reading  bool          // Run's readers use socks: closing must only wake them
	certs    *certReloader // tls

	conns connSet
}

// sourceMetrics are the collectors of one source, curried with its name
// once so that the hot path does no label lookup.
type sourceMetrics struct {
	received      prometheus.Counter
	receivedBytes prometheus.Counter
	truncated     prometheus.Counter
	badFrame      prometheus.Counter
	queueFull     prometheus.Counter
	connLimit     prometheus.Counter
	notAllowed    prometheus.Counter
	rateLimited   prometheus.Counter
	tlsHandshake  prometheus.Counter
	connections   prometheus.Gauge
}

// New checks cfg and prepares a source called name; it binds nothing. led,
// when not nil, is where it records the events it drops before they enter
// the pipeline (UDP queue full, rate limited), so the per-sender ledger
// balances; nil records nothing.
func New(name string, cfg Config, log *slog.Logger, m *metrics.Metrics, led *ledger.Ledger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	snd, err := newSenders(name, cfg)
	if err != nil {
		return nil, err // Validate checked all of it already
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{
		reg:     m.Registry,
		ledger:  led,
		name:    name,
		cfg:     cfg,
		log:     log.With("component", "source", "source", name),
		senders: snd,
		limiter: newRateLimiter(cfg.RateLimit),
		now:     time.Now,
		session: pipeline.NewSession(),
		m: sourceMetrics{
			received:      m.SourceReceived.WithLabelValues(name),
			receivedBytes: m.SourceReceivedBytes.WithLabelValues(name),
			truncated:     m.SourceTruncated.WithLabelValues(name),
			// A bogus octet count loses nothing (the bytes are forwarded as
			// an LF frame, which the parser tags if it cannot read it), so
			// it is no drop: it is counted as a parse failure of the
			// framing, the metric whose events "are still forwarded".
			badFrame:     m.ParseFailures.WithLabelValues(name, metrics.ReasonBadFrame),
			queueFull:    m.SourceDropped.WithLabelValues(name, metrics.ReasonQueueFull),
			connLimit:    m.SourceDropped.WithLabelValues(name, metrics.ReasonConnLimit),
			notAllowed:   m.SourceDropped.WithLabelValues(name, metrics.ReasonNotAllowed),
			rateLimited:  m.SourceDropped.WithLabelValues(name, metrics.ReasonRateLimited),
			tlsHandshake: m.SourceDropped.WithLabelValues(name, reasonTLSHandshake),
			connections:  m.SourceConnections.WithLabelValues(name),
		},
	}
	s.conns.init(cfg.MaxConnections, cfg.MaxConnectionsPerIP)
	return s, nil
}

// Name returns the configured source name.
func (s *Source) Name() string { return s.name }

// Start binds the socket(s) (and loads the TLS certificates first), so that
// a port in use or a bad certificate fails the start instead of a running
// pipeline. Calling it again does nothing; Run calls it if nobody did.
func (s *Source) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	if s.listened {
		return nil
	}
	var err error
	switch s.cfg.Protocol {
	case ProtocolUDP:
		s.socks, err = s.listenUDP()
		if err == nil {
			s.registerKernelDrops(s.reg, s.socks)
		}
	case ProtocolTCP, ProtocolTLS, ProtocolRELP:
		if s.cfg.usesTLS() {
			// Certificates first: a missing or bad file fails the start
			// before the port is taken.
			s.certs, err = newCertReloader(s.cfg.TLS, s.log, s.now)
		}
		if err == nil {
			s.ln, err = s.listenTCP()
		}
	default:
		err = fmt.Errorf("protocol %q not supported", s.cfg.Protocol)
	}
	if err != nil {
		return err
	}
	s.listened = true
	attrs := []any{"protocol", s.cfg.Protocol, "address", s.addrLocked().String(),
		"allow", s.senders.nAllow, "profiles", len(s.cfg.Profiles)}
	if s.certs != nil {
		attrs = append(attrs, "client_auth", s.cfg.TLS.ClientAuth, "min_version", s.cfg.TLS.MinVersion)
	}
	s.log.Info("listening", attrs...)
	return nil
}

// Addr returns the bound address, or nil before Start. Tests listening on
// port 0 read the port from it.
func (s *Source) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrLocked()
}

func (s *Source) addrLocked() net.Addr {
	switch {
	case s.ln != nil:
		return s.ln.Addr()
	case len(s.socks) > 0:
		return s.socks[0].LocalAddr()
	}
	return nil
}

// Close releases the sockets: those of a source whose Run was never called
// (another component failed to start). Run closes them itself when ctx
// ends, so after Run there is nothing left to release.
func (s *Source) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

// closeLocked closes the listener and the UDP sockets. Sockets that Run's
// readers are using are only woken (a descriptor closed under a reader could
// be reused by another file while the reader still holds its number); Run
// closes them once its readers have returned.
func (s *Source) closeLocked() error {
	var errs []error
	if !s.closed {
		s.closed = true
		if s.ln != nil {
			errs = append(errs, s.ln.Close())
		}
	}
	for _, sock := range s.socks {
		if s.reading {
			sock.wake()
		} else {
			errs = append(errs, sock.close())
		}
	}
	return errors.Join(errs...)
}

// Run serves until ctx is done, then closes the sockets and connections,
// waits for every goroutine it started and returns nil. It never sends on
// out after it returns, so the pipeline may close out then. Run is called
// once.
func (s *Source) Run(ctx context.Context, out chan<- pipeline.Batch) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	// Any return path (not only the caller's cancel) must stop the closer.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	s.mu.Lock()
	if s.closed { // Close came between Start and here: nothing to serve
		s.mu.Unlock()
		return nil
	}
	ln, socks := s.ln, s.socks
	s.reading = len(socks) > 0
	s.mu.Unlock()

	// The closer wakes every blocked Accept, recvmmsg and Read when ctx
	// ends: closing a listener or connection, or shutting a UDP socket
	// down, is the only way to interrupt them.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		<-ctx.Done()
		s.mu.Lock()
		_ = s.closeLocked()
		s.mu.Unlock()
		s.conns.stopAll()
	}()

	var err error
	var wg sync.WaitGroup
	switch {
	case ln != nil:
		err = s.acceptLoop(ctx, ln, out, &wg)
	default:
		for i, sock := range socks {
			reader := pipeline.ReaderScope(s.session, s.name, uint64(i))
			wg.Go(func() { s.readUDP(ctx, sock, reader, out) })
		}
	}
	wg.Wait()
	cancel()
	<-closed
	s.mu.Lock()
	s.reading = false
	_ = s.closeLocked() // the UDP sockets, now that no reader uses them
	s.mu.Unlock()
	s.log.Info("stopped")
	return err
}

// batcher builds batches. Event structs and their raw bytes are carved out
// of a few large allocations instead of two per event: the events of a batch
// share one []pipeline.Event, and raw bytes are sub-slices of an arena chunk.
// Chunks outlive batches (one chunk may back several consecutive batches);
// sub-slices never overlap and are never written again once handed out, so
// sharing them is safe.
type batcher struct {
	size      int                // events per batch
	next      pipeline.IDCounter // the id of the next event of the connection or reader
	ids       pipeline.IDBuffer
	arenaSize int
	events    []pipeline.Event
	last      int // events in the previous batch
	arena     []byte

	// Counts of the current batch, added to the metrics when it is taken,
	// so that many connections do not contend on the counters per event.
	bytes, truncated, bad int
}

func newBatcher(size, maxMessage int, scope pipeline.IDScope) *batcher {
	return &batcher{size: size, arenaSize: max(2*maxMessage, 64<<10), next: scope.Counter(0)}
}

// reserve makes sure the arena has room for n more bytes.
func (b *batcher) reserve(n int) {
	if cap(b.arena)-len(b.arena) < n {
		b.arena = make([]byte, 0, max(b.arenaSize, n))
	}
}

// push adds an event whose raw bytes are b.arena[start:], with the next id
// of the batcher's stream.
func (b *batcher) push(start int, received time.Time, origin *pipeline.Origin, peer netip.AddrPort, flags pipeline.Flags) {
	if b.events == nil {
		// Size for what the last batch needed, not for a full batch: at
		// low rates batches hold one event, and a full-size array for each
		// would cost more than the events. append grows it when needed.
		b.events = make([]pipeline.Event, 0, min(b.size, max(b.last, 4)))
	}
	end := len(b.arena)
	b.events = append(b.events, pipeline.Event{
		// The full slice expression caps Raw so that an append by a
		// consumer can never write into the next event's bytes.
		Raw:      b.arena[start:end:end],
		Received: received,
		Origin:   origin,
		Peer:     peer,
		Flags:    flags,
	})
	b.ids.AddNext(&b.next)
	b.bytes += end - start
	if flags&pipeline.FlagTruncated != 0 {
		b.truncated++
	}
}

func (b *batcher) len() int   { return len(b.events) }
func (b *batcher) full() bool { return len(b.events) >= b.size }

// take returns the pending events as a batch and starts a new one. Ack is
// nil: syslog has no replay, so nobody waits for the acknowledgement.
func (b *batcher) take(m *sourceMetrics) pipeline.Batch {
	b.ids.Assign(b.events)
	ptrs := make([]*pipeline.Event, len(b.events))
	for i := range b.events {
		ptrs[i] = &b.events[i]
	}
	m.received.Add(float64(len(b.events)))
	m.receivedBytes.Add(float64(b.bytes))
	if b.truncated > 0 {
		m.truncated.Add(float64(b.truncated))
	}
	if b.bad > 0 {
		m.badFrame.Add(float64(b.bad))
	}
	b.last = len(b.events)
	b.events, b.bytes, b.truncated, b.bad = nil, 0, 0, 0
	return pipeline.Batch{Events: ptrs}
}

// peerOf returns a remote address as a netip.AddrPort, IPv4-mapped IPv6
// addresses (from dual-stack sockets) unmapped to plain IPv4.
func peerOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	case nil:
		return ap
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// Interface guard.
var _ pipeline.Source = (*Source)(nil)
