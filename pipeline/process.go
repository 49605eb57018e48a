package pipeline

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"siemfwd/ecs"
	"siemfwd/enrich/geoip"
	"siemfwd/enrich/mailflow"
	"siemfwd/parse/kerio"
	"siemfwd/parse/syslogparse"
	"siemfwd/pipeline/metrics"
)

// Tags added by the pipeline itself.
const (
	TagSyslogParseFailure = "_syslog_parse_failure" // the syslog header could not be read; the whole payload is the message
	TagTruncated          = "_truncated"            // the frame was longer than the maximum and was cut
	TagSplit              = "_split"                // a file line longer than the maximum, split into pieces
	TagBadFrame           = "_bad_frame"            // the framing lied or was out of range: the frame ends where the stream resynchronised
	TagClockSkew          = "_clock_skew"           // the event's own time is further from the receive time than its profile allows
	TagInvalidCharset     = "_invalid_charset"      // bytes that are not text in the source's charset (UTF-8 unless configured) became U+FFFD
)

// ProcessOptions are the settings every worker's processor shares.
type ProcessOptions struct {
	KeepOriginal bool   // set event.original
	Namespace    string // data_stream.namespace
	AgentName    string // agent.name (the siemfwd instance)
	AgentVersion string // agent.version

	GeoIP        *geoip.Enricher        // source/destination geo and AS fields; nil = off
	MailFlow     *mailflow.Tracker      // mail-flow correlation; nil = off
	OfferSummary func(mailflow.Summary) // where completed mail flows go; must not block
}

// ECSProcessor parses syslog headers and Kerio messages and encodes ECS JSON.
// One per worker: it reuses its parsers, document and buffers for every event.
type ECSProcessor struct {
	opts   ProcessOptions
	m      *metrics.Metrics
	syslog *syslogparse.Parser
	kerio  *kerio.Parser
	doc    ecs.Document
	enc    ecs.Encoder

	// slab is the unused tail of the block that events' JSON is encoded
	// into: one allocation serves dozens of events instead of one each. A
	// block is never written again once used; the collector reclaims it when
	// no event's JSON in it is referenced any more.
	slab []byte
	// peer caches observer.ip for consecutive events from one address (a
	// TCP connection, a UDP sender), which would otherwise allocate each time.
	peerAddr netip.Addr
	peer     string
	// categories holds immutable copies of the event.category sets seen so
	// far (a few dozen at most: they come from parser tables), so Routes can
	// share one instead of copying per event.
	categories [][]string
	// labelFields maps profile label keys to their field names.
	labelFields map[string]string
}

// slabSize is the size of the blocks events' JSON is encoded into, and
// slabReserve the room a block must have left to take the next event. A
// bigger event outgrows it and gets an array of its own.
const (
	slabSize    = 32 << 10
	slabReserve = 4 << 10
)

// maxCategorySets bounds the category cache; sets beyond it are copied per
// event. maxLabelFields bounds the label field names kept (profiles name a
// handful).
const (
	maxCategorySets = 64
	maxLabelFields  = 256
)

// NewECSProcessor returns a processor for one worker.
func NewECSProcessor(opts ProcessOptions, m *metrics.Metrics) *ECSProcessor {
	return &ECSProcessor{opts: opts, m: m, syslog: syslogparse.New(), kerio: kerio.NewParser()}
}

