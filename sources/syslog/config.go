package syslog

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"siemfwd/internal/confcheck"
	"siemfwd/parse/charset"
	"siemfwd/parse/kerio"
)

// Protocols a syslog source can listen on.
const (
	ProtocolUDP = "udp"
	ProtocolTCP = "tcp"
	ProtocolTLS = "tls" // RFC 5425: TCP framing inside TLS
	// ProtocolRELP is RELP (rsyslog's omrelp, librelp): every message is
	// acknowledged, so the sender keeps and resends what was not. Over TLS
	// when tls.cert_file is set.
	ProtocolRELP = "relp"
)

// Client certificate policies of a TLS source (tls.client_auth).
const (
	ClientAuthNone    = "none"    // ask for no certificate
	ClientAuthRequest = "request" // ask; verify one if given, accept connections without
	ClientAuthRequire = "require" // mutual TLS: refuse connections without a valid certificate
)

// maxMessageCap bounds max_message_bytes: every TCP connection may hold one
// message of this size, so a typo must not let a few thousand connections
// take gigabytes.
const maxMessageCap = 16 << 20

// Config configures one syslog listener. The caller prefixes the keys that
// Validate reports with "sources.<name>.".
type Config struct {
	// Protocol is "udp", "tcp" (RFC 6587 framing), "tls" (RFC 5425: the same framing inside TLS)
	// or "relp" (acknowledged delivery; inside TLS when tls.cert_file is set).
	Protocol string `mapstructure:"protocol"`
	// Address is the host:port to listen on, e.g. "0.0.0.0:514"; port 0 picks a free port.
	Address string `mapstructure:"address"`
	// Timezone is the IANA zone for timestamps that carry none (RFC 3164, Kerio brackets).
	Timezone string `mapstructure:"timezone"`
	// Product is the Kerio product that sends here: "kerio_connect", "kerio_control" or "" to detect.
	Product string `mapstructure:"product"`
	// Log is a log name hint ("security", "mail", …) or "" to take it from APP-NAME or the text.
	Log string `mapstructure:"log"`
	// Charset is the character set of messages that are not valid UTF-8 (e.g. "windows-1250",
	// "windows-1252", "iso-8859-2"); with "utf-8" their invalid bytes become U+FFFD. Either way
	// such events are tagged _invalid_charset when a byte remains undecodable.
	Charset string `mapstructure:"charset"`
	// MaxMessageBytes is the longest message kept; longer ones are cut, flagged and counted.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
	// BatchEvents is the most events sent downstream in one batch.
	BatchEvents int `mapstructure:"batch_events"`
	// Readers is the number of UDP reader goroutines, each with its own SO_REUSEPORT socket.
	Readers int `mapstructure:"readers"`
	// ReceiveBuffer is the UDP socket receive buffer (SO_RCVBUF) in bytes; 0 keeps the kernel default.
	ReceiveBuffer int `mapstructure:"receive_buffer"`
	// QueueFullWait is how long a UDP reader waits for room in a full
	// pipeline queue before it drops its batch (counted as queue_full).
	// Meanwhile the receive buffer holds what arrives, so short stalls lose
	// nothing; 0 drops at once.
	QueueFullWait time.Duration `mapstructure:"queue_full_wait"`
	// PollInterval is how long a UDP reader sleeps after it drained its
	// socket before it reads again: at high rates one wake-up then serves
	// hundreds of datagrams. A reader that finds nothing after a sleep
	// blocks until the next datagram, so this is also the most a datagram
	// waits at high rates. 0 reads every datagram as soon as it arrives.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// MaxConnections is the most TCP connections served at once; more are accepted and closed at once.
	MaxConnections int `mapstructure:"max_connections"`
	// MaxConnectionsPerIP is the most TCP/TLS connections one sender address may hold; 0 = no
	// per-address limit. It keeps one noisy or hostile sender from taking every slot.
	MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip"`
	// IdleTimeout closes a TCP connection that sent nothing for this long; 0 never closes it.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// FrameTimeout closes a TCP connection whose frame (message) is not
	// complete this long after its first byte arrived, so that a sender who
	// trickles a byte at a time, which the idle timeout never catches, cannot
	// keep its slot; 0 = no limit. A quiet connection between frames is the
	// idle timeout's business.
	FrameTimeout time.Duration `mapstructure:"frame_timeout"`
	// TLS configures protocol "tls", and "relp" when tls.cert_file is set; its keys must stay
	// unset for udp and tcp.
	TLS TLSConfig `mapstructure:"tls"`
	// DrainTimeout bounds how long a RELP session waits, when it closes or siemfwd stops, for
	// the acknowledgement of what it handed to the pipeline; what is still unanswered then is
	// sent again by the sender.
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
	// Allow lists the senders (IP addresses or CIDR prefixes) that may send; empty lets everyone.
	// Others are refused before any parsing: per datagram (UDP) or per connection (TCP/TLS).
	Allow []string `mapstructure:"allow"`
	// RateLimit caps events per second per sender address.
	RateLimit RateLimitConfig `mapstructure:"rate_limit"`
	// ClockSkew tags events whose own time is further than this from the receive time
	// (tag _clock_skew), for senders that no profile matches; 0 = off.
	ClockSkew time.Duration `mapstructure:"clock_skew"`
	// Profiles are per-sender settings, matched by address or syslog hostname; the first match wins.
	Profiles []ProfileConfig `mapstructure:"profiles"`
}

