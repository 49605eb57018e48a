package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/pipeline/ledger"
	"siemfwd/pipeline/metrics"
)

// testAdmin starts an admin listener on a free loopback port and stops it
// when the test ends.
func testAdmin(t *testing.T, cfg AdminServerConfig, deps adminDeps) string {
	t.Helper()
	cfg.Address = "127.0.0.1:0"
	require.NoError(t, cfg.Validate())
	a, err := startAdminServer(cfg, deps, slog.New(slog.NewTextHandler(t.Output(), nil)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Stop(context.Background())) })
	return "http://" + a.Addr()
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	return do(t, http.MethodGet, url)
}

func do(t *testing.T, method, url string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func TestAdminHealthz(t *testing.T) {
	base := testAdmin(t, DefaultAdminServerConfig(), adminDeps{})
	code, h, body := get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", body)
	assert.Equal(t, "no-store", h.Get("Cache-Control"))

	code, _, _ = get(t, base+"/nope")
	assert.Equal(t, http.StatusNotFound, code)
	code, _, _ = get(t, base+"/senders")
	assert.Equal(t, http.StatusNotFound, code, "no ledger, no /senders")
}

func TestAdminMetricsFollowConventions(t *testing.T) {
	m := metrics.New()
	// Give every labelled family a child, so that its labels are served.
	m.SourceReceived.WithLabelValues("syslog_udp").Inc()
	m.SourceReceivedBytes.WithLabelValues("syslog_udp").Add(100)
	m.SourceDropped.WithLabelValues("syslog_udp", metrics.ReasonQueueFull).Inc()
	m.SourceConnections.WithLabelValues("syslog_tcp").Set(1)
	m.SourceTruncated.WithLabelValues("syslog_udp").Inc()
	m.ParseFailures.WithLabelValues("syslog_udp", "syslog").Inc()
	m.ClockSkew.WithLabelValues("syslog_udp").Inc()
	m.QueueEvents.WithLabelValues("input").Set(1)
	m.QueueCapacity.WithLabelValues("input").Set(1)
	m.SinkEvents.WithLabelValues("es", "sent").Inc()
	m.SinkBatches.WithLabelValues("es").Inc()
	m.SinkDropped.WithLabelValues("es", metrics.ReasonQueueFull).Inc()
	m.SinkRequestDuration.WithLabelValues("es").Observe(0.01)
	m.BuildInfo.WithLabelValues("dev", "go1.26").Set(1)
	l := ledger.New(ledger.DefaultConfig(), nil)
	require.NoError(t, l.Register(m.Registry))
	l.Received(netip.MustParseAddr("192.0.2.1"), "fw01", 1)

	base := testAdmin(t, DefaultAdminServerConfig(), adminDeps{Gatherer: m.Registry, Ledger: l})
	code, _, body := get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)

	for _, name := range []string{"siemfwd_ledger_senders", "siemfwd_ledger_evictions_total",
		"siemfwd_ledger_quiet_senders", "siemfwd_ledger_silence_alerts_total", "siemfwd_source_received_events_total"} {
		assert.Contains(t, families, name)
	}
	assert.Equal(t, 1.0, families["siemfwd_ledger_senders"].GetMetric()[0].GetGauge().GetValue())
	banned := map[string]bool{"ip": true, "addr": true, "address": true, "host": true, "hostname": true, "peer": true}
	for name, mf := range families {
		// The Go runtime's and the process's standard collectors keep their own names.
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		assert.True(t, strings.HasPrefix(name, "siemfwd_"), "%s: must start with siemfwd_", name)
		assert.NotEmpty(t, mf.GetHelp(), "%s: needs help text", name)
		isCounter := mf.GetType().String() == "COUNTER"
		assert.Equal(t, isCounter, strings.HasSuffix(name, "_total"), "%s: counters, and only counters, end in _total", name)
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				assert.False(t, banned[lp.GetName()], "%s: label %q would be unbounded", name, lp.GetName())
			}
		}
	}
}

func TestAdminReadyz(t *testing.T) {
	for _, tt := range []struct {
		name     string
		ready    func() (bool, []string)
		wantCode int
		wantBody string
	}{
		{"no check", nil, http.StatusOK, "ready\n"},
		{"ready", func() (bool, []string) { return true, nil }, http.StatusOK, "ready\n"},
		{"not ready", func() (bool, []string) {
			return false, []string{"source syslog_tcp: not bound", "sink kafka: unreachable: dial tcp: connection refused"}
		}, http.StatusServiceUnavailable,
			"not ready\nsource syslog_tcp: not bound\nsink kafka: unreachable: dial tcp: connection refused\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := testAdmin(t, DefaultAdminServerConfig(), adminDeps{Ready: tt.ready})
			code, _, body := get(t, base+"/readyz")
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantBody, body)
		})
	}
}

