// Package kafkaedge is the record-header format an edge siemfwd uses to
// forward raw events through Kafka, and an indexer to read them back, so
// that the Kafka sink and source share it without importing each other.
//
// It sits under kafka/ with the other Kafka helpers: it imports the engine
// (events and origins) and kafka-go; the engine never imports it.
package kafkaedge

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"siemfwd/parse/charset"
	"siemfwd/pipeline"
)

// Values of the siemfwd.format header (the same words as a Kafka source's format key).
const (
	formatSyslog = "syslog"
	formatLine   = "line"
)

// Edge mode: an edge siemfwd receives syslog (or tails files) and produces
// each event's Raw bytes to Kafka with the headers below; an indexer
// siemfwd consumes them with a raw-mode Kafka source and parses them as if
// it had received them itself: same peer, same receive time, same source
// name and sender profile. Because the receive time travels with the
// record, a record delivered twice gets the same Elasticsearch _id (a hash
// of Raw, source name and receive time), so redeliveries overwrite instead
// of duplicating.
//
// One header, HeaderEdge, whose value is a query string (key=value pairs
// joined by &, values URL-escaped where they could need it), rather than
// one header per field: kafka-go decodes every header with two allocations
// and byte-wise reads, which made ten headers cost about as much CPU as
// parsing the message (perf profile of scripts/bench/indexer.sh).
//
// The pairs that change per event come first: received (RFC 3339 with
// nanoseconds, UTC; always present), then when set peer (sender ip:port),
// file_offset (log.offset of a file line) and flags ("truncated", "split",
// comma separated). The rest describes the origin, in this order and only
// the keys set: source (the edge's source name), transport, profile (sender
// profile name), product and log (Kerio hints), format ("line" for file
// lines), timezone (IANA zone for times without one), charset (the IANA
// name of the set for text that is not UTF-8; without it the indexer's
// source's charset applies), file_path, then the
// rest of the sender profile: dataset, clock_skew (Go duration),
// observer.name, observer.vendor, observer.product, observer.type and
// label.<key> for each label. The encoder builds that origin part once per
// origin and the decoder parses each distinct one once.
//
// An event received over TLS ends the origin part with its connection's
// session and client certificate (pipeline.TLSPeer), so that the indexer's
// document has the tls.* fields a direct receipt has: tls.version (always
// present for TLS, even when empty), then only the keys set: tls.cipher,
// tls.sni, tls.subject, tls.issuer, tls.cn, tls.issuer_cn, tls.san (once
// per alternative name, in order), tls.serial, tls.not_before and
// tls.not_after (RFC 3339, UTC), tls.sha256. The session is the
// connection's even when a sender profile matched by hostname supplies the
// rest of the origin. Plain TCP, UDP and file events carry none of it; a
// TLS connection's events share one origin part, built and parsed once,
// and Kafka's batch compression absorbs its repetition.
const HeaderEdge = "siemfwd.edge"

// isEventKey tells the per-event keys of HeaderEdge from the origin's: the
// origin part starts at the first other key.
func isEventKey(k []byte) bool {
	switch string(k) {
	case "received", "peer", "file_offset", "flags":
		return true
	}
	return false
}

// Headers returns the edge headers of ev. It allocates; a sink writing
// many events uses an Encoder instead.
func Headers(ev *pipeline.Event) []kafkago.Header {
	var e Encoder
	return e.Append(nil, ev)
}

// Encoder builds edge headers for many events with few allocations:
// the origin part is built once per origin, and the values are cut from
// one buffer. It is not safe for concurrent use (a sink's Write is
// called by one goroutine).
//
// Header values alias the encoder's buffer until Reset: call Reset before
// building the headers of the next Write, once the previous messages are no
// longer in use.
type Encoder struct {
	origins map[originKey]string // the origin part of HeaderEdge
	buf     []byte
}

// originKey names an origin part: the applied origin and the TLS session
// of the event's connection (a hostname profile's origin has none).
type originKey struct {
	applied *pipeline.Origin
	tls     *pipeline.TLSPeer
}

// maxOrigins bounds the per-origin caches; past it they start again empty
// (TCP sources may make an origin per connection).
const maxOrigins = 1024

