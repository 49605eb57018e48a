package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/pipeline/metrics"
)

// fakeClock is a clock that moves only when a test (or a fake sleep) says.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pki is the certificates of one TLS test: a CA for the server, one for
// clients, a trusted client, and the kinds of client that must be refused.
type pki struct {
	serverCA, clientCA, otherCA *testCA
	server                      issued
	client, expired, foreign    issued
	files                       tlsFiles
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{serverCA: newTestCA(t, "server CA"), clientCA: newTestCA(t, "client CA"), otherCA: newTestCA(t, "other CA")}
	p.server = p.serverCA.issue(t, leafOpts{cn: "server-a", server: true})
	p.client = p.clientCA.issue(t, leafOpts{cn: "mx01.contoso.example", dns: []string{"mx01.contoso.example"}})
	p.expired = p.clientCA.issue(t, leafOpts{cn: "old.contoso.example", expired: true})
	p.foreign = p.otherCA.issue(t, leafOpts{cn: "intruder.example"})
	p.files = writeTLSFiles(t, p.server, p.clientCA)
	return p
}

func (p *pki) config(clientAuth string) Config {
	cfg := DefaultConfig()
	cfg.Protocol = ProtocolTLS
	cfg.TLS.CertFile, cfg.TLS.KeyFile = p.files.cert, p.files.key
	cfg.TLS.ClientAuth = clientAuth
	if clientAuth != ClientAuthNone {
		cfg.TLS.ClientCAFile = p.files.clientCA
	}
	return cfg
}

// clientConfig trusts the server CA and presents cert, if any, whatever
// CAs the server asks for: Go's client would otherwise keep a certificate
// of a CA the server did not name to itself, and the server would never
// see it. rsyslog and openssl send what they are configured with.
func (p *pki) clientConfig(cert *issued) *tls.Config {
	c := &tls.Config{RootCAs: p.serverCA.pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if cert != nil {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert.pair, nil
		}
	}
	return c
}

// dialTLS connects and completes the client's side of the handshake.
func dialTLS(t *testing.T, addr string, conf *tls.Config) *tls.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: patience}
	c, err := tls.DialWithDialer(d, "tcp", addr, conf)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestTLSReceive(t *testing.T) {
	p := newPKI(t)
	cfg := p.config(ClientAuthRequire)
	cfg.MaxMessageBytes = 64
	h := start(t, cfg, 16)
	c := dialTLS(t, h.src.Addr().String(), p.clientConfig(&p.client))
	_, err := io.WriteString(c, "<13>lf framed\n17 <13>octet\ncounted")
	require.NoError(t, err)
	evs := h.events(t, 2)
	require.Equal(t, []string{"<13>lf framed", "<13>octet\ncounted"}, raws(evs))
	for _, e := range evs {
		require.Equal(t, "tls", e.Origin.Transport)
		require.Equal(t, c.LocalAddr().String(), e.Peer.String())
		// The client certificate travels with the connection's events.
		require.NotNil(t, e.Origin.TLS)
		require.Equal(t, p.client.cert.Subject.CommonName, e.Origin.TLS.CommonName)
		require.NotEmpty(t, e.Origin.TLS.SHA256)
	}
	require.Equal(t, 1.0, value(t, h.m.SourceConnections.WithLabelValues("test")))
	require.Zero(t, value(t, h.m.SourceDropped.WithLabelValues("test", reasonTLSHandshake)))
	// The server spoke at least the configured minimum and showed its certificate.
	cs := c.ConnectionState()
	require.GreaterOrEqual(t, cs.Version, uint16(tls.VersionTLS12))
	require.Equal(t, "server-a", cs.PeerCertificates[0].Subject.CommonName)

	// A clean close ends the connection on both sides.
	require.NoError(t, c.CloseWrite())
	poll.Until(t, patience, "connection closed", func() bool {
		return value(t, h.m.SourceConnections.WithLabelValues("test")) == 0
	})
}