// TLSConfig configures an RFC 5425 listener. Certificate files are read at
// Start, not at Validate, so that a config can be checked where the keys
// are not; they are re-read when they change on disk.
type TLSConfig struct {
	// CertFile is the PEM server certificate, followed by its intermediates.
	CertFile string `mapstructure:"cert_file"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `mapstructure:"key_file"`
	// MinVersion is the lowest TLS version accepted: "1.2" or "1.3".
	MinVersion string `mapstructure:"min_version"`
	// ClientAuth is "none", "request" (verify a certificate if sent) or "require" (mutual TLS).
	ClientAuth string `mapstructure:"client_auth"`
	// ClientCAFile is the PEM bundle of CAs that client certificates must chain to; needed by request and require.
	ClientCAFile string `mapstructure:"client_ca_file"`
	// ReloadInterval is how often, at most, a handshake checks the files for changes
	// (modification time, size, inode) and reloads them; 0 checks on every handshake.
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
	// HandshakeTimeout closes a connection whose handshake has not finished in this time.
	HandshakeTimeout time.Duration `mapstructure:"handshake_timeout"`
}

// RateLimitConfig is a token bucket per sender address. TCP and TLS readers
// wait for tokens (backpressure on that connection only); UDP datagrams
// over the limit are dropped and counted (reason "rate_limited").
type RateLimitConfig struct {
	// EventsPerSecond is the sustained rate per sender; 0 turns the limit off.
	EventsPerSecond float64 `mapstructure:"events_per_second"`
	// Burst is how many events a sender may send at once above the rate; 0 means one second's worth.
	Burst int `mapstructure:"burst"`
	// MaxSenders bounds the buckets kept; the least recently seen sender's bucket is evicted
	// (it starts again with a full burst).
	MaxSenders int `mapstructure:"max_senders"`
}

// ProfileConfig holds the settings of one kind of sender. Empty fields keep
// the source's value.
type ProfileConfig struct {
	// Name identifies the profile; events carry it in labels.siemfwd_profile.
	Name string `mapstructure:"name"`
	// Match says which senders the profile is for.
	Match MatchConfig `mapstructure:"match"`
	// Timezone is the IANA zone for this sender's times that carry none; "" keeps the source's.
	Timezone string `mapstructure:"timezone"`
	// Product is "kerio_connect", "kerio_control" or "" to keep the source's.
	Product string `mapstructure:"product"`
	// Log is a log name hint; "" keeps the source's.
	Log string `mapstructure:"log"`
	// Charset is this sender's character set for text that is not valid UTF-8; "" keeps the source's.
	Charset string `mapstructure:"charset"`
	// Dataset replaces event.dataset (and so the data stream), e.g. "kerio_connect.mail"; "" keeps the parsed one.
	Dataset string `mapstructure:"dataset"`
	// Observer sets observer.* for the sending device.
	Observer ObserverConfig `mapstructure:"observer"`
	// Labels are added to every event as labels.<key>; keys are lower-case [a-z0-9_].
	Labels map[string]string `mapstructure:"labels"`
	// ClockSkew tags this sender's events whose time is further than this from the receive
	// time; 0 keeps the source's clock_skew.
	ClockSkew time.Duration `mapstructure:"clock_skew"`
}

// MatchConfig selects the senders of a profile. A sender matches when its
// address or its syslog HOSTNAME matches; at least one list must be set.
type MatchConfig struct {
	// Addresses are IP addresses or CIDR prefixes, matched per datagram or connection.
	Addresses []string `mapstructure:"addresses"`
	// Hostnames are syslog HOSTNAMEs, exact or globs ("mx*.contoso.example"), compared
	// case-insensitively by the worker after the header is parsed.
	Hostnames []string `mapstructure:"hostnames"`
}

// ObserverConfig names the device that sends, for observer.* fields.
type ObserverConfig struct {
	// Name is observer.name.
	Name string `mapstructure:"name"`
	// Vendor is observer.vendor, e.g. "Kerio".
	Vendor string `mapstructure:"vendor"`
	// Product is observer.product, e.g. "Kerio Connect".
	Product string `mapstructure:"product"`
	// Type is observer.type, e.g. "firewall" or "mail".
	Type string `mapstructure:"type"`
}

// maxPollInterval bounds poll_interval: longer sleeps add latency and need a
// receive buffer that holds that long's datagrams, for no further saving.
const maxPollInterval = 100 * time.Millisecond

// DefaultConfig returns the defaults: UDP on 0.0.0.0:514 in UTC, 64 KiB
// messages, 256-event batches, 2 UDP readers with 16 MiB buffers polled
// every 3 ms, 1024 TCP connections idle for at most 5 minutes; for TLS,
// version 1.2 or later, no client certificate, files checked every 10s, 10s
// handshakes; no allow-list, no rate limit (10000 senders tracked when on),
// no profiles.
func DefaultConfig() Config {
	return Config{
		Protocol:        ProtocolUDP,
		Address:         "0.0.0.0:514",
		Timezone:        "UTC",
		Charset:         "utf-8",
		MaxMessageBytes: 64 << 10,
		BatchEvents:     256,
		Readers:         2,
		ReceiveBuffer:   16 << 20,
		QueueFullWait:   100 * time.Millisecond,
		PollInterval:    3 * time.Millisecond,
		MaxConnections:  1024,
		// A relay or a NAT gateway needs a few connections; 64 still leaves
		// the other 960 to other senders.
		MaxConnectionsPerIP: 64,
		IdleTimeout:         5 * time.Minute,
		FrameTimeout:        time.Minute,
		DrainTimeout:        10 * time.Second,
		TLS: TLSConfig{
			MinVersion:       "1.2",
			ClientAuth:       ClientAuthNone,
			ReloadInterval:   10 * time.Second,
			HandshakeTimeout: 10 * time.Second,
		},
		RateLimit: RateLimitConfig{MaxSenders: 10000},
	}
}

// Validate reports every problem, each naming its key relative to the source.
func (c Config) Validate() error {
	var errs confcheck.Problems
	switch c.Protocol {
	case ProtocolUDP, ProtocolTCP, ProtocolTLS, ProtocolRELP:
	default:
		errs.Add("protocol", "must be %q, %q, %q or %q, got %q", ProtocolUDP, ProtocolTCP, ProtocolTLS, ProtocolRELP, c.Protocol)
	}
	if _, port, err := net.SplitHostPort(c.Address); err != nil {
		errs.Add("address", "must be host:port, got %q: %v", c.Address, err)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		errs.Add("address", "port must be a number 0-65535, got %q", port)
	}
	if c.Timezone == "" {
		errs.Add("timezone", "must be an IANA zone such as \"UTC\" or \"Europe/Prague\", got \"\"")
	} else if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs.Add("timezone", "unknown zone %q: %v", c.Timezone, err)
	}
	if err := kerio.CheckProduct(c.Product); err != nil {
		errs.Add("product", "%v", err)
	}
	if _, err := charset.Lookup(c.Charset); err != nil {
		errs.Add("charset", "%v", err)
	}
	if c.MaxMessageBytes < 1 || c.MaxMessageBytes > maxMessageCap {
		errs.Add("max_message_bytes", "must be in 1..%d, got %d", maxMessageCap, c.MaxMessageBytes)
	}
	if c.BatchEvents < 1 {
		errs.Add("batch_events", "must be > 0, got %d", c.BatchEvents)
	}
	if c.Readers < 1 {
		errs.Add("readers", "must be > 0, got %d", c.Readers)
	}
	if c.ReceiveBuffer < 0 {
		errs.Add("receive_buffer", "must be >= 0, got %d", c.ReceiveBuffer)
	}
	if c.QueueFullWait < 0 {
		errs.Add("queue_full_wait", "must be >= 0, got %s", c.QueueFullWait)
	}
	if c.PollInterval < 0 || c.PollInterval > maxPollInterval {
		errs.Add("poll_interval", "must be between 0 and %s, got %s", maxPollInterval, c.PollInterval)
	}
	if c.MaxConnections < 1 {
		errs.Add("max_connections", "must be > 0, got %d", c.MaxConnections)
	}
	if c.IdleTimeout < 0 {
		errs.Add("idle_timeout", "must be >= 0, got %s", c.IdleTimeout)
	}
	if c.FrameTimeout < 0 {
		errs.Add("frame_timeout", "must be >= 0 (0 = no limit), got %s", c.FrameTimeout)
	}
	if c.MaxConnectionsPerIP < 0 {
		errs.Add("max_connections_per_ip", "must be >= 0 (0 = no limit), got %d", c.MaxConnectionsPerIP)
	}
	if c.DrainTimeout < 0 {
		errs.Add("drain_timeout", "must be >= 0, got %s", c.DrainTimeout)
	}
	when := fmt.Sprintf("for protocol %q (or %q over TLS)", ProtocolTLS, ProtocolRELP)
	if c.Protocol == ProtocolRELP {
		when = fmt.Sprintf("for protocol %q over TLS", ProtocolRELP)
	}
	errs.Under("tls", c.TLS.Validate(c.usesTLS(), when))
	for i, a := range c.Allow {
		if _, err := parsePrefix(a); err != nil {
			errs.Add(fmt.Sprintf("allow[%d]", i), "%v", err)
		}
	}
	rl := c.RateLimit
	if rl.EventsPerSecond < 0 {
		errs.Add("rate_limit.events_per_second", "must be >= 0 (0 = off), got %v", rl.EventsPerSecond)
	}
	if rl.Burst < 0 {
		errs.Add("rate_limit.burst", "must be >= 0 (0 = one second's worth), got %d", rl.Burst)
	}
	if rl.MaxSenders < 1 {
		errs.Add("rate_limit.max_senders", "must be > 0, got %d", rl.MaxSenders)
	}
	if c.ClockSkew < 0 {
		errs.Add("clock_skew", "must be >= 0 (0 = off), got %s", c.ClockSkew)
	}
	names := make(map[string]int)
	for i, p := range c.Profiles {
		key := fmt.Sprintf("profiles[%d]", i)
		if p.Name == "" {
			errs.Add(key+".name", "required")
		} else if j, dup := names[p.Name]; dup {
			errs.Add(key+".name", "%q already names profiles[%d]", p.Name, j)
		} else {
			names[p.Name] = i
		}
		errs.Under(key, p.validate())
	}
	return errs.Err()
}

// labelKey is what labels.* keys may be: ECS-style lower-case names.
var labelKey = regexp.MustCompile(`^[a-z0-9_]+$`)

// datasetName is what event.dataset may be when it names a data stream
// (logs-<dataset>-<namespace>): lower case, no '-'.
var datasetName = regexp.MustCompile(`^[a-z0-9_.]{1,100}$`)

// usesTLS reports whether the listener speaks TLS: protocol "tls", or
// "relp" with a certificate.
func (c Config) usesTLS() bool {
	return c.Protocol == ProtocolTLS || c.Protocol == ProtocolRELP && (c.TLS.CertFile != "" || c.TLS.KeyFile != "")
}

// Validate reports the TLS keys' problems, keyed relative to the tls
// section. on says whether the server speaks TLS (keys set while it does not
// are reported too, as they would be ignored); when names the setting that
// turns TLS on, for the messages. The admin listener shares these keys.
func (t TLSConfig) Validate(on bool, when string) error {
	var errs confcheck.Problems
	if !on {
		// Keys that would be silently ignored are a mistake worth reporting.
		for _, f := range []struct{ key, val string }{
			{"cert_file", t.CertFile}, {"key_file", t.KeyFile}, {"client_ca_file", t.ClientCAFile},
		} {
			if f.val != "" {
				errs.Add(f.key, "only %s", when)
			}
		}
		return errs.Err()
	}
	if t.CertFile == "" {
		errs.Add("cert_file", "required %s", when)
	}
	if t.KeyFile == "" {
		errs.Add("key_file", "required %s", when)
	}
	if _, err := tlsVersion(t.MinVersion); err != nil {
		errs.Add("min_version", "%v", err)
	}
	switch t.ClientAuth {
	case ClientAuthNone:
	case ClientAuthRequest, ClientAuthRequire:
		if t.ClientCAFile == "" {
			errs.Add("client_ca_file", "required when client_auth is %q", t.ClientAuth)
		}
	default:
		errs.Add("client_auth", "must be %q, %q or %q, got %q", ClientAuthNone, ClientAuthRequest, ClientAuthRequire, t.ClientAuth)
	}
	if t.ReloadInterval < 0 {
		errs.Add("reload_interval", "must be >= 0 (0 = check on every handshake), got %s", t.ReloadInterval)
	}
	errs.Positive("handshake_timeout", t.HandshakeTimeout)
	return errs.Err()
}

// validate reports the profile's problems, keyed relative to the profile.
func (p ProfileConfig) validate() error {
	var errs confcheck.Problems
	if len(p.Match.Addresses) == 0 && len(p.Match.Hostnames) == 0 {
		errs.Add("match", "needs addresses or hostnames, or the profile never matches")
	}
	for i, a := range p.Match.Addresses {
		if _, err := parsePrefix(a); err != nil {
			errs.Add(fmt.Sprintf("match.addresses[%d]", i), "%v", err)
		}
	}
	for i, h := range p.Match.Hostnames {
		if h == "" {
			errs.Add(fmt.Sprintf("match.hostnames[%d]", i), "must not be empty")
		} else if _, err := path.Match(strings.ToLower(h), ""); err != nil {
			errs.Add(fmt.Sprintf("match.hostnames[%d]", i), "bad pattern %q: %v", h, err)
		}
	}
	if p.Timezone != "" {
		if _, err := time.LoadLocation(p.Timezone); err != nil {
			errs.Add("timezone", "unknown zone %q: %v", p.Timezone, err)
		}
	}
	if err := kerio.CheckProduct(p.Product); err != nil {
		errs.Add("product", "%v", err)
	}
	if _, err := charset.Lookup(p.Charset); err != nil {
		errs.Add("charset", "%v", err)
	}
	if p.Dataset != "" && !datasetName.MatchString(p.Dataset) {
		errs.Add("dataset", "must be 1-100 of [a-z0-9_.] (it names a data stream), got %q", p.Dataset)
	}
	for k := range p.Labels {
		if !labelKey.MatchString(k) {
			errs.Add("labels."+k, "key must match %s", labelKey)
		}
	}
	if p.ClockSkew < 0 {
		errs.Add("clock_skew", "must be >= 0 (0 = the source's), got %s", p.ClockSkew)
	}
	return errs.Err()
}

// parsePrefix reads an IP address (a single-address prefix) or a CIDR
// prefix. The prefix is masked ("10.1.2.3/8" is 10.0.0.0/8) and IPv4-mapped
// IPv6 forms are unmapped, as peer addresses are.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR prefix: %q", s)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR prefix: %q", s)
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}
