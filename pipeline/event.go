package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Format tells the worker how to read an event's Raw bytes.
type Format uint8

const (
	// FormatSyslog is a syslog message (RFC 5424 or RFC 3164, detected per message).
	FormatSyslog Format = iota
	// FormatLine is one line of a log file as the device wrote it (e.g. a Kerio log line
	// with its bracketed time), with no syslog header.
	FormatLine
	// FormatECS is an ECS JSON document that is already complete (from another
	// siemfwd through Kafka, or made by siemfwd itself, such as an alert). The
	// worker passes it on as it is; the source fills Event.Routes.
	FormatECS
)

// Origin describes where a group of events came from: a listener, a
// connection or a file. Sources create it once and share the pointer; it is
// never modified after the first event that carries it.
type Origin struct {
	Source    string         // configured source name, e.g. "syslog_udp"
	Transport string         // "udp", "tcp", "tls", "file", "kafka"
	Format    Format         // how to read Raw
	Location  *time.Location // zone for times that carry none (RFC 3164, Kerio brackets); never nil
	Product   string         // "kerio_connect", "kerio_control" or "" (detect)
	Log       string         // log name hint ("security", "mail", …) or "" (from APP-NAME or the text)
	Charset   string         // configured character set of text that is not valid UTF-8 ("windows-1250"); "" or UTF-8: bad bytes become U+FFFD
	FilePath  string         // log.file.path for file sources

	// Set by a sender profile (per-sender settings of a source).
	Profile   string        // profile name, for labels.siemfwd_profile; "" when none matched
	Dataset   string        // event.dataset to use instead of the parsed one, or ""
	Observer  Observer      // observer.* fields for the sending device
	Labels    []Label       // labels.* added to every event
	ClockSkew time.Duration // tag events whose own time is further than this from the receive time; 0 = off
	// TLS describes the TLS session and client certificate of the connection
	// the events came over; nil for plain transports.
	TLS *TLSPeer

	// ByHostname, when not nil, returns the origin of the profile that
	// matches a syslog HOSTNAME (profiles can match names as well as
	// addresses), or nil. The worker calls it after reading the header.
	ByHostname func(hostname string) *Origin
}

// TLSPeer is what a TLS handshake tells about the sender.
type TLSPeer struct {
	Version    string // tls.version: "1.2", "1.3"
	Cipher     string // tls.cipher, e.g. "TLS_AES_128_GCM_SHA256"
	ServerName string // tls.client.server_name (SNI), "" when none was sent

	// Of the client certificate (the leaf); all empty when none was sent.
	Subject          string    // tls.client.subject: the distinguished name, RFC 2253
	Issuer           string    // tls.client.issuer: the issuer's distinguished name
	CommonName       string    // tls.client.x509.subject.common_name
	IssuerCommonName string    // tls.client.x509.issuer.common_name
	AlternativeNames []string  // tls.client.x509.alternative_names: DNS names, IPs, e-mails, URIs
	SerialNumber     string    // tls.client.x509.serial_number, upper-case hex
	NotBefore        time.Time // tls.client.not_before
	NotAfter         time.Time // tls.client.not_after
	SHA256           string    // tls.client.hash.sha256: of the DER certificate, upper-case hex
}

// Observer is what a sender profile says about the sending device.
type Observer struct {
	Name, Vendor, Product, Type string
}

// Label is one labels.* entry. Keys are lower-case ECS-style names.
type Label struct {
	Key, Value string
}

// Flags mark what happened to an event before parsing.
type Flags uint8

const (
	// FlagTruncated: the frame was longer than the maximum message size and was cut.
	FlagTruncated Flags = 1 << iota
	// FlagSplit: a file line longer than the maximum was split; this is one piece.
	FlagSplit
	// FlagBadFrame: the framing could not be believed (an octet count that
	// lied or was out of range); the frame was cut where the stream resynchronised.
	FlagBadFrame
	// FlagLegacyID: the event was replayed from a disk-buffer record written
	// before event ids; its ID is the content hash that siemfwd used as
	// the Elasticsearch _id then, and its document has no event.id.
	FlagLegacyID
)

// Event is one log record. Sources fill Raw, Received, Origin, Peer, ID and
// Flags; a worker fills Doc-derived routing keys and JSON. After fan-out an
// Event is read-only and shared by every sink.
type Event struct {
	Raw      []byte         // bytes after framing; becomes event.original
	Received time.Time      // when the source read it
	Origin   *Origin        // shared, read-only
	Peer     netip.AddrPort // sender address for network sources; zero otherwise
	Offset   int64          // log.offset for file sources (byte offset of the line), or a Kafka offset
	Flags    Flags

	// ID is the event's identity: where and when it was received, never
	// what it says (see IDScope). Sources set it; it becomes event.id, the
	// Elasticsearch _id and the event.id Kafka header, and a retry or
	// replay of the event keeps it.
	ID string

	// Set by the worker.
	JSON   []byte // the ECS document, encoded once and shared by every sink
	Routes Routes // the fields routes and templates match on
}

// Routes holds the few document fields that routing and sink templates read,
// copied out of the document so the worker can reuse its scratch document.
type Routes struct {
	Dataset    string
	Kind       string
	Categories []string
	Hostname   string // log.syslog.hostname
	SourceIP   string
	Module     string
	Namespace  string
}