// TestTLSRefused checks every kind of client that must not get in: each is
// counted once as a failed handshake and none of its bytes become events,
// while a good client keeps working.
func TestTLSRefused(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name       string
		clientAuth string
		minVersion string
		connect    func(t *testing.T, addr string)
	}{
		{name: "plain tcp on the tls port", clientAuth: ClientAuthRequire, connect: func(t *testing.T, addr string) {
			c, err := net.DialTimeout("tcp", addr, patience)
			require.NoError(t, err)
			defer c.Close()
			_, _ = io.WriteString(c, "<13>plain text syslog\n")
			waitClosed(t, c)
		}},
		{name: "no client certificate under require", clientAuth: ClientAuthRequire, connect: tlsAttempt(p, nil)},
		{name: "client certificate from another CA", clientAuth: ClientAuthRequire, connect: tlsAttempt(p, &p.foreign)},
		{name: "expired client certificate", clientAuth: ClientAuthRequire, connect: tlsAttempt(p, &p.expired)},
		{name: "foreign certificate under request", clientAuth: ClientAuthRequest, connect: tlsAttempt(p, &p.foreign)},
		{name: "client does not trust the server", clientAuth: ClientAuthNone, connect: func(t *testing.T, addr string) {
			conf := p.clientConfig(&p.client)
			conf.RootCAs = p.otherCA.pool // wrong CA
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: patience}, "tcp", addr, conf)
			if err == nil {
				_ = c.Close()
			}
			var unknown x509.UnknownAuthorityError
			require.ErrorAs(t, err, &unknown)
		}},
		{name: "tls 1.2 client when 1.3 is the minimum", clientAuth: ClientAuthNone, minVersion: "1.3", connect: func(t *testing.T, addr string) {
			conf := p.clientConfig(nil)
			conf.MaxVersion = tls.VersionTLS12
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: patience}, "tcp", addr, conf)
			if err == nil {
				_ = c.Close()
			}
			require.Error(t, err)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := p.config(tt.clientAuth)
			if tt.minVersion != "" {
				cfg.TLS.MinVersion = tt.minVersion
			}
			h := start(t, cfg, 16)
			addr := h.src.Addr().String()
			tt.connect(t, addr)
			failed := h.m.SourceDropped.WithLabelValues("test", reasonTLSHandshake)
			poll.Until(t, patience, "handshake failure counted", func() bool { return value(t, failed) == 1 })

			// A trusted client still gets through, and its event is the only one.
			good := dialTLS(t, addr, p.clientConfig(&p.client))
			_, err := io.WriteString(good, "<13>good\n")
			require.NoError(t, err)
			require.Equal(t, []string{"<13>good"}, raws(h.events(t, 1)))
			require.Equal(t, 1.0, value(t, failed))
			require.Equal(t, 1.0, value(t, h.m.SourceReceived.WithLabelValues("test")))
		})
	}
}

// tlsAttempt connects with cert (nil: none) and writes a message. Under
// TLS 1.3 the client finishes its handshake before the server checks the
// client certificate, so the refusal shows as an alert on the next read.
func tlsAttempt(p *pki, cert *issued) func(t *testing.T, addr string) {
	return func(t *testing.T, addr string) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: patience}, "tcp", addr, p.clientConfig(cert))
		if err != nil {
			return // refused during the handshake (TLS 1.2, or a fast alert)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "<13>should not arrive\n")
		waitClosed(t, c)
	}
}

// waitClosed reads until the server closes the connection (or alerts).
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(patience)))
	_, err := io.Copy(io.Discard, c)
	if err != nil {
		require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "the server kept the connection open")
	}
}

func TestTLSRequestAcceptsClientsWithoutCertificate(t *testing.T) {
	p := newPKI(t)
	h := start(t, p.config(ClientAuthRequest), 16)
	for _, cert := range []*issued{nil, &p.client} {
		c := dialTLS(t, h.src.Addr().String(), p.clientConfig(cert))
		_, err := io.WriteString(c, "<13>hello\n")
		require.NoError(t, err)
		require.Equal(t, []string{"<13>hello"}, raws(h.events(t, 1)))
	}
}