// Process fills ev.JSON and ev.Routes from ev.Raw.
func (p *ECSProcessor) Process(ev *Event) {
	if ev.Origin.Format == FormatECS {
		passThrough(ev, p.opts.Namespace)
		return
	}
	d := &p.doc
	d.Reset()
	// Raw is never modified after the source hands it over, and decoded text
	// is a new array per event, so the document's strings may alias text
	// instead of being copied.
	t := readText(p.syslog, ev)
	o, h, badText := t.origin, t.header, t.badText
	raw := unsafe.String(unsafe.SliceData(t.text), len(t.text))

	msg := raw
	if ev.Origin.Format == FormatSyslog {
		h.AppendECS(d)
		msg = h.Msg
		if h.Format == syslogparse.Unknown {
			d.AppendString("tags", TagSyslogParseFailure)
			p.m.ParseFailures.WithLabelValues(o.Source, "syslog").Inc()
		}
	} else {
		msg = strings.TrimSuffix(msg, "\r")
	}

	r, isKerio := p.parseKerio(d, o, &h, msg)
	if !isKerio {
		appendGeneric(d, &h, msg, o.Format == FormatSyslog)
	}

	// @timestamp: a zoned time in the message, then the RFC 5424 header, then
	// the Kerio bracket (configured zone), then the RFC 3164 header, then the receive time.
	switch {
	case !r.Zoned.IsZero():
		d.SetTime("@timestamp", r.Zoned)
	case h.HasTime && h.TimeZoned:
		d.SetTime("@timestamp", h.Time)
	case !r.Bracket.IsZero():
		d.SetTime("@timestamp", r.Bracket)
	case h.HasTime:
		d.SetTime("@timestamp", h.Time)
	default:
		d.SetTime("@timestamp", ev.Received)
	}
	d.SetConstStringNonEmpty("event.dataset", o.Dataset)
	if o.ClockSkew > 0 {
		if ts, ok := d.Get("@timestamp"); ok && absDuration(ts.Time.Sub(ev.Received)) > o.ClockSkew {
			d.AppendString("tags", TagClockSkew)
			p.m.ClockSkew.WithLabelValues(o.Source).Inc()
		}
	}
	d.SetTime("event.created", ev.Received)
	d.SetStringNonEmpty("event.id", ev.ID)
	if p.opts.KeepOriginal {
		d.SetString("event.original", raw)
	}
	if badText {
		d.AppendString("tags", TagInvalidCharset)
		p.m.ParseFailures.WithLabelValues(o.Source, "charset").Inc()
	}
	if ev.Flags&FlagTruncated != 0 {
		d.AppendString("tags", TagTruncated)
	}
	if ev.Flags&FlagSplit != 0 {
		d.AppendString("tags", TagSplit)
	}
	if ev.Flags&FlagBadFrame != 0 {
		d.AppendString("tags", TagBadFrame)
	}
	if o.FilePath != "" {
		d.SetString("log.file.path", o.FilePath)
		d.SetInt("log.offset", ev.Offset)
	}

	// The device that sent the event observed it: name it by its syslog
	// hostname, or by its address when the header had none.
	hostname := h.Hostname
	var peer string
	if ev.Peer.IsValid() {
		peer = p.peerString(ev.Peer.Addr())
		d.SetStrings("observer.ip", peer)
	}
	if hostname != "" {
		d.SetString("observer.hostname", hostname)
	} else if peer != "" {
		d.SetString("observer.hostname", peer)
	}
	// A profile's settings never change while running: constants to the encoder.
	d.SetConstStringNonEmpty("observer.name", o.Observer.Name)
	d.SetConstStringNonEmpty("observer.vendor", o.Observer.Vendor)
	d.SetConstStringNonEmpty("observer.product", o.Observer.Product)
	d.SetConstStringNonEmpty("observer.type", o.Observer.Type)
	for _, l := range o.Labels {
		d.SetConstString(p.labelField(l.Key), l.Value)
	}
	d.SetConstStringNonEmpty("labels.siemfwd_profile", o.Profile)
	if p.opts.GeoIP != nil {
		p.opts.GeoIP.Enrich(d)
	}
	if p.opts.MailFlow != nil {
		for _, sum := range p.opts.MailFlow.Observe(d, ev.Received) {
			p.opts.OfferSummary(sum)
		}
	}
	// From the connection's origin: a hostname profile swaps o for a shared one.
	if t := ev.Origin.TLS; t != nil {
		appendTLS(d, t)
	}
	// The rest is the same text for every event of a source (settings never
	// change while running), so the encoder writes it from its cached layout.
	d.SetConstString("ecs.version", ecs.Version)
	d.SetConstString("agent.type", "siemfwd")
	d.SetConstStringNonEmpty("agent.name", p.opts.AgentName)
	d.SetConstStringNonEmpty("agent.version", p.opts.AgentVersion)
	d.SetConstString("labels.siemfwd_source", o.Source)

	d.SetConstString("data_stream.type", "logs")
	dataset, constant := "generic", true
	if f, ok := d.Get("event.dataset"); ok && f.Text() != "" {
		dataset, constant = f.Text(), f.Const
	}
	if constant {
		d.SetConstString("data_stream.dataset", dataset)
	} else {
		d.SetString("data_stream.dataset", dataset)
	}
	d.SetConstString("data_stream.namespace", p.opts.Namespace)

	ev.Routes = p.routes(d, dataset, hostname)
	ev.JSON = p.encode(d)
}

// parseKerio maps msg as a Kerio line when it is one (docs/kerio.md, "Which
// lines are Kerio's"): when the source or sender profile names a Kerio
// product, or a log on a syslog source; or when the APP-NAME (a file
// source's log name) is one Kerio uses and the wording matches a Kerio
// layout. It reports false, leaving d alone, for every other line.
func (p *ECSProcessor) parseKerio(d *ecs.Document, o *Origin, h *syslogparse.Header, msg string) (kerio.Result, bool) {
	hint := kerio.Hint{Product: o.Product, Log: o.Log, AppName: h.AppName, FileLine: o.Format == FormatLine}
	if o.Format == FormatLine {
		// A file's log name comes from its file name unless configured:
		// only a product says the files are Kerio's.
		hint.Log, hint.AppName = "", o.Log
	}
	if hint.Product == "" && hint.Log == "" {
		if !kerio.IsAppName(hint.AppName) {
			return kerio.Result{}, false
		}
		hint.OnlyKerio = true
	}
	r := p.kerio.Parse(d, msg, hint, o.Location)
	return r, r.Matched || !hint.OnlyKerio
}