// Reset lets the encoder reuse its buffer.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// Append appends the edge headers of ev to dst.
//
// The origin is the one the worker applied: when the event's origin can
// look up a sender profile by syslog hostname and the worker found a
// hostname (ev.Routes.Hostname), that profile's origin is sent, so the
// indexer, which has no profiles of its own, applies the same one.
func (e *Encoder) Append(dst []kafkago.Header, ev *pipeline.Event) []kafkago.Header {
	o := ev.Origin
	if o != nil && o.ByHostname != nil && ev.Routes.Hostname != "" {
		if byName := o.ByHostname(ev.Routes.Hostname); byName != nil {
			o = byName
		}
	}
	start := len(e.buf)
	e.buf = append(e.buf, "received="...)
	e.buf = ev.Received.UTC().AppendFormat(e.buf, time.RFC3339Nano)
	if ev.Peer.IsValid() {
		e.buf = append(e.buf, "&peer="...)
		e.buf = ev.Peer.AppendTo(e.buf)
	}
	if o != nil && o.FilePath != "" {
		e.buf = append(e.buf, "&file_offset="...)
		e.buf = strconv.AppendInt(e.buf, ev.Offset, 10)
	}
	sep := "&flags="
	for _, fl := range [...]struct {
		flag pipeline.Flags
		name string
	}{{pipeline.FlagTruncated, "truncated"}, {pipeline.FlagSplit, "split"}, {pipeline.FlagBadFrame, "bad_frame"}} {
		if ev.Flags&fl.flag != 0 {
			e.buf = append(append(e.buf, sep...), fl.name...)
			sep = ","
		}
	}
	if o != nil {
		key := originKey{applied: o, tls: ev.Origin.TLS}
		v, ok := e.origins[key]
		if !ok {
			v = originValue(o, key.tls)
			if e.origins == nil || len(e.origins) >= maxOrigins {
				e.origins = make(map[originKey]string)
			}
			e.origins[key] = v
		}
		if v != "" {
			e.buf = append(e.buf, '&')
			e.buf = append(e.buf, v...)
		}
	}
	return append(dst, kafkago.Header{Key: HeaderEdge, Value: e.buf[start:len(e.buf):len(e.buf)]})
}

// originValue encodes o and the connection's TLS session (nil for plain
// transports) for the origin part of HeaderEdge, or "" when they say nothing.
func originValue(o *pipeline.Origin, t *pipeline.TLSPeer) string {
	var b strings.Builder
	addAlways := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	add := func(k, v string) {
		if v != "" {
			addAlways(k, v)
		}
	}
	add("source", o.Source)
	add("transport", o.Transport)
	add("profile", o.Profile)
	add("product", o.Product)
	add("log", o.Log)
	if o.Format == pipeline.FormatLine {
		add("format", formatLine)
	}
	if o.Location != nil {
		add("timezone", o.Location.String())
	}
	if cs, err := charset.Lookup(o.Charset); err == nil && cs != nil {
		add("charset", cs.Name()) // its IANA name; nothing for UTF-8
	}
	add("file_path", o.FilePath)
	add("dataset", o.Dataset)
	if o.ClockSkew > 0 {
		add("clock_skew", o.ClockSkew.String())
	}
	add("observer.name", o.Observer.Name)
	add("observer.vendor", o.Observer.Vendor)
	add("observer.product", o.Observer.Product)
	add("observer.type", o.Observer.Type)
	for _, l := range o.Labels {
		add("label."+l.Key, l.Value)
	}
	if t != nil {
		addAlways("tls.version", t.Version)
		add("tls.cipher", t.Cipher)
		add("tls.sni", t.ServerName)
		add("tls.subject", t.Subject)
		add("tls.issuer", t.Issuer)
		add("tls.cn", t.CommonName)
		add("tls.issuer_cn", t.IssuerCommonName)
		for _, name := range t.AlternativeNames {
			addAlways("tls.san", name)
		}
		add("tls.serial", t.SerialNumber)
		if !t.NotBefore.IsZero() {
			add("tls.not_before", t.NotBefore.UTC().Format(time.RFC3339Nano))
		}
		if !t.NotAfter.IsZero() {
			add("tls.not_after", t.NotAfter.UTC().Format(time.RFC3339Nano))
		}
		add("tls.sha256", t.SHA256)
	}
	return b.String()
}

// Apply rebuilds ev's receive time, peer, flags, file offset and
// origin from edge headers, with ev.Origin as the defaults for what the
// headers do not say. It reports whether the record carried edge headers
// (HeaderEdge); malformed values are left out and reported in err.
// A source decoding many records uses a Decoder, which caches origins.
func Apply(ev *pipeline.Event, headers []kafkago.Header) (edge bool, err error) {
	return NewDecoder(ev.Origin).Apply(ev, headers)
}

// Received returns the receive time an edge recorded in headers, if any
// (ECS documents passed on through Kafka keep it).
func Received(headers []kafkago.Header) (time.Time, bool) {
	for i := range headers {
		if headers[i].Key != HeaderEdge {
			continue
		}
		k, v, _ := nextPair(headers[i].Value)
		var t time.Time
		return t, string(k) == "received" && t.UnmarshalText(v) == nil
	}
	return time.Time{}, false
}