// TestTLSCertificateRotation replaces the server certificate and the client
// CA on disk: a new connection sees the new ones once the check interval
// has passed, while a connection made before keeps working.
func TestTLSCertificateRotation(t *testing.T) {
	p := newPKI(t)
	cfg := p.config(ClientAuthRequire)
	cfg.TLS.ReloadInterval = time.Hour
	clock := newFakeClock()
	h := startWith(t, cfg, 16, func(s *Source) { s.now = clock.Now })
	addr := h.src.Addr().String()

	old := dialTLS(t, addr, p.clientConfig(&p.client))
	_, err := io.WriteString(old, "<13>before\n")
	require.NoError(t, err)
	require.Equal(t, []string{"<13>before"}, raws(h.events(t, 1)))

	// Renewal: a new server certificate, and clients now issued by a new CA.
	newServer := p.serverCA.issue(t, leafOpts{cn: "server-b", server: true})
	newClientCA := newTestCA(t, "client CA 2")
	newClient := newClientCA.issue(t, leafOpts{cn: "mx02.contoso.example"})
	writeFileAtomic(t, p.files.cert, newServer.certPEM)
	writeFileAtomic(t, p.files.key, newServer.keyPEM)
	writeFileAtomic(t, p.files.clientCA, newClientCA.pem)

	// Within the interval the files are not even looked at.
	c := dialTLS(t, addr, p.clientConfig(&p.client))
	require.Equal(t, "server-a", c.ConnectionState().PeerCertificates[0].Subject.CommonName)
	_ = c.Close()

	clock.Advance(time.Hour)
	c = dialTLS(t, addr, p.clientConfig(&newClient))
	require.Equal(t, "server-b", c.ConnectionState().PeerCertificates[0].Subject.CommonName)
	_, err = io.WriteString(c, "<13>new client\n")
	require.NoError(t, err)
	require.Equal(t, []string{"<13>new client"}, raws(h.events(t, 1)))
	require.EqualValues(t, 1, h.src.certs.reloads.Load())

	// The connection made before the rotation was not dropped.
	_, err = io.WriteString(old, "<13>after\n")
	require.NoError(t, err)
	require.Equal(t, []string{"<13>after"}, raws(h.events(t, 1)))

	// A client of the removed CA is refused now.
	tlsAttempt(p, &p.client)(t, addr)
	failed := h.m.SourceDropped.WithLabelValues("test", reasonTLSHandshake)
	poll.Until(t, patience, "old client refused", func() bool { return value(t, failed) == 1 })

	// A broken renewal (a key that does not match) keeps the working pair.
	third := p.serverCA.issue(t, leafOpts{cn: "server-c", server: true})
	writeFileAtomic(t, p.files.cert, third.certPEM)
	clock.Advance(time.Hour)
	c = dialTLS(t, addr, p.clientConfig(&newClient))
	require.Equal(t, "server-b", c.ConnectionState().PeerCertificates[0].Subject.CommonName)
	require.EqualValues(t, 1, h.src.certs.reloads.Load())
	// Once the key is there too, the next check picks the pair up.
	writeFileAtomic(t, p.files.key, third.keyPEM)
	clock.Advance(time.Hour)
	c = dialTLS(t, addr, p.clientConfig(&newClient))
	require.Equal(t, "server-c", c.ConnectionState().PeerCertificates[0].Subject.CommonName)
	require.EqualValues(t, 2, h.src.certs.reloads.Load())
}

func TestTLSListenFailsOnMissingOrBadFiles(t *testing.T) {
	p := newPKI(t)
	for name, mutate := range map[string]func(*Config){
		"missing cert":        func(c *Config) { c.TLS.CertFile = filepath.Join(p.files.dir, "nope.crt") },
		"key of another cert": func(c *Config) { c.TLS.KeyFile = writeTemp(t, p.client.keyPEM) },
		"ca without pem":      func(c *Config) { c.TLS.ClientCAFile = writeTemp(t, []byte("not pem")) },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := p.config(ClientAuthRequire)
			cfg.Address = "127.0.0.1:0"
			mutate(&cfg)
			src, err := New("x", cfg, nil, metrics.New(), nil)
			require.NoError(t, err, "files are checked at Listen, not at New or Validate")
			require.Error(t, src.Start(context.Background()))
			require.Nil(t, src.Addr(), "nothing bound")
		})
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "f.pem")
	require.NoError(t, os.WriteFile(f, data, 0o600))
	return f
}