// Dataset of syslog lines that are not Kerio's; file lines that are not
// Kerio's have none, so they go to the "generic" data stream.
const datasetSyslog = "syslog"

// appendGeneric maps a line that is not Kerio's: the ECS fields a syslog
// header gives (host.hostname, process.name, process.pid) and the message,
// nothing read from the free text.
func appendGeneric(d *ecs.Document, h *syslogparse.Header, msg string, syslog bool) {
	d.SetConstString("event.kind", "event")
	if syslog {
		d.SetConstString("event.dataset", datasetSyslog)
	}
	d.SetString("message", strings.TrimRight(msg, "\r\n"))
	d.SetStringNonEmpty("host.hostname", h.Hostname)
	d.SetStringNonEmpty("process.name", h.AppName)
	if pid, err := strconv.ParseInt(h.ProcID, 10, 64); err == nil && pid >= 0 {
		d.SetInt("process.pid", pid)
	}
}

// routes copies the routing fields out of d in one pass over its fields
// (a Get per field would scan the document five times).
func (p *ECSProcessor) routes(d *ecs.Document, dataset, hostname string) Routes {
	r := Routes{Dataset: dataset, Hostname: hostname, Namespace: p.opts.Namespace}
	fields := d.Fields()
	for i := range fields { // later entries replace earlier ones, as in Get
		f := &fields[i]
		switch f.Key {
		case "event.kind":
			r.Kind = f.Text()
		case "source.ip":
			r.SourceIP = f.Text()
		case "event.module":
			r.Module = f.Text()
		case "event.category":
			r.Categories = nil
			if f.Kind == ecs.KindStrings {
				r.Categories = f.Strs
			}
		}
	}
	if r.Categories != nil {
		r.Categories = p.categorySet(r.Categories)
	}
	return r
}

// encode encodes d into the current slab block and returns its bytes, which
// nobody writes again.
func (p *ECSProcessor) encode(d *ecs.Document) []byte {
	if cap(p.slab) < slabReserve {
		p.slab = make([]byte, 0, slabSize)
	}
	out := p.enc.Append(p.slab, d)
	if cap(out) != cap(p.slab) { // outgrew the block: the event has an array of its own
		return out
	}
	p.slab = out[len(out):]
	return out[:len(out):len(out)] // full slice expression: an append by a reader must not write into the slab
}

// peerString returns addr as observer.ip text, reusing the last result for
// the same address.
func (p *ECSProcessor) peerString(addr netip.Addr) string {
	if addr != p.peerAddr || p.peer == "" {
		p.peerAddr, p.peer = addr, addr.Unmap().String()
	}
	return p.peer
}

// labelField returns "labels."+key, built once per key: a key built per
// event would allocate, and the encoder would never find its cached layout
// (it knows keys by address).
func (p *ECSProcessor) labelField(key string) string {
	if f, ok := p.labelFields[key]; ok {
		return f
	}
	if p.labelFields == nil || len(p.labelFields) >= maxLabelFields {
		p.labelFields = make(map[string]string)
	}
	f := "labels." + key
	p.labelFields[key] = f
	return f
}

// categorySet returns an immutable slice equal to cats, shared between
// events with the same set.
func (p *ECSProcessor) categorySet(cats []string) []string {
	for _, c := range p.categories {
		if slices.Equal(c, cats) {
			return c
		}
	}
	c := slices.Clone(cats)
	if len(p.categories) < maxCategorySets {
		p.categories = append(p.categories, c)
	}
	return c
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// appendTLS sets the tls.* fields of a connection and its client certificate.
func appendTLS(d *ecs.Document, t *TLSPeer) {
	d.SetBool("tls.established", true)
	d.SetString("tls.version_protocol", "tls")
	d.SetStringNonEmpty("tls.version", t.Version)
	d.SetStringNonEmpty("tls.cipher", t.Cipher)
	d.SetStringNonEmpty("tls.client.server_name", t.ServerName)
	if t.SHA256 == "" {
		return // no client certificate
	}
	d.SetString("tls.client.subject", t.Subject)
	d.SetString("tls.client.issuer", t.Issuer)
	if t.CommonName != "" {
		d.SetStrings("tls.client.x509.subject.common_name", t.CommonName)
	}
	if t.IssuerCommonName != "" {
		d.SetStrings("tls.client.x509.issuer.common_name", t.IssuerCommonName)
	}
	if len(t.AlternativeNames) > 0 {
		d.SetStrings("tls.client.x509.alternative_names", t.AlternativeNames...)
	}
	d.SetStringNonEmpty("tls.client.x509.serial_number", t.SerialNumber)
	d.SetTime("tls.client.not_before", t.NotBefore)
	d.SetTime("tls.client.not_after", t.NotAfter)
	d.SetString("tls.client.hash.sha256", t.SHA256)
}
