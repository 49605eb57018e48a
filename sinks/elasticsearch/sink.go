// Package elasticsearch delivers events to Elasticsearch with the _bulk API,
// into data streams named logs-{event.dataset}-{namespace} by default.
//
// Each Write is split into chunks (max_events_per_request,
// max_bytes_per_request); up to `concurrency` chunks are sent at once, each
// as one synchronous, gzip-compressed _bulk request whose body is built by
// hand into a buffer reused across calls. Every document is created with
// op_type=create and a deterministic _id (DocumentID), so a retried event
// that was in fact stored answers 409 and counts as delivered: retries never
// duplicate.
//
// Item results are merged into one pipeline.ItemErrors indexed into the
// events of the Write: 429 and 5xx items are transient (the sink loop retries
// just those), other 4xx items are Permanent (dead-lettered, e.g. into the
// DeadLetter data stream of this package).
package elasticsearch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	gzip "github.com/klauspost/compress/gzip"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// Sink writes events to Elasticsearch. Write is called by one goroutine at
// a time (the sink loop), as the pipeline.Sink contract says; Start and
// Close are called once each.
type Sink struct {
	cfg    Config
	log    *slog.Logger
	m      *metrics.Metrics
	client *es.Client
	http   *http.Transport
	names  *indexNamer

	started  atomic.Bool            // a Start succeeded: the templates are in place
	startErr atomic.Pointer[string] // why the last Start failed

	// Reused by Write; only the Write goroutine touches these.
	chunks  []chunk
	targets []string // index name per event of the current Write
	results []chunkResult
	workers []*chunkWriter
	items   pipeline.ItemErrors
}

// New checks the configuration and builds the client. It does not touch
// the network: Start does.
func New(cfg Config, log *slog.Logger, m *metrics.Metrics) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr, err := newHTTPTransport(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.TLS.InsecureSkipVerify {
		log.Warn("TLS CERTIFICATE VERIFICATION IS OFF (tls.insecure_skip_verify); anyone on the path can read and alter the events")
	}
	client, err := es.NewClient(es.Config{
		Addresses: cfg.Addresses,
		Username:  cfg.Username,
		Password:  string(cfg.Password),
		APIKey:    string(cfg.APIKey),
		Transport: tr,
		// The sink loop owns retries (with backoff and the shutdown deadline);
		// retrying inside the client as well would multiply the attempts.
		DisableRetry: true,
	})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	s := &Sink{cfg: cfg, log: log, m: m, client: client, http: tr, names: newIndexNamer(cfg.Mode, cfg.Index)}
	for range cfg.Concurrency {
		s.workers = append(s.workers, newChunkWriter(s))
	}
	return s, nil
}

// newHTTPTransport builds the connection pool: TLS as configured, enough
// idle connections for every chunk in flight, and bounded dial and header waits.
func newHTTPTransport(cfg Config) (*http.Transport, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLS.InsecureSkipVerify}
	if cfg.TLS.CAFile != "" {
		pem, err := os.ReadFile(cfg.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: no PEM certificate in %s", cfg.TLS.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: cfg.RequestTimeout,
		MaxIdleConnsPerHost:   cfg.Concurrency + 2,
		IdleConnTimeout:       90 * time.Second,
		// We compress request bodies ourselves; responses are small.
		DisableCompression: true,
	}, nil
}

// errUnavailable marks a connect that failed because the cluster did not
// answer (connection refused, timeout, 5xx or 429), as opposed to answering
// no (wrong credentials, refused templates).
var errUnavailable = errors.New("elasticsearch does not answer")

// Start probes the cluster and, when install_template is set, installs the
// index templates (and the dead-letter index's): wrong credentials or
// refused templates fail the start. A cluster that does not answer does
// not: Start logs a warning and returns nil, sources start, events wait in
// the sink's queue or disk buffer (then when_full applies), Ready says not
// ready, and each Write connects first until the cluster answers
// (templates must exist before the first document creates its data stream).
func (s *Sink) Start(ctx context.Context) error {
	err := s.connect(ctx)
	if errors.Is(err, errUnavailable) {
		s.log.Warn("Elasticsearch does not answer at start; starting anyway: events wait in the sink's queue or disk buffer (then when_full applies) and the sink retries until it answers",
			"err", err)
		return nil
	}
	return err
}

// connect probes and installs the templates; once it succeeded, Write
// stops calling it.
func (s *Sink) connect(ctx context.Context) error {
	err := s.start(ctx)
	if err != nil {
		msg := err.Error()
		s.startErr.Store(&msg)
		return err
	}
	s.started.Store(true)
	return nil
}