// TestPeerFromState handshakes over a pipe and reads the client's identity
// as the server sees it.
func TestPeerFromState(t *testing.T) {
	p := newPKI(t)
	u, err := url.Parse("spiffe://contoso.example/mx01")
	require.NoError(t, err)
	client := p.clientCA.issue(t, leafOpts{cn: "mx01.contoso.example", serialNo: 0xBEEF,
		dns: []string{"mx01.contoso.example", "mx.contoso.example"}, ips: []net.IP{net.ParseIP("192.0.2.7")},
		emails: []string{"postmaster@contoso.example"}, uris: []*url.URL{u}})
	r, err := newCertReloader(p.config(ClientAuthRequire).TLS, slog.New(slog.DiscardHandler), time.Now)
	require.NoError(t, err)

	sc, cc := net.Pipe()
	server := tls.Server(sc, r.serverConfig())
	conf := p.clientConfig(&client)
	conf.ServerName = "localhost"
	cli := tls.Client(cc, conf)
	errc := make(chan error, 1)
	go func() { errc <- cli.Handshake() }()
	require.NoError(t, server.Handshake())
	require.NoError(t, <-errc)
	// Close the pipe, not the TLS conns: their close_notify would wait for
	// a reader that net.Pipe does not have.
	defer sc.Close()
	defer cc.Close()

	got := PeerFromState(server.ConnectionState())
	require.Equal(t, "1.3", got.Version)
	require.Equal(t, tls.CipherSuiteName(server.ConnectionState().CipherSuite), got.Cipher)
	require.True(t, strings.HasPrefix(got.Cipher, "TLS_"), got.Cipher)
	require.Equal(t, "localhost", got.ServerName)
	require.Equal(t, "CN=mx01.contoso.example,OU=Mail,O=Contoso", got.Subject)
	require.Equal(t, "CN=client CA,O=siemfwd tests", got.Issuer)
	require.Equal(t, "mx01.contoso.example", got.CommonName)
	require.Equal(t, "client CA", got.IssuerCommonName)
	require.Equal(t, []string{"mx01.contoso.example", "mx.contoso.example", "192.0.2.7",
		"postmaster@contoso.example", "spiffe://contoso.example/mx01"}, got.AlternativeNames)
	require.Equal(t, "BEEF", got.SerialNumber)
	require.Equal(t, client.cert.NotAfter, got.NotAfter)
	require.Equal(t, client.cert.NotBefore, got.NotBefore)
	require.Len(t, got.SHA256, 64)
	require.Equal(t, strings.ToUpper(got.SHA256), got.SHA256)

	// Without a client certificate only the connection fields are set.
	none := PeerFromState(tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256})
	require.Equal(t, TLSPeer{Version: "1.2", Cipher: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}, none)
}

// TestTLSOpenSSLClient sends through openssl s_client, the client most
// operators test a syslog TLS port with.
func TestTLSOpenSSLClient(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed; install it (apt-get install openssl) to run this interoperability test")
	}
	p := newPKI(t)
	h := start(t, p.config(ClientAuthRequire), 16)
	dir := t.TempDir()
	files := map[string][]byte{"ca.pem": p.serverCA.pem, "client.pem": p.client.certPEM, "client.key": p.client.keyPEM}
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", h.src.Addr().String(),
		"-servername", "localhost", "-verify_return_error", "-CAfile", filepath.Join(dir, "ca.pem"),
		"-cert", filepath.Join(dir, "client.pem"), "-key", filepath.Join(dir, "client.key"),
		"-quiet", "-no_ign_eof")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	_, err = io.WriteString(stdin, "<13>1 2026-04-01T12:00:00Z mx01 openssl - - - via s_client\n")
	require.NoError(t, err)
	evs := h.events(t, 1)
	_ = stdin.Close()
	_ = cmd.Wait() // s_client exits on end of input; stderr is complete after this
	require.Equal(t, "<13>1 2026-04-01T12:00:00Z mx01 openssl - - - via s_client", string(evs[0].Raw), stderr.String())
}

// TestTLSHandshakeTimeout: a client that connects and says nothing is
// closed after the handshake timeout and counted.
func TestTLSHandshakeTimeout(t *testing.T) {
	p := newPKI(t)
	cfg := p.config(ClientAuthNone)
	cfg.TLS.HandshakeTimeout = 50 * time.Millisecond
	h := start(t, cfg, 16)
	c, err := net.DialTimeout("tcp", h.src.Addr().String(), patience)
	require.NoError(t, err)
	defer c.Close()
	waitClosed(t, c)
	failed := h.m.SourceDropped.WithLabelValues("test", reasonTLSHandshake)
	poll.Until(t, patience, "timeout counted", func() bool { return value(t, failed) == 1 })
}

// TestTLSShutdownDuringHandshake: Run returns while a client sits in the
// handshake, without counting a failure.
func TestTLSShutdownDuringHandshake(t *testing.T) {
	p := newPKI(t)
	h := start(t, p.config(ClientAuthNone), 16)
	c, err := net.DialTimeout("tcp", h.src.Addr().String(), patience)
	require.NoError(t, err)
	defer c.Close()
	poll.Until(t, patience, "connection accepted", func() bool {
		return value(t, h.m.SourceConnections.WithLabelValues("test")) == 1
	})
	h.stop()
	require.Zero(t, value(t, h.m.SourceDropped.WithLabelValues("test", reasonTLSHandshake)))
}
