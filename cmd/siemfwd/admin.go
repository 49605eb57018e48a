package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"siemfwd/internal/confcheck"
	"siemfwd/pipeline/ledger"
	syslogsrc "siemfwd/sources/syslog"
)

// Limits of the admin listener that no operator needs to tune.
const (
	// adminMaxHeaderBytes bounds a request's line and headers (net/http answers 431 above it).
	adminMaxHeaderBytes = 16 << 10
	// adminMaxURLBytes bounds the request target; longer ones get 414.
	adminMaxURLBytes = 8 << 10
)

// AdminServerConfig configures the admin HTTP listener (/metrics, /healthz,
// /readyz, /senders). Its limits keep slow or hostile clients from taking
// more than a few goroutines and a few kilobytes each, so that they cannot
// disturb ingestion. The caller prefixes the keys that Validate reports with
// "admin.".
type AdminServerConfig struct {
	// Address to listen on, e.g. 127.0.0.1:9600; empty turns the listener off.
	Address string `mapstructure:"address"`
	// ReadHeaderTimeout closes a connection that has not sent a whole request header in this time.
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request.
	ReadTimeout time.Duration `mapstructure:"read_timeout"`
	// WriteTimeout bounds writing a response (a /senders of 10000 senders is a few MB).
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// IdleTimeout closes a kept-alive connection that sent no new request in this time.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// MaxConcurrentRequests is the most requests served at once; more get 503 at once.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`
	// MaxConnections is the most connections open at once; more wait in the kernel's backlog.
	MaxConnections int `mapstructure:"max_connections"`
	// ShutdownTimeout is how long a stop waits for requests in progress before closing their connections.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// TokenFile holds the bearer token that /metrics and /senders require
	// (surrounding white space is ignored); the environment variable
	// SIEMFWD_ADMIN_TOKEN is the other way to give it. Without a token,
	// /metrics is open and /senders answers only on a loopback address.
	// /healthz and /readyz never need it, for probes.
	TokenFile string `mapstructure:"token_file"`
	// TLS serves HTTPS when tls.cert_file is set: the keys and the reloading
	// of a syslog source's tls block.
	TLS syslogsrc.TLSConfig `mapstructure:"tls"`

	// token is the bearer token read from TokenFile or the environment by
	// resolveToken; empty means none.
	token string
}

// DefaultAdminServerConfig returns the defaults: off (no address), 5s to
// send a header, 10s to send a request, 30s to receive a response, 60s idle,
// 16 requests and 64 connections at once, 2s to finish at shutdown.
func DefaultAdminServerConfig() AdminServerConfig {
	return AdminServerConfig{
		ReadHeaderTimeout:     5 * time.Second,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           60 * time.Second,
		MaxConcurrentRequests: 16,
		MaxConnections:        64,
		ShutdownTimeout:       2 * time.Second,
		TLS:                   syslogsrc.DefaultConfig().TLS,
	}
}

// adminTokenEnv names the environment variable that can hold the admin
// bearer token (instead of admin.token_file).
const adminTokenEnv = "SIEMFWD_ADMIN_TOKEN"

// resolveToken reads the bearer token from token_file or the environment.
func (c *AdminServerConfig) resolveToken(getenv func(string) string) error {
	env := getenv(adminTokenEnv)
	switch {
	case c.TokenFile != "" && env != "":
		return fmt.Errorf("token_file: set, and %s too; give the token one way", adminTokenEnv)
	case c.TokenFile != "":
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("token_file: %w", err)
		}
		c.token = strings.TrimSpace(string(b))
		if c.token == "" {
			return fmt.Errorf("token_file: %s is empty", c.TokenFile)
		}
	default:
		c.token = strings.TrimSpace(env)
	}
	return nil
}

// Validate reports every problem, each naming its key relative to "admin".
func (c AdminServerConfig) Validate() error {
	var errs confcheck.Problems
	if c.Address != "" {
		if _, port, err := net.SplitHostPort(c.Address); err != nil {
			errs.Add("address", "must be host:port or empty (off), got %q: %v", c.Address, err)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			errs.Add("address", "port must be a number 0-65535, got %q", port)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout},
		{"read_timeout", c.ReadTimeout},
		{"write_timeout", c.WriteTimeout},
		{"idle_timeout", c.IdleTimeout},
		{"shutdown_timeout", c.ShutdownTimeout},
	} {
		errs.Positive(d.key, d.v)
	}
	if c.MaxConcurrentRequests < 1 {
		errs.Add("max_concurrent_requests", "must be > 0, got %d", c.MaxConcurrentRequests)
	}
	if c.MaxConnections < 1 {
		errs.Add("max_connections", "must be > 0, got %d", c.MaxConnections)
	}
	errs.Under("tls", c.TLS.Validate(c.TLS.CertFile != "" || c.TLS.KeyFile != "", "when tls.cert_file is set"))
	return errs.Err()
}

