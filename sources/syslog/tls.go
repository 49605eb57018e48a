package syslog

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"siemfwd/internal/fileid"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// reasonTLSHandshake counts connections whose TLS handshake failed: a
// plain-TCP sender on the TLS port, an untrusted, expired or missing client
// certificate, a too old TLS version, or a handshake timeout.
const reasonTLSHandshake = metrics.ReasonTLSHandshake

// tlsVersion reads tls.min_version.
func tlsVersion(s string) (uint16, error) {
	switch s {
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("must be \"1.2\" or \"1.3\", got %q", s)
}

// certReloader serves the server certificate and client CAs from disk and
// re-reads them when they change, so that a renewed certificate takes
// effect without a restart and without dropping connections: only new
// handshakes see the new files; established connections keep theirs.
//
// It checks the files lazily, from GetConfigForClient, at most once per
// reload_interval: no goroutine or timer is needed, and an idle listener
// costs nothing. A failed reload (a half-written file, a key that does not
// match the certificate) keeps the previous files and is retried at the
// next check.
type certReloader struct {
	cfg        TLSConfig
	minVersion uint16
	clientAuth tls.ClientAuthType
	log        *slog.Logger
	now        func() time.Time

	mu        sync.Mutex // guards nextCheck and stamps; one check at a time
	nextCheck time.Time
	stamps    []fileStamp

	current atomic.Pointer[tls.Config] // what handshakes use
	// reloads counts successful reloads after the first load; tests wait on it.
	reloads atomic.Int64
}

// fileStamp identifies one version of a file. The inode catches an atomic
// rename of a new file whose time and size happen to equal the old one's.
type fileStamp struct {
	mtime    time.Time
	size     int64
	ino, dev uint64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	st := fileStamp{mtime: fi.ModTime(), size: fi.Size()}
	if id, ok := fileid.Of(fi); ok {
		st.ino, st.dev = id.Ino, id.Dev
	}
	return st, nil
}

// newCertReloader loads the files once; an error here fails Start.
func newCertReloader(cfg TLSConfig, log *slog.Logger, now func() time.Time) (*certReloader, error) {
	minV, err := tlsVersion(cfg.MinVersion)
	if err != nil {
		return nil, fmt.Errorf("tls.min_version: %w", err)
	}
	r := &certReloader{cfg: cfg, minVersion: minV, log: log, now: now}
	switch cfg.ClientAuth {
	case ClientAuthRequest:
		r.clientAuth = tls.VerifyClientCertIfGiven
	case ClientAuthRequire:
		r.clientAuth = tls.RequireAndVerifyClientCert
	default:
		r.clientAuth = tls.NoClientCert
	}
	conf, stamps, err := r.load()
	if err != nil {
		return nil, err
	}
	r.current.Store(conf)
	r.stamps = stamps
	r.nextCheck = r.now().Add(cfg.ReloadInterval)
	return r, nil
}

func (r *certReloader) files() []string {
	f := []string{r.cfg.CertFile, r.cfg.KeyFile}
	if r.cfg.ClientCAFile != "" {
		f = append(f, r.cfg.ClientCAFile)
	}
	return f
}

// load reads every file and builds the config for handshakes. The stamps
// are taken before reading, so a change during the read is seen at the
// next check and read again.
func (r *certReloader) load() (*tls.Config, []fileStamp, error) {
	var stamps []fileStamp
	for _, f := range r.files() {
		st, err := stampOf(f)
		if err != nil {
			return nil, nil, fmt.Errorf("tls: %w", err)
		}
		stamps = append(stamps, st)
	}
	cert, err := tls.LoadX509KeyPair(r.cfg.CertFile, r.cfg.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("tls.cert_file, tls.key_file: %w", err)
	}
	conf := &tls.Config{
		MinVersion:   r.minVersion,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   r.clientAuth,
	}
	if r.cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(r.cfg.ClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("tls.client_ca_file: no PEM certificate in %s", r.cfg.ClientCAFile)
		}
		conf.ClientCAs = pool
		// A resumed session would skip the check against the current CA
		// bundle; syslog connections are long-lived, so full handshakes
		// cost next to nothing and a removed CA takes effect at once.
		conf.SessionTicketsDisabled = true
	}
	if leaf := cert.Leaf; leaf != nil && r.now().After(leaf.NotAfter) {
		r.log.Warn("tls server certificate has expired", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
	}
	return conf, stamps, nil
}

// ServerTLS loads cfg's files (checked by Validate) and returns a
// server config that reloads them when they change, as a TLS source does,
// for other listeners that take the same keys (the admin listener).
func ServerTLS(cfg TLSConfig, log *slog.Logger) (*tls.Config, error) {
	r, err := newCertReloader(cfg, log, time.Now)
	if err != nil {
		return nil, err
	}
	return r.serverConfig(), nil
}

// serverConfig is the listener's config: every handshake asks the reloader
// for the current one.
func (r *certReloader) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: r.minVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			r.maybeReload()
			return r.current.Load(), nil
		},
	}
}

