// Package kafkaedge is the record-header format an edge siemfwd uses to
// forward raw events through Kafka, and an indexer to read them back, so
// that the Kafka sink and source share it without importing each other.
package kafkaedge

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

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
// siemfwd.received marks a record as an edge record; every other header is
// optional and present only when set at the edge.
const (
	HeaderReceived   = "siemfwd.received"    // receive time, RFC 3339 with nanoseconds, UTC
	HeaderPeer       = "siemfwd.peer"        // sender ip:port
	HeaderSource     = "siemfwd.source"      // the edge's source (listener) name
	HeaderTransport  = "siemfwd.transport"   // udp, tcp, tls, file
	HeaderProfile    = "siemfwd.profile"     // sender profile name
	HeaderProduct    = "siemfwd.product"     // Kerio product hint
	HeaderLog        = "siemfwd.log"         // Kerio log name hint
	HeaderFormat     = "siemfwd.format"      // "line" for file lines; absent for syslog
	HeaderTimezone   = "siemfwd.timezone"    // IANA zone for times without one
	HeaderFilePath   = "siemfwd.file_path"   // log.file.path of a file source
	HeaderFileOffset = "siemfwd.file_offset" // log.offset: byte offset of the line in that file
	HeaderFlags      = "siemfwd.flags"       // "truncated", "split", comma separated
	// HeaderProfileFields carries the rest of a sender profile in one
	// header, as a query string in the profile's order: dataset,
	// clock_skew (Go duration), observer.name, observer.vendor,
	// observer.product, observer.type and label.<key> for each label. One
	// header rather than one per field, because kafka-go decodes headers
	// slowly (about 0.3µs each, measured) and a profile has many fields.
	HeaderProfileFields = "siemfwd.profile_fields"
)

// Headers returns the edge headers of ev. It allocates; a sink writing
// many events uses an Encoder instead.
func Headers(ev *pipeline.Event) []kafkago.Header {
	var e Encoder
	return e.Append(nil, ev)
}

// Encoder builds edge headers for many events with few allocations:
// the headers that depend only on the event's origin are built once per
// origin, and the per-event values are cut from one buffer. It is not safe
// for concurrent use (a sink's Write is called by one goroutine).
//
// Header values alias the encoder's buffer until Reset: call Reset before
// building the headers of the next Write, once the previous messages are no
// longer in use.
type Encoder struct {
	static map[*pipeline.Origin][]kafkago.Header
	buf    []byte
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
	e.buf = ev.Received.UTC().AppendFormat(e.buf, time.RFC3339Nano)
	dst = append(dst, kafkago.Header{Key: HeaderReceived, Value: e.buf[start:len(e.buf):len(e.buf)]})
	if ev.Peer.IsValid() {
		start = len(e.buf)
		e.buf = ev.Peer.AppendTo(e.buf)
		dst = append(dst, kafkago.Header{Key: HeaderPeer, Value: e.buf[start:len(e.buf):len(e.buf)]})
	}
	if o != nil && o.FilePath != "" {
		start = len(e.buf)
		e.buf = strconv.AppendInt(e.buf, ev.Offset, 10)
		dst = append(dst, kafkago.Header{Key: HeaderFileOffset, Value: e.buf[start:len(e.buf):len(e.buf)]})
	}
	if ev.Flags != 0 {
		var f string
		switch {
		case ev.Flags&pipeline.FlagTruncated != 0 && ev.Flags&pipeline.FlagSplit != 0:
			f = "truncated,split"
		case ev.Flags&pipeline.FlagTruncated != 0:
			f = "truncated"
		case ev.Flags&pipeline.FlagSplit != 0:
			f = "split"
		}
		if f != "" {
			dst = append(dst, kafkago.Header{Key: HeaderFlags, Value: staticBytes(f)})
		}
	}
	if o == nil {
		return dst
	}
	hs, ok := e.static[o]
	if !ok {
		hs = originHeaders(o)
		if e.static == nil || len(e.static) >= maxOrigins {
			e.static = make(map[*pipeline.Origin][]kafkago.Header)
		}
		e.static[o] = hs
	}
	return append(dst, hs...)
}

// staticBytes returns constant header values without allocating.
func staticBytes(s string) []byte {
	switch s {
	case "truncated":
		return flagTruncated
	case "split":
		return flagSplit
	}
	return flagBoth
}

var (
	flagTruncated = []byte("truncated")
	flagSplit     = []byte("split")
	flagBoth      = []byte("truncated,split")
)

// originHeaders builds the headers that depend only on the origin.
func originHeaders(o *pipeline.Origin) []kafkago.Header {
	var hs []kafkago.Header
	add := func(k, v string) {
		if v != "" {
			hs = append(hs, kafkago.Header{Key: k, Value: []byte(v)})
		}
	}
	add(HeaderSource, o.Source)
	add(HeaderTransport, o.Transport)
	add(HeaderProfile, o.Profile)
	add(HeaderProduct, o.Product)
	add(HeaderLog, o.Log)
	if o.Format == pipeline.FormatLine {
		add(HeaderFormat, formatLine)
	}
	if o.Location != nil {
		add(HeaderTimezone, o.Location.String())
	}
	add(HeaderFilePath, o.FilePath)
	add(HeaderProfileFields, profileFields(o))
	return hs
}