func (s *Sink) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	version, err := s.probe(ctx)
	if err != nil {
		if unavailable(err) {
			return fmt.Errorf("%w: %w", errUnavailable, err)
		}
		return err
	}
	s.log.Info("connected", "version", version, "addresses", redactedAddresses(s.cfg.Addresses), "mode", s.cfg.Mode)
	if s.cfg.InstallTemplate {
		if err := s.installTemplates(ctx); err != nil {
			if unavailable(err) {
				return fmt.Errorf("%w: %w", errUnavailable, err)
			}
			return err
		}
	}
	return nil
}

// unavailable reports whether err says the cluster did not answer, as
// opposed to answering no.
func unavailable(err error) bool {
	var re *RequestError
	if errors.As(err, &re) {
		return re.Status >= 500 || re.Status == http.StatusTooManyRequests
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Ready reports whether the sink has reached the cluster (and installed its
// templates), and if not, why (for /readyz).
func (s *Sink) Ready() (bool, string) {
	if s.started.Load() {
		return true, ""
	}
	why := "not started"
	if p := s.startErr.Load(); p != nil {
		why = *p
	}
	return false, "elasticsearch not reached yet: " + why
}

// Write sends events as one or more _bulk requests and returns nil when
// Elasticsearch stored all of them (or already had them: 409 on create),
// pipeline.ItemErrors when some failed, or one error when all failed alike.
func (s *Sink) Write(ctx context.Context, events []*pipeline.Event) error {
	if len(events) == 0 {
		return nil
	}
	if !s.started.Load() {
		if err := s.connect(ctx); err != nil {
			return fmt.Errorf("start: %w", err) // transient: the sink loop retries
		}
	}
	s.split(events)
	n := len(s.chunks)
	if cap(s.results) < n {
		s.results = make([]chunkResult, n)
	}
	s.results = s.results[:n]
	workers := min(n, len(s.workers))
	if workers == 1 {
		for i := range s.chunks {
			s.results[i] = s.workers[0].send(ctx, events, s.chunks[i])
		}
	} else {
		var next atomic.Int32
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func(cw *chunkWriter) {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					s.results[i] = cw.send(ctx, events, s.chunks[i])
				}
			}(s.workers[w])
		}
		wg.Wait()
	}
	return s.merge()
}

// merge turns the chunk results into Write's return value.
func (s *Sink) merge() error {
	if len(s.results) == 1 && s.results[0].err != nil {
		return s.results[0].err
	}
	s.items = s.items[:0]
	for i, r := range s.results {
		c := s.chunks[i]
		if r.err != nil {
			for j := c.start; j < c.end; j++ {
				s.items = append(s.items, pipeline.ItemError{Index: j, Err: r.err})
			}
			continue
		}
		s.items = append(s.items, r.items...)
	}
	if len(s.items) == 0 {
		return nil
	}
	// The sink loop reads the errors after Write returns and before the next
	// Write, but a copy keeps the contract obvious: the caller owns it.
	return append(pipeline.ItemErrors(nil), s.items...)
}

// Close releases idle connections. Writes are synchronous, so nothing is buffered.
func (s *Sink) Close(context.Context) error {
	s.http.CloseIdleConnections()
	return nil
}

// chunk is the events [start, end) of a Write, sent as one _bulk request.
type chunk struct{ start, end int }

// split cuts events into chunks by count and by estimated body size.
func (s *Sink) split(events []*pipeline.Event) {
	s.chunks = s.chunks[:0]
	s.targets = s.targets[:0]
	start, size := 0, 0
	for i, ev := range events {
		target := s.names.name(ev)
		s.targets = append(s.targets, target)
		n := actionOverhead + len(target) + len(ev.ID) + len(ev.JSON)
		if i > start && (i-start >= s.cfg.MaxEventsPerRequest || size+n > s.cfg.MaxBytesPerRequest) {
			s.chunks = append(s.chunks, chunk{start, i})
			start, size = i, 0
		}
		size += n
	}
	s.chunks = append(s.chunks, chunk{start, len(events)})
}

// actionOverhead is the size of an action line without its index name, plus
// the document's newline.
const actionOverhead = len(`{"create":{"_index":"","_id":""}}`) + 1 + 1

// chunkResult is the outcome of one chunk: err for the whole chunk, or the
// failed items with indices into the Write's events.
type chunkResult struct {
	err   error
	items []pipeline.ItemError
}

// newGzip returns a writer at level 1: on a log stream it compresses about
// as well as the default level at a fraction of the CPU.
func newGzip() *gzip.Writer {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}

var _ pipeline.Sink = (*Sink)(nil)