// nextPair splits the first key=value pair off a query string.
func nextPair(v []byte) (k, val, rest []byte) {
	if i := bytes.IndexByte(v, '&'); i >= 0 {
		v, rest = v[:i], v[i+1:]
	}
	if i := bytes.IndexByte(v, '='); i >= 0 {
		return v[:i], v[i+1:], rest
	}
	return v, nil, rest
}

// Decoder turns edge headers back into event fields. Events with the
// same origin share one *pipeline.Origin, as events of one listener
// do at the edge. It is not safe for concurrent use: each fetcher has one.
type Decoder struct {
	base    *pipeline.Origin
	origins map[string]*pipeline.Origin
	// The last peer decoded: consecutive records mostly come from one
	// sender, and parsing an address from bytes allocates.
	peerText []byte
	peer     netip.AddrPort
	// The second of the last receive time parsed ("2006-01-02T15:04:05",
	// UTC), as text and as a time: consecutive records mostly share it.
	secondText []byte
	second     time.Time
	// The last origin part and its origin: consecutive records mostly
	// share it too, and comparing it costs less than hashing it.
	originText []byte
	origin     *pipeline.Origin
}

// NewDecoder returns a decoder whose origins default to base (zone,
// product, log hint, format) where the headers are silent.
func NewDecoder(base *pipeline.Origin) *Decoder {
	if base == nil {
		base = &pipeline.Origin{Location: time.UTC}
	}
	return &Decoder{base: base, origins: map[string]*pipeline.Origin{}}
}

// Apply sets ev's fields from headers; see Apply.
func (d *Decoder) Apply(ev *pipeline.Event, headers []kafkago.Header) (edge bool, err error) {
	var v []byte
	found := false
	for i := range headers {
		if headers[i].Key == HeaderEdge {
			v, found = headers[i].Value, true
			break
		}
	}
	if !found {
		return false, nil
	}
	var errs []error
	var offset []byte
	for len(v) > 0 {
		k, val, rest := nextPair(v)
		if !isEventKey(k) {
			break // the origin part
		}
		v = rest
		switch string(k) {
		case "received":
			if t, err := d.parseReceived(val); err == nil {
				ev.Received = t
			} else {
				errs = append(errs, fmt.Errorf("%s: received: %w", HeaderEdge, err))
			}
		case "peer":
			if err := d.parsePeer(val); err == nil {
				ev.Peer = d.peer
			} else {
				errs = append(errs, fmt.Errorf("%s: peer: %w", HeaderEdge, err))
			}
		case "file_offset":
			offset = val
		case "flags":
			ev.Flags = 0
			for f := range bytes.SplitSeq(val, []byte(",")) {
				switch string(f) {
				case "truncated":
					ev.Flags |= pipeline.FlagTruncated
				case "split":
					ev.Flags |= pipeline.FlagSplit
				case "bad_frame":
					ev.Flags |= pipeline.FlagBadFrame
				}
			}
		}
	}
	o := d.origin
	if o == nil || !bytes.Equal(v, d.originText) {
		var ok bool
		if o, ok = d.origins[string(v)]; !ok {
			var oerrs []error
			o, oerrs = d.build(string(v))
			errs = append(errs, oerrs...)
			if len(d.origins) >= maxOrigins {
				clear(d.origins)
			}
			d.origins[string(v)] = o
		}
		d.origin, d.originText = o, append(d.originText[:0], v...)
	}
	ev.Origin = o
	if o.FilePath != "" && offset != nil {
		if n, err := strconv.ParseInt(string(offset), 10, 64); err == nil {
			ev.Offset = n
		} else {
			errs = append(errs, fmt.Errorf("%s: file_offset: %w", HeaderEdge, err))
		}
	}
	return true, errors.Join(errs...)
}

// parsePeer sets d.peer to the address text, reusing the last one when
// the text is the same.
func (d *Decoder) parsePeer(text []byte) error {
	if d.peerText != nil && bytes.Equal(text, d.peerText) {
		return nil
	}
	ap, err := netip.ParseAddrPort(string(text))
	if err != nil {
		return err
	}
	d.peer, d.peerText = ap, append(d.peerText[:0], text...)
	return nil
}