// profileFields encodes the profile fields of o for HeaderProfileFields,
// or "" when it has none.
func profileFields(o *pipeline.Origin) string {
	var b strings.Builder
	add := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
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
	return b.String()
}

// applyProfileFields sets the fields HeaderProfileFields encodes on o.
func applyProfileFields(o *pipeline.Origin, v string) []error {
	var errs []error
	for pair := range strings.SplitSeq(v, "&") {
		if pair == "" {
			continue
		}
		ek, ev, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(ek)
		val, err2 := url.QueryUnescape(ev)
		if err := errors.Join(err1, err2); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", HeaderProfileFields, err))
			continue
		}
		switch {
		case k == "dataset":
			o.Dataset = val
		case k == "clock_skew":
			if d, err := time.ParseDuration(val); err == nil && d > 0 {
				o.ClockSkew = d
			} else {
				errs = append(errs, fmt.Errorf("%s: clock_skew: bad duration %q", HeaderProfileFields, val))
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
		default:
			errs = append(errs, fmt.Errorf("%s: unknown field %q", HeaderProfileFields, k))
		}
	}
	return errs
}

// Apply rebuilds ev's receive time, peer, flags, file offset and
// origin from edge headers, with ev.Origin as the defaults for what the
// headers do not say. It reports whether the record carried edge headers
// (siemfwd.received); malformed values are left out and reported in err.
// A source decoding many records uses an Decoder, which caches origins.
func Apply(ev *pipeline.Event, headers []kafkago.Header) (edge bool, err error) {
	return NewDecoder(ev.Origin).Apply(ev, headers)
}

// Decoder turns edge headers back into event fields. Events with the
// same origin headers share one *pipeline.Origin, as events of one listener
// do at the edge. It is not safe for concurrent use: each fetcher has one.
type Decoder struct {
	base    *pipeline.Origin
	origins map[string]*pipeline.Origin
	key     []byte
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
	var received []byte
	found := false
	for i := range headers {
		if headers[i].Key == HeaderReceived {
			received, found = headers[i].Value, true
			break
		}
	}
	if !found {
		return false, nil
	}
	var errs []error
	if t, err := time.Parse(time.RFC3339Nano, string(received)); err == nil {
		ev.Received = t
	} else {
		errs = append(errs, fmt.Errorf("%s: %w", HeaderReceived, err))
	}
	d.key = d.key[:0]
	var fileOffset []byte
	for i := range headers {
		h := &headers[i]
		switch {
		case h.Key == HeaderReceived:
		case h.Key == HeaderPeer:
			if ap, err := netip.ParseAddrPort(string(h.Value)); err == nil {
				ev.Peer = ap
			} else {
				errs = append(errs, fmt.Errorf("%s: %w", HeaderPeer, err))
			}
		case h.Key == HeaderFileOffset:
			fileOffset = h.Value
		case h.Key == HeaderFlags:
			ev.Flags = 0
			for f := range strings.SplitSeq(string(h.Value), ",") {
				switch f {
				case "truncated":
					ev.Flags |= pipeline.FlagTruncated
				case "split":
					ev.Flags |= pipeline.FlagSplit
				}
			}
		case strings.HasPrefix(h.Key, "siemfwd."):
			d.key = append(d.key, h.Key...)
			d.key = append(d.key, 0)
			d.key = append(d.key, h.Value...)
			d.key = append(d.key, 0)
		}
	}
	o, ok := d.origins[string(d.key)]
	if !ok {
		var oerrs []error
		o, oerrs = d.build(headers)
		errs = append(errs, oerrs...)
		if len(d.origins) >= maxOrigins {
			clear(d.origins)
		}
		d.origins[string(d.key)] = o
	}
	ev.Origin = o
	if o.FilePath != "" && fileOffset != nil {
		if n, err := strconv.ParseInt(string(fileOffset), 10, 64); err == nil {
			ev.Offset = n
		} else {
			errs = append(errs, fmt.Errorf("%s: %w", HeaderFileOffset, err))
		}
	}
	return true, errors.Join(errs...)
}

// build makes the origin the headers describe.
func (d *Decoder) build(headers []kafkago.Header) (*pipeline.Origin, []error) {
	b := d.base
	o := &pipeline.Origin{Source: b.Source, Transport: b.Transport, Format: b.Format, Location: b.Location,
		Product: b.Product, Log: b.Log}
	var errs []error
	for i := range headers {
		k, v := headers[i].Key, string(headers[i].Value)
		switch {
		case k == HeaderSource:
			o.Source = v
		case k == HeaderTransport:
			o.Transport = v
		case k == HeaderProfile:
			o.Profile = v
		case k == HeaderProduct:
			o.Product = v
		case k == HeaderLog:
			o.Log = v
		case k == HeaderFormat:
			switch v {
			case formatLine:
				o.Format = pipeline.FormatLine
			case formatSyslog:
				o.Format = pipeline.FormatSyslog
			default:
				errs = append(errs, fmt.Errorf("%s: unknown format %q", HeaderFormat, v))
			}
		case k == HeaderTimezone:
			if loc, err := time.LoadLocation(v); err == nil {
				o.Location = loc
			} else {
				errs = append(errs, fmt.Errorf("%s: %w", HeaderTimezone, err))
			}
		case k == HeaderFilePath:
			o.FilePath = v
		case k == HeaderProfileFields:
			errs = append(errs, applyProfileFields(o, v)...)
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