// maybeReload re-reads the files if the check interval has passed and any
// of them changed.
func (r *certReloader) maybeReload() {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Before(r.nextCheck) {
		return
	}
	r.nextCheck = now.Add(r.cfg.ReloadInterval)
	changed := false
	for i, f := range r.files() {
		st, err := stampOf(f)
		if err != nil || st != r.stamps[i] {
			changed = true
			break
		}
	}
	if !changed {
		return
	}
	conf, stamps, err := r.load()
	if err != nil {
		r.log.Warn("tls reload failed, keeping the previous certificate", "err", err)
		return
	}
	r.current.Store(conf)
	r.stamps = stamps
	r.reloads.Add(1)
	attrs := []any{}
	if leaf := conf.Certificates[0].Leaf; leaf != nil {
		attrs = append(attrs, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
	}
	r.log.Info("tls certificates reloaded", attrs...)
}

// TLSPeer is what a TLS handshake tells about the sender; the pipeline
// carries it on the connection's Origin.
type TLSPeer = pipeline.TLSPeer

// PeerFromState extracts the TLSPeer of a completed handshake.
func PeerFromState(cs tls.ConnectionState) TLSPeer {
	p := TLSPeer{
		Version:    versionNumber(cs.Version),
		Cipher:     tls.CipherSuiteName(cs.CipherSuite),
		ServerName: cs.ServerName,
	}
	if len(cs.PeerCertificates) == 0 {
		return p
	}
	c := cs.PeerCertificates[0]
	p.Subject = c.Subject.String()
	p.Issuer = c.Issuer.String()
	p.CommonName = c.Subject.CommonName
	p.IssuerCommonName = c.Issuer.CommonName
	p.AlternativeNames = append(p.AlternativeNames, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		p.AlternativeNames = append(p.AlternativeNames, ip.String())
	}
	p.AlternativeNames = append(p.AlternativeNames, c.EmailAddresses...)
	for _, u := range c.URIs {
		p.AlternativeNames = append(p.AlternativeNames, u.String())
	}
	if c.SerialNumber != nil {
		p.SerialNumber = strings.ToUpper(c.SerialNumber.Text(16))
	}
	p.NotBefore, p.NotAfter = c.NotBefore, c.NotAfter
	sum := sha256.Sum256(c.Raw)
	p.SHA256 = strings.ToUpper(hex.EncodeToString(sum[:]))
	return p
}

// versionNumber gives ECS tls.version: the number without the protocol
// name ("1.3"), which goes into tls.version_protocol ("tls").
func versionNumber(v uint16) string {
	return strings.TrimPrefix(tls.VersionName(v), "TLS ")
}

// errNotTLS marks a handshake that failed because the client did not speak
// TLS at all (plain syslog on the TLS port), for the debug log.
var errNotTLS = errors.New("client did not speak tls")

// handshakeError names the usual reasons a handshake fails.
func handshakeError(err error) error {
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return fmt.Errorf("%w: %w", errNotTLS, err)
	}
	return err
}