// parseReceived parses a receive time as the encoder writes it (RFC 3339,
// UTC: "Z"). When its second is the last one's, only the fraction is read.
func (d *Decoder) parseReceived(text []byte) (time.Time, error) {
	const secondLen = len("2006-01-02T15:04:05")
	n := len(text)
	if n > secondLen+2 && n <= secondLen+11 && text[n-1] == 'Z' && text[secondLen] == '.' &&
		d.secondText != nil && bytes.Equal(text[:secondLen], d.secondText) {
		ns, digits := 0, 0
		for _, c := range text[secondLen+1 : n-1] {
			if c < '0' || c > '9' {
				break
			}
			ns = ns*10 + int(c-'0')
			digits++
		}
		if digits == n-secondLen-2 {
			for ; digits < 9; digits++ {
				ns *= 10
			}
			return d.second.Add(time.Duration(ns)), nil
		}
	}
	var t time.Time
	if err := t.UnmarshalText(text); err != nil {
		return t, err
	}
	if n > secondLen && text[n-1] == 'Z' {
		d.secondText, d.second = append(d.secondText[:0], text[:secondLen]...), t.Truncate(time.Second)
	}
	return t, nil
}

// build makes the origin the origin part of a HeaderEdge value describes.
func (d *Decoder) build(v string) (*pipeline.Origin, []error) {
	b := d.base
	o := &pipeline.Origin{Source: b.Source, Transport: b.Transport, Format: b.Format, Location: b.Location,
		Product: b.Product, Log: b.Log, Charset: b.Charset}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", HeaderEdge, fmt.Sprintf(format, args...)))
	}
	for pair := range strings.SplitSeq(v, "&") {
		if pair == "" {
			continue
		}
		ek, ev, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(ek)
		val, err2 := url.QueryUnescape(ev)
		if err := errors.Join(err1, err2); err != nil {
			bad("%v", err)
			continue
		}
		switch {
		case k == "source":
			o.Source = val
		case k == "transport":
			o.Transport = val
		case k == "profile":
			o.Profile = val
		case k == "product":
			o.Product = val
		case k == "log":
			o.Log = val
		case k == "format":
			switch val {
			case formatLine:
				o.Format = pipeline.FormatLine
			case formatSyslog:
				o.Format = pipeline.FormatSyslog
			default:
				bad("format: unknown format %q", val)
			}
		case k == "timezone":
			if loc, err := time.LoadLocation(val); err == nil {
				o.Location = loc
			} else {
				bad("timezone: %v", err)
			}
		case k == "charset":
			if _, err := charset.Lookup(val); err == nil {
				o.Charset = val
			} else {
				bad("charset: %v", err)
			}
		case k == "file_path":
			o.FilePath = val
		case k == "dataset":
			o.Dataset = val
		case k == "clock_skew":
			if d, err := time.ParseDuration(val); err == nil && d > 0 {
				o.ClockSkew = d
			} else {
				bad("clock_skew: bad duration %q", val)
			}
		case k == "observer.name":
			o.Observer.Name = val
		case k == "observer.vendor":
			o.Observer.Vendor = val
		case k == "observer.product":
			o.Observer.Product = val
		case k == "observer.type":
			o.Observer.Type = val
		case strings.HasPrefix(k, "label.") && len(k) > len("label."):
			o.Labels = append(o.Labels, pipeline.Label{Key: k[len("label."):], Value: val})
		case strings.HasPrefix(k, "tls."):
			if o.TLS == nil {
				o.TLS = &pipeline.TLSPeer{}
			}
			if err := setTLS(o.TLS, k[len("tls."):], val); err != nil {
				bad("%s: %v", k, err)
			}
		default:
			bad("unknown field %q", k)
		}
	}
	// Metrics and document ids need a source name: keep this source's.
	if o.Source == "" {
		o.Source = b.Source
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	return o, errs
}

// setTLS sets the field of t that the tls.<name> key of HeaderEdge holds.
func setTLS(t *pipeline.TLSPeer, name, val string) error {
	switch name {
	case "version":
		t.Version = val
	case "cipher":
		t.Cipher = val
	case "sni":
		t.ServerName = val
	case "subject":
		t.Subject = val
	case "issuer":
		t.Issuer = val
	case "cn":
		t.CommonName = val
	case "issuer_cn":
		t.IssuerCommonName = val
	case "san":
		t.AlternativeNames = append(t.AlternativeNames, val)
	case "serial":
		t.SerialNumber = val
	case "not_before", "not_after":
		at, err := time.Parse(time.RFC3339Nano, val)
		if err != nil {
			return err
		}
		if name == "not_before" {
			t.NotBefore = at
		} else {
			t.NotAfter = at
		}
	case "sha256":
		t.SHA256 = val
	default:
		return errors.New("unknown field")
	}
	return nil
}