// Batch is the unit of acknowledgement. Ack runs exactly once: with nil when
// every sink accepted every event, otherwise with the first error (ErrDropped
// when a when_full policy dropped some). A nil Ack means nobody waits.
type Batch struct {
	Events []*Event
	Ack    func(error)
}

// Done calls Ack if set.
func (b Batch) Done(err error) {
	if b.Ack != nil {
		b.Ack(err)
	}
}

// Component is the lifecycle that every source, sink and dead-letter
// destination shares, whatever it talks to:
//
//   - its constructor (New) gets everything it needs (settings, logger,
//     metrics, the ledger where it keeps one) and acquires nothing;
//   - Start acquires what it needs before the pipeline runs: it binds its
//     sockets, opens and locks its files, connects and probes. An error
//     means it holds nothing, and the start of the whole process fails
//     before an event is read. Start is called once.
//   - Close releases whatever it still holds (sockets, files, locks,
//     connections). It is called once: after the pipeline has stopped using
//     the component (Run returned; the last Write or DeadLetter returned),
//     or, instead of running it, when another component failed to start.
//     It never runs concurrently with Run, Write or DeadLetter; ctx bounds
//     it. A component that already let go of something in Run (a source
//     closes its listener when ctx ends) does not release it twice.
//
// The pipeline calls neither: the one that starts a component closes it
// (cmd/siemfwd starts sinks first and sources last, and closes them in the
// reverse order once the pipeline has returned).
type Component interface {
	Start(ctx context.Context) error
	Close(ctx context.Context) error
}

// Source produces batches. Run sends to out until ctx ends, blocking while
// out is full (or dropping and counting, when the transport cannot push
// back). It returns after its in-flight batches are acked or the drain
// deadline passes. Run is called once, after Start.
type Source interface {
	Component
	Name() string
	Run(ctx context.Context, out chan<- Batch) error
}

// Sink delivers events. Write is called by one goroutine at a time, after
// Start, and returns nil only when the destination durably accepted every
// event. An error that a retry cannot fix is wrapped with Permanent; a
// partial failure is reported as ItemErrors. Write flushes what it sent
// before it returns, so Close only releases. Write reads the events only
// until it returns: whatever it sends later is its own copy, because the
// memory behind their JSON is written again once their batch is
// acknowledged (see Reuser).
type Sink interface {
	Component
	Write(ctx context.Context, events []*Event) error
}

// ErrDropped is what a batch's Ack receives when a when_full policy dropped
// some of its events. Sources count it; file and Kafka sources still move
// their offsets past such events, because the operator chose to drop.
var ErrDropped = errors.New("dropped by when_full policy")

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return "permanent: " + p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent wraps err so the sink loop dead-letters instead of retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or any error it wraps, was made by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// ItemError is the failure of one event of a Write call.
type ItemError struct {
	Index int   // index into the events passed to Write
	Err   error // Permanent(...) when retrying cannot fix it
}

// ItemErrors reports that some events of a Write failed; the others were
// accepted. The sink loop retries the transient ones and dead-letters the
// permanent ones.
type ItemErrors []ItemError

func (e ItemErrors) Error() string {
	if len(e) == 0 {
		return "no item errors"
	}
	return e[0].Err.Error() + " (and other items)"
}

// Lost is the Ack error of a batch some of whose events a sink neither
// stored nor dead-lettered: the sink refused them for good and there was no
// dead-letter destination, or the dead-letter write failed. The batch's
// other events were delivered. Lost is ErrDropped too: file and Kafka
// sources move past the lost events (retrying would meet the same refusal),
// and the ledger counts each lost event under its own reason.
type Lost struct {
	Events  []*Event
	Reasons []string // Reasons[i] is why Events[i] was lost
}

func (l *Lost) Error() string {
	if len(l.Events) == 0 {
		return "no events lost"
	}
	return fmt.Sprintf("%d events lost (%s)", len(l.Events), l.Reasons[0])
}

// Unwrap makes a Lost an ErrDropped.
func (l *Lost) Unwrap() error { return ErrDropped }

// countdown acks a batch once n parties are done. The ack gets nil when all
// succeeded, else the first error that lost the whole batch, else the
// partial losses of every party merged into one Lost.
type countdown struct {
	mu    sync.Mutex
	left  int
	first error
	lost  *Lost
	ack   func(error)
}

func newCountdown(n int, ack func(error)) *countdown {
	return &countdown{left: n, ack: ack}
}

func (c *countdown) done(err error) {
	c.mu.Lock()
	var lost *Lost
	switch {
	case err == nil:
	case errors.As(err, &lost):
		if c.lost == nil {
			c.lost = &Lost{}
		}
		c.lost.Events = append(c.lost.Events, lost.Events...)
		c.lost.Reasons = append(c.lost.Reasons, lost.Reasons...)
	case c.first == nil:
		c.first = err
	}
	c.left--
	last := c.left == 0
	c.mu.Unlock()
	if !last || c.ack == nil {
		return
	}
	switch {
	case c.first != nil:
		c.ack(c.first)
	case c.lost != nil:
		c.ack(c.lost)
	default:
		c.ack(nil)
	}
}