// adminDeps is what the admin endpoints read.
type adminDeps struct {
	// Gatherer is served on /metrics.
	Gatherer prometheus.Gatherer
	// Ready backs /readyz: true when every listener is bound and every sink
	// reachable or buffering within limits, else false with one line per
	// problem. It is called once per request and must not block. nil means
	// always ready.
	Ready func() (bool, []string)
	// Ledger is served on /senders; nil leaves /senders out (404).
	Ledger *ledger.Ledger
}

// adminServer is the running admin listener.
type adminServer struct {
	srv     *http.Server
	ln      net.Listener
	served  chan struct{} // closed when Serve returned
	timeout time.Duration
	log     *slog.Logger
}

// startAdminServer listens on cfg.Address and serves the admin endpoints on
// their own goroutine until Stop. It returns once the address is bound, so a
// port in use fails the start.
func startAdminServer(cfg AdminServerConfig, deps adminDeps, log *slog.Logger) (*adminServer, error) {
	var tlsConf *tls.Config
	if cfg.TLS.CertFile != "" {
		var err error
		if tlsConf, err = syslogsrc.ServerTLS(cfg.TLS, log); err != nil {
			return nil, fmt.Errorf("admin.%w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("admin.address: %w", err)
	}
	addr, _ := ln.Addr().(*net.TCPAddr)
	exposed := addr == nil || !addr.IP.IsLoopback()
	if exposed && cfg.token == "" {
		log.Warn("ADMIN LISTENER IS REACHABLE BEYOND THIS HOST WITHOUT AUTHENTICATION: anyone who reaches "+ln.Addr().String()+
			" reads /metrics; /senders stays closed. Set admin.token_file or "+adminTokenEnv+", or listen on 127.0.0.1",
			"address", ln.Addr().String())
	}
	guard := newConnGuard(ln, cfg.MaxConnections)
	var served net.Listener = guard
	if tlsConf != nil {
		served = tls.NewListener(guard, tlsConf)
	}
	a := &adminServer{
		srv: &http.Server{
			Handler:           markBusy(adminHandler(cfg, deps, exposed, log)),
			ConnContext:       withConn,
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			ReadTimeout:       cfg.ReadTimeout,
			WriteTimeout:      cfg.WriteTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    adminMaxHeaderBytes,
			// Client mistakes (bad requests, resets) are not ours to report above debug.
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
		ln:      served,
		served:  make(chan struct{}),
		timeout: cfg.ShutdownTimeout,
		log:     log,
	}
	go func() {
		defer close(a.served)
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener failed", "err", err)
		}
	}()
	log.Info("admin listening", "address", ln.Addr().String(), "tls", tlsConf != nil, "auth", cfg.token != "")
	return a, nil
}

// Addr returns the bound address (useful with port 0).
func (a *adminServer) Addr() string { return a.ln.Addr().String() }

// Stop stops accepting, lets requests in progress finish for up to the
// shutdown timeout (or until ctx ends), then closes what is left. It returns
// after the serving goroutine has.
func (a *adminServer) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	err := a.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, a.srv.Close())
	}
	<-a.served
	if err != nil {
		return fmt.Errorf("admin stop: %w", err)
	}
	return nil
}

// adminHandler routes the endpoints behind the request limits and, for
// /metrics and /senders, the token. exposed says the listener is reachable
// beyond loopback: then /senders (senders' addresses and host names) needs
// a token.
func adminHandler(cfg AdminServerConfig, deps adminDeps, exposed bool, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	if deps.Gatherer != nil {
		mux.Handle("/metrics", requireToken(cfg.token, promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{
			ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			ErrorHandling: promhttp.ContinueOnError,
		})))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if deps.Ready == nil {
			writeText(w, http.StatusOK, "ready\n")
			return
		}
		ok, problems := deps.Ready()
		if ok {
			writeText(w, http.StatusOK, "ready\n")
			return
		}
		var b strings.Builder
		b.WriteString("not ready\n")
		for _, p := range problems {
			b.WriteString(p)
			b.WriteByte('\n')
		}
		writeText(w, http.StatusServiceUnavailable, b.String())
	})
	switch {
	case deps.Ledger == nil:
	case exposed && cfg.token == "":
		mux.HandleFunc("/senders", func(w http.ResponseWriter, _ *http.Request) {
			writeText(w, http.StatusForbidden, "/senders lists every sender: off beyond loopback without a token (admin.token_file or "+adminTokenEnv+")\n")
		})
	default:
		mux.Handle("/senders", requireToken(cfg.token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			serveSenders(w, r, deps.Ledger, log)
		})))
	}
	return limitRequests(cfg.MaxConcurrentRequests, mux)
}

