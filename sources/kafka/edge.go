package kafka

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"siemfwd/pipeline"
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
	HeaderDataset    = "siemfwd.dataset"     // the profile's event.dataset
	HeaderClockSkew  = "siemfwd.clock_skew"  // the profile's clock skew tolerance (Go duration)
	HeaderObserver   = "siemfwd.observer."   // prefix: name, vendor, product, type of the profile's observer
	HeaderLabel      = "siemfwd.label."      // prefix: one header per profile label, key after the prefix
)

// EdgeHeaders returns the edge headers of ev. It allocates; a sink writing
// many events uses an EdgeEncoder instead.
func EdgeHeaders(ev *pipeline.Event) []kafkago.Header {
	var e EdgeEncoder
	return e.Append(nil, ev)
}

// EdgeEncoder builds edge headers for many events with few allocations:
// the headers that depend only on the event's origin are built once per
// origin, and the per-event values are cut from one buffer. It is not safe
// for concurrent use (a sink's Write is called by one goroutine).
//
// Header values alias the encoder's buffer until Reset: call Reset before
// building the headers of the next Write, once the previous messages are no
// longer in use.
type EdgeEncoder struct {
	static map[*pipeline.Origin][]kafkago.Header
	buf    []byte
}

// maxOrigins bounds the per-origin caches; past it they start again empty
// (TCP sources may make an origin per connection).
const maxOrigins = 1024

// Reset lets the encoder reuse its buffer.
func (e *EdgeEncoder) Reset() { e.buf = e.buf[:0] }

// Append appends the edge headers of ev to dst.
//
// The origin is the one the worker applied: when the event's origin can
// look up a sender profile by syslog hostname and the worker found a
// hostname (ev.Routes.Hostname), that profile's origin is sent, so the
// indexer, which has no profiles of its own, applies the same one.
func (e *EdgeEncoder) Append(dst []kafkago.Header, ev *pipeline.Event) []kafkago.Header {
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
		add(HeaderFormat, FormatLine)
	}
	if o.Location != nil {
		add(HeaderTimezone, o.Location.String())
	}
	add(HeaderFilePath, o.FilePath)
	add(HeaderDataset, o.Dataset)
	if o.ClockSkew > 0 {
		add(HeaderClockSkew, o.ClockSkew.String())
	}
	add(HeaderObserver+"name", o.Observer.Name)
	add(HeaderObserver+"vendor", o.Observer.Vendor)
	add(HeaderObserver+"product", o.Observer.Product)
	add(HeaderObserver+"type", o.Observer.Type)
	for _, l := range o.Labels {
		add(HeaderLabel+l.Key, l.Value)
	}
	return hs
}

// ApplyEdgeHeaders rebuilds ev's receive time, peer, flags, file offset and
// origin from edge headers, with ev.Origin as the defaults for what the
// headers do not say. It reports whether the record carried edge headers
// (siemfwd.received); malformed values are left out and reported in err.
// A source decoding many records uses an EdgeDecoder, which caches origins.
func ApplyEdgeHeaders(ev *pipeline.Event, headers []kafkago.Header) (edge bool, err error) {
	return NewEdgeDecoder(ev.Origin).Apply(ev, headers)
}

// EdgeDecoder turns edge headers back into event fields. Events with the
// same origin headers share one *pipeline.Origin, as events of one listener
// do at the edge. It is not safe for concurrent use: each fetcher has one.
type EdgeDecoder struct {
	base    *pipeline.Origin
	origins map[string]*pipeline.Origin
	key     []byte
}

// NewEdgeDecoder returns a decoder whose origins default to base (zone,
// product, log hint, format) where the headers are silent.
func NewEdgeDecoder(base *pipeline.Origin) *EdgeDecoder {
	if base == nil {
		base = &pipeline.Origin{Location: time.UTC}
	}
	return &EdgeDecoder{base: base, origins: map[string]*pipeline.Origin{}}
}

// Apply sets ev's fields from headers; see ApplyEdgeHeaders.
func (d *EdgeDecoder) Apply(ev *pipeline.Event, headers []kafkago.Header) (edge bool, err error) {
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
func (d *EdgeDecoder) build(headers []kafkago.Header) (*pipeline.Origin, []error) {
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
			case FormatLine:
				o.Format = pipeline.FormatLine
			case FormatSyslog:
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
		case k == HeaderDataset:
			o.Dataset = v
		case k == HeaderClockSkew:
			if dur, err := time.ParseDuration(v); err == nil && dur > 0 {
				o.ClockSkew = dur
			} else {
				errs = append(errs, fmt.Errorf("%s: bad duration %q", HeaderClockSkew, v))
			}
		case strings.HasPrefix(k, HeaderObserver):
			switch k[len(HeaderObserver):] {
			case "name":
				o.Observer.Name = v
			case "vendor":
				o.Observer.Vendor = v
			case "product":
				o.Observer.Product = v
			case "type":
				o.Observer.Type = v
			}
		case strings.HasPrefix(k, HeaderLabel) && len(k) > len(HeaderLabel):
			o.Labels = append(o.Labels, pipeline.Label{Key: k[len(HeaderLabel):], Value: v})
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