func TestAdminSenders(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	cfg := ledger.DefaultConfig()
	cfg.ExpectedSenders = []ledger.ExpectedSender{
		{Address: "10.0.0.5", Hostname: "mail01", Interval: 5 * time.Minute},
		{Address: "10.0.0.6", Hostname: "fw01", Interval: time.Hour},
	}
	l := ledger.New(cfg, clock)
	tk := l.Received(netip.MustParseAddr("192.0.2.1"), "edge01", 10)
	now.Add(int64(90 * time.Second))
	l.Done(tk, 7, "")
	l.Done(tk, 1, "queue_full")
	l.Dropped(netip.MustParseAddr("192.0.2.1"), 3, "not_allowed")
	l.Received(netip.MustParseAddr("10.0.0.6"), "", 1)
	l.Received(netip.Addr{}, "", 2)
	now.Add(int64(5 * time.Minute))

	base := testAdmin(t, DefaultAdminServerConfig(), adminDeps{Ledger: l})
	code, h, body := get(t, base+"/senders")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.JSONEq(t, `{
		"tracked": 4,
		"evictions": 0,
		"senders": [
			{"address": "", "hostname": "", "first_seen": "2025-03-01T12:01:30Z", "last_seen": "2025-03-01T12:01:30Z",
			 "received": 2, "delivered": 0, "dropped": {}, "in_flight": 2, "quiet": false, "expected": false, "interval_seconds": 0},
			{"address": "10.0.0.5", "hostname": "mail01", "first_seen": null, "last_seen": null,
			 "received": 0, "delivered": 0, "dropped": {}, "in_flight": 0, "quiet": true, "expected": true, "interval_seconds": 300},
			{"address": "10.0.0.6", "hostname": "fw01", "first_seen": "2025-03-01T12:01:30Z", "last_seen": "2025-03-01T12:01:30Z",
			 "received": 1, "delivered": 0, "dropped": {}, "in_flight": 1, "quiet": false, "expected": true, "interval_seconds": 3600},
			{"address": "192.0.2.1", "hostname": "edge01", "first_seen": "2025-03-01T12:00:00Z", "last_seen": "2025-03-01T12:01:30Z",
			 "received": 13, "delivered": 7, "dropped": {"queue_full": 1, "not_allowed": 3}, "in_flight": 2, "quiet": false, "expected": false, "interval_seconds": 0}
		]
	}`, body)

	// Every sender balances in what an operator reads.
	var doc struct {
		Senders []struct {
			Address   string            `json:"address"`
			Received  uint64            `json:"received"`
			Delivered uint64            `json:"delivered"`
			InFlight  uint64            `json:"in_flight"`
			Dropped   map[string]uint64 `json:"dropped"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	for _, s := range doc.Senders {
		var dropped uint64
		for _, n := range s.Dropped {
			dropped += n
		}
		assert.Equal(t, s.Received, s.Delivered+dropped+s.InFlight, s.Address)
	}

	code, _, body = get(t, base+"/senders?quiet=true")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	require.Len(t, doc.Senders, 1)
	assert.Equal(t, "10.0.0.5", doc.Senders[0].Address)

	code, _, _ = get(t, base+"/senders?quiet=maybe")
	assert.Equal(t, http.StatusBadRequest, code)
}

func TestAdminRefusesWhatItDoesNotServe(t *testing.T) {
	base := testAdmin(t, DefaultAdminServerConfig(), adminDeps{})
	for _, tt := range []struct {
		name, method, url string
		want              int
	}{
		{"URL of 10 KiB", http.MethodGet, base + "/healthz?x=" + strings.Repeat("a", 10<<10), http.StatusRequestURITooLong},
		{"URL of 8 KiB", http.MethodGet, base + "/healthz?x=" + strings.Repeat("a", (8<<10)-len("/healthz?x=")), http.StatusOK},
		{"POST", http.MethodPost, base + "/healthz", http.StatusMethodNotAllowed},
		{"PUT", http.MethodPut, base + "/metrics", http.StatusMethodNotAllowed},
		{"HEAD", http.MethodHead, base + "/healthz", http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, h, _ := do(t, tt.method, tt.url)
			assert.Equal(t, tt.want, code)
			if code == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET", h.Get("Allow"))
			}
		})
	}

	t.Run("headers over 16 KiB", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, base+"/healthz", nil)
		require.NoError(t, err)
		for i := range 8 {
			req.Header.Set("X-Big-"+string(rune('a'+i)), strings.Repeat("b", 4<<10))
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	})
}

func TestAdminLimitsConcurrentRequests(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	slowGatherer := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		entered <- struct{}{}
		<-release
		return nil, nil
	})
	cfg := DefaultAdminServerConfig()
	cfg.MaxConcurrentRequests = 2
	base := testAdmin(t, cfg, adminDeps{Gatherer: slowGatherer})

	results := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Get(base + "/metrics")
			if err != nil {
				results <- 0
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	<-entered
	<-entered // both slots are taken now
	code, h, body := get(t, base+"/metrics")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "busy\n", body)
	assert.Equal(t, "1", h.Get("Retry-After"))
	code, _, _ = get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, "probes take no slot")
	code, _, _ = get(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, "probes take no slot")

	close(release)
	assert.Equal(t, http.StatusOK, <-results)
	assert.Equal(t, http.StatusOK, <-results)
	go func() { <-entered }() // the next scrape's gather
	code, _, _ = get(t, base+"/metrics")
	assert.Equal(t, http.StatusOK, code, "slots are given back")
}

// TestAdminProbesAnswerDespiteHalfSentRequests: as many clients as the
// listener takes connections each send half a request and wait. A probe
// must still be answered, long before the header timeout (an hour here)
// could free a connection: the oldest half-sent one makes room for it.
func TestAdminProbesAnswerDespiteHalfSentRequests(t *testing.T) {
	cfg := DefaultAdminServerConfig()
	cfg.ReadHeaderTimeout, cfg.ReadTimeout = time.Hour, time.Hour
	require.Equal(t, 64, cfg.MaxConnections)
	base := testAdmin(t, cfg, adminDeps{Ready: func() (bool, []string) { return true, nil }})
	for range cfg.MaxConnections {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		require.NoError(t, err)
		defer c.Close()
		_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: admin\r\nX-Half: ")
		require.NoError(t, err)
	}
	// A probe with a generous timeout: without eviction it would wait for
	// the hour-long header timeout and fail.
	probe := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := probe.Get(base + path)
		require.NoError(t, err, path)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
}

// startAdminAt starts an admin listener on address with cfg and returns its
// base URL and its log.
func startAdminAt(t *testing.T, address string, cfg AdminServerConfig, deps adminDeps) (string, *lockedBuffer) {
	t.Helper()
	cfg.Address = address
	require.NoError(t, cfg.Validate())
	logs := &lockedBuffer{}
	a, err := startAdminServer(cfg, deps, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Stop(context.Background())) })
	_, port, err := net.SplitHostPort(a.Addr())
	require.NoError(t, err)
	return "http://127.0.0.1:" + port, logs
}

func getWithToken(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestAdminAuthentication(t *testing.T) {
	deps := adminDeps{Gatherer: prometheus.NewRegistry(), Ledger: ledger.New(ledger.DefaultConfig(), nil)}
	withToken := DefaultAdminServerConfig()
	withToken.token = "s3cret-token"
	tests := []struct {
		name    string
		address string
		cfg     AdminServerConfig
		token   string
		metrics int
		senders int
		warns   bool
	}{
		{"loopback, no token", "127.0.0.1:0", DefaultAdminServerConfig(), "", 200, 200, false},
		{"exposed, no token", "0.0.0.0:0", DefaultAdminServerConfig(), "", 200, 403, true},
		{"exposed, token given", "0.0.0.0:0", withToken, "s3cret-token", 200, 200, false},
		{"exposed, no token given", "0.0.0.0:0", withToken, "", 401, 401, false},
		{"exposed, wrong token", "0.0.0.0:0", withToken, "s3cret-tokeN", 401, 401, false},
		{"loopback, token required", "127.0.0.1:0", withToken, "", 401, 401, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, logs := startAdminAt(t, tt.address, tt.cfg, deps)
			assert.Equal(t, tt.metrics, getWithToken(t, base+"/metrics", tt.token), "/metrics")
			assert.Equal(t, tt.senders, getWithToken(t, base+"/senders", tt.token), "/senders")
			assert.Equal(t, 200, getWithToken(t, base+"/healthz", ""), "probes need no token")
			assert.Equal(t, 200, getWithToken(t, base+"/readyz", ""), "probes need no token")
			out := strings.Join(logs.lines(), "\n")
			assert.Equal(t, tt.warns, strings.Contains(out, "level=WARN msg=\"ADMIN LISTENER IS REACHABLE BEYOND THIS HOST WITHOUT AUTHENTICATION"), out)
			assert.NotContains(t, out, "s3cret")
		})
	}
}

func TestAdminTokenFromFileOrEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(file, []byte("  from-file\n"), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == adminTokenEnv {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, file, env, want, errSub string
	}{
		{"none", "", "", "", ""},
		{"file", file, "", "from-file", ""},
		{"environment", "", "from-env", "from-env", ""},
		{"both", file, "from-env", "", "token_file: set, and SIEMFWD_ADMIN_TOKEN too"},
		{"empty file", empty, "", "", "token_file: " + empty + " is empty"},
		{"missing file", filepath.Join(dir, "nope"), "", "", "token_file: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultAdminServerConfig()
			c.TokenFile = tt.file
			err := c.resolveToken(env(tt.env))
			if tt.errSub != "" {
				require.ErrorContains(t, err, tt.errSub)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, c.token)
		})
	}
}

func TestAdminServesTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir, "admin", x509.ExtKeyUsageServerAuth)
	cfg := DefaultAdminServerConfig()
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certFile, keyFile
	base, _ := startAdminAt(t, "127.0.0.1:0", cfg, adminDeps{})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(strings.Replace(base, "http://", "https://", 1) + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotNil(t, resp.TLS)

	cfg.TLS.KeyFile = ""
	require.ErrorContains(t, cfg.Validate(), "tls.key_file: required when tls.cert_file is set")
}

// selfSignedCert writes a certificate for 127.0.0.1 and dnsNames, for the
// usage given (a server's or a client's), and its key as name.crt and
// name.key, and returns their paths and a pool that trusts the certificate.
func selfSignedCert(t *testing.T, dir, name string, usage x509.ExtKeyUsage, dnsNames ...string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "siemfwd " + name + " test", Organization: []string{"siemfwd tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     dnsNames,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestAdminSlowClient: a client that sends half a header and then nothing
// neither blocks other requests nor keeps its connection past the header timeout.
func TestAdminSlowClient(t *testing.T) {
	cfg := DefaultAdminServerConfig()
	cfg.ReadHeaderTimeout = 200 * time.Millisecond
	cfg.ReadTimeout = time.Hour   // so that only the header timeout can cut it
	cfg.MaxConcurrentRequests = 1 // the slow client must not hold the only slot
	base := testAdmin(t, cfg, adminDeps{})

	slow, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer slow.Close()
	_, err = io.WriteString(slow, "GET /healthz HTTP/1.1\r\nHost: admin\r\nX-Half: ")
	require.NoError(t, err)

	code, _, body := get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", body)

	// The server must close the slow connection by itself: read until EOF,
	// with a deadline far beyond the header timeout only as a safety net.
	require.NoError(t, slow.SetReadDeadline(time.Now().Add(30*time.Second)))
	got, err := io.ReadAll(slow)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server did not close the slow connection")
	if err != nil {
		// Closing with our half-request unread may reset instead of FIN: closed all the same.
		require.ErrorIs(t, err, syscall.ECONNRESET)
	}
	// net/http closes a header timeout silently; some versions answer 408 first.
	if len(got) > 0 {
		assert.True(t, strings.HasPrefix(string(got), "HTTP/1.1 408"), "unexpected answer %q", got)
	}
}

func TestAdminStop(t *testing.T) {
	cfg := DefaultAdminServerConfig()
	cfg.Address = "127.0.0.1:0"
	a, err := startAdminServer(cfg, adminDeps{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	base := "http://" + a.Addr()
	code, _, _ := get(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code)

	// A kept-alive idle connection does not hold the stop up.
	require.NoError(t, a.Stop(context.Background()))
	_, err = http.Get(base + "/healthz")
	require.Error(t, err, "stopped listeners refuse connections")
	http.DefaultClient.CloseIdleConnections()
}

func TestAdminAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := DefaultAdminServerConfig()
	cfg.Address = ln.Addr().String()
	_, err = startAdminServer(cfg, adminDeps{}, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "admin.address")
}

func TestAdminServerConfigValidate(t *testing.T) {
	require.NoError(t, DefaultAdminServerConfig().Validate())
	ok := DefaultAdminServerConfig()
	ok.Address = "127.0.0.1:9600"
	require.NoError(t, ok.Validate())

	c := AdminServerConfig{Address: "localhost"}
	err := c.Validate()
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"address: must be host:port",
		"read_header_timeout: must be > 0",
		"read_timeout: must be > 0",
		"write_timeout: must be > 0",
		"idle_timeout: must be > 0",
		"shutdown_timeout: must be > 0",
		"max_concurrent_requests: must be > 0",
		"max_connections: must be > 0",
	}
	require.Len(t, lines, len(want), err.Error())
	for i, w := range want {
		assert.True(t, strings.HasPrefix(lines[i], w), "got %q, want prefix %q", lines[i], w)
	}
	c = DefaultAdminServerConfig()
	c.Address = "127.0.0.1:99999"
	require.ErrorContains(t, c.Validate(), "address: port must be a number 0-65535")
}