// requireToken lets a request through to next only with the header
// "Authorization: Bearer <token>"; an empty token lets every request through.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(given))
		// Comparing hashes in constant time tells nothing about the token's length or prefix.
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="siemfwd"`)
			writeText(w, http.StatusUnauthorized, "bearer token required\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isProbe says whether a path is a health probe: cheap, never behind the
// token or the request slots, so that a busy /metrics or /senders cannot
// fail a liveness check.
func isProbe(path string) bool { return path == "/healthz" || path == "/readyz" }

// limitRequests answers 405 to anything but GET, 414 to long URLs, and 503
// when max requests other than probes are already being served, before
// next sees the request.
// A scrape or a probe that gets 503 simply tries again; ingestion never waits
// for the admin listener.
func limitRequests(max int, next http.Handler) http.Handler {
	slots := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeText(w, http.StatusMethodNotAllowed, "only GET\n")
			return
		}
		if len(r.RequestURI) > adminMaxURLBytes {
			writeText(w, http.StatusRequestURITooLong, "URL too long\n")
			return
		}
		if isProbe(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			w.Header().Set("Retry-After", "1")
			writeText(w, http.StatusServiceUnavailable, "busy\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// sendersJSON is the /senders document.
type sendersJSON struct {
	Senders   []senderJSON `json:"senders"`
	Tracked   int          `json:"tracked"`   // senders in the ledger (before the quiet filter)
	Evictions uint64       `json:"evictions"` // senders forgotten to stay within ledger.max_senders
}

// senderJSON is one sender in /senders. Times are RFC 3339 in UTC, null when
// never heard; dropped is always an object.
type senderJSON struct {
	Address         string            `json:"address"` // "" for events with no address (files)
	Hostname        string            `json:"hostname"`
	FirstSeen       *string           `json:"first_seen"`
	LastSeen        *string           `json:"last_seen"`
	Received        uint64            `json:"received"`
	Delivered       uint64            `json:"delivered"`
	Dropped         map[string]uint64 `json:"dropped"`
	InFlight        uint64            `json:"in_flight"`
	Quiet           bool              `json:"quiet"`
	Expected        bool              `json:"expected"`
	IntervalSeconds float64           `json:"interval_seconds"` // 0 = never quiet
}

// serveSenders writes the ledger snapshot. ?quiet=true lists only quiet senders.
func serveSenders(w http.ResponseWriter, r *http.Request, l *ledger.Ledger, log *slog.Logger) {
	onlyQuiet := false
	if q := r.URL.Query().Get("quiet"); q != "" {
		v, err := strconv.ParseBool(q)
		if err != nil {
			writeText(w, http.StatusBadRequest, "quiet: must be true or false\n")
			return
		}
		onlyQuiet = v
	}
	snap := l.Snapshot()
	doc := sendersJSON{Senders: make([]senderJSON, 0, len(snap)), Tracked: len(snap), Evictions: l.Evictions()}
	for _, s := range snap {
		if onlyQuiet && !s.Quiet {
			continue
		}
		j := senderJSON{
			Hostname:        s.Hostname,
			Received:        s.Received,
			Delivered:       s.Delivered,
			Dropped:         s.Dropped,
			InFlight:        s.InFlight,
			Quiet:           s.Quiet,
			Expected:        s.Expected,
			IntervalSeconds: s.Interval.Seconds(),
		}
		if s.Address.IsValid() {
			j.Address = s.Address.String()
		}
		if j.Dropped == nil {
			j.Dropped = map[string]uint64{}
		}
		if !s.FirstSeen.IsZero() {
			first, last := s.FirstSeen.UTC().Format(time.RFC3339), s.LastSeen.UTC().Format(time.RFC3339)
			j.FirstSeen, j.LastSeen = &first, &last
		}
		doc.Senders = append(doc.Senders, j)
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(doc); err != nil {
		log.Debug("writing /senders failed", "err", err)
	}
}
