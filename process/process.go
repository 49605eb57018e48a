package process

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"siemfwd/ecs"
	"siemfwd/enrich/geoip"
	"siemfwd/enrich/mailflow"
	"siemfwd/parse/kerio"
	"siemfwd/parse/syslogparse"
	"siemfwd/pipeline"
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
	TagKeyConflict        = "_key_conflict"         // a field was left out: its key was also the parent of another, or had an empty level (ecs.KeyError)
)

// formatECSKeys is the format label of siemfwd_parse_failures_total for
// documents whose keys the encoder refused (TagKeyConflict).
const formatECSKeys = "ecs_keys"

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

	// slab is the unused tail of block, the block that events' JSON is
	// encoded into: one allocation serves dozens of events instead of one
	// each. touched lists the blocks the current batch's events are in.
	// Blocks that no batch needs any more come back through free and are
	// written again (see EndBatch); otherwise the collector reclaims them.
	slab    []byte
	block   *slabBlock
	touched []*slabBlock
	free    chan *slabBlock
	// peer caches observer.ip for consecutive events from one address (a
	// TCP connection, a UDP sender), which would otherwise allocate each time.
	peerAddr netip.Addr
	peer     string
	// categories holds immutable copies of the event.category sets seen so
	// far (a few dozen at most: they come from parser tables), so Routes can
	// share one instead of copying per event.
	categories [][]string
	// consts are the constant fields of the processor's settings, and
	// origins those of the origins seen so far (see originFields).
	consts   processConsts
	origins  map[*pipeline.Origin]*originFields
	lastFrom *pipeline.Origin
	last     *originFields
	// charsets decode text that is not UTF-8, by the names origins carry.
	charsets charsets
}

// slabSize is the size of the blocks events' JSON is encoded into, and
// slabReserve the room a block must have left to take the next event. A
// bigger event outgrows it and gets an array of its own. freeSlabs bounds
// the released blocks a processor keeps for reuse: 4 MiB, what a sink's
// write of several batches gives back at once under load; more are left to
// the collector.
const (
	slabSize    = 32 << 10
	slabReserve = 4 << 10
	freeSlabs   = 128
)

// slabBlock is a block of encoded events with a count of who still needs
// it: the processor while it encodes into it, and each batch with events in
// it until that batch is released.
type slabBlock struct {
	buf  []byte
	refs atomic.Int32
}

// maxCategorySets bounds the category cache; sets beyond it are copied per
// event. maxOrigins bounds the origins whose constant fields are kept (a
// source has one, plus one per sender profile).
const (
	maxCategorySets = 64
	maxOrigins      = 256
)

var _ pipeline.Reuser = (*ECSProcessor)(nil)

// NewECSProcessor returns a processor for one worker.
func NewECSProcessor(opts ProcessOptions, m *metrics.Metrics) *ECSProcessor {
	return &ECSProcessor{opts: opts, m: m, syslog: syslogparse.New(), kerio: kerio.NewParser(), consts: newProcessConsts(opts),
		free: make(chan *slabBlock, freeSlabs)}
}

// Process fills ev.JSON and ev.Routes from ev.Raw.
func (p *ECSProcessor) Process(ev *pipeline.Event) {
	if ev.Origin.Format == pipeline.FormatECS {
		passThrough(ev, p.opts.Namespace)
		return
	}
	d := &p.doc
	d.Reset()
	// Raw is never modified after the source hands it over, and decoded text
	// is a new array per event, so the document's strings may alias text
	// instead of being copied.
	var t eventText
	readText(p.syslog, &p.charsets, ev, &t)
	o, h, badText := t.origin, &t.header, t.badText
	raw := unsafe.String(unsafe.SliceData(t.text), len(t.text))

	msg := raw
	if ev.Origin.Format == pipeline.FormatSyslog {
		h.AppendECS(d)
		msg = h.Msg
		if h.Format == syslogparse.Unknown {
			d.AppendString(keyTags, TagSyslogParseFailure)
			p.m.ParseFailures.WithLabelValues(o.Source, "syslog").Inc()
		}
	} else {
		msg = strings.TrimSuffix(msg, "\r")
	}

	r, isKerio := p.parseKerio(d, o, h, msg)
	dataset := r.Dataset // event.dataset as set so far
	if !isKerio {
		dataset = p.appendGeneric(d, h, msg, o.Format == pipeline.FormatSyslog)
	}

	// @timestamp: a zoned time in the message, then the RFC 5424 header, then
	// the Kerio bracket (configured zone), then the RFC 3164 header, then the receive time.
	switch {
	case !r.Zoned.IsZero():
		d.SetTime(keyTimestamp, r.Zoned)
	case h.HasTime && h.TimeZoned:
		d.SetTime(keyTimestamp, h.Time)
	case !r.Bracket.IsZero():
		d.SetTime(keyTimestamp, r.Bracket)
	case h.HasTime:
		d.SetTime(keyTimestamp, h.Time)
	default:
		d.SetTime(keyTimestamp, ev.Received)
	}
	of := p.originFields(o)
	if !of.dataset.IsEmpty() {
		dataset = of.dataset
		d.SetConst(keyEventDataset, dataset)
	}
	if o.ClockSkew > 0 {
		if ts, ok := d.Get(keyTimestamp); ok && absDuration(ts.Time.Sub(ev.Received)) > o.ClockSkew {
			d.AppendString(keyTags, TagClockSkew)
			p.m.ClockSkew.WithLabelValues(o.Source).Inc()
		}
	}
	d.SetTime(keyEventCreated, ev.Received)
	d.SetStringNonEmpty(keyEventID, ev.ID)
	if p.opts.KeepOriginal {
		d.SetString(keyEventOriginal, raw)
	}
	if badText {
		d.AppendString(keyTags, TagInvalidCharset)
		p.m.ParseFailures.WithLabelValues(o.Source, "charset").Inc()
	}
	if ev.Flags&pipeline.FlagTruncated != 0 {
		d.AppendString(keyTags, TagTruncated)
	}
	if ev.Flags&pipeline.FlagSplit != 0 {
		d.AppendString(keyTags, TagSplit)
	}
	if ev.Flags&pipeline.FlagBadFrame != 0 {
		d.AppendString(keyTags, TagBadFrame)
	}
	if o.FilePath != "" {
		d.SetString(keyLogFilePath, o.FilePath)
		d.SetInt(keyLogOffset, ev.Offset)
	}

	// The device that sent the event observed it: name it by its syslog
	// hostname, or by its address when the header had none.
	hostname := h.Hostname
	var peer string
	if ev.Peer.IsValid() {
		peer = p.peerString(ev.Peer.Addr())
		d.SetStrings(keyObserverIP, peer)
	}
	if hostname != "" {
		d.SetString(keyObserverHostname, hostname)
	} else if peer != "" {
		d.SetString(keyObserverHostname, peer)
	}
	// The profile's and the processor's settings are the same for all the
	// origin's events: constants, which the encoder writes from its cached
	// layout.
	d.SetConsts(of.consts)
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
	if dataset.IsEmpty() {
		dataset = p.consts.generic
	}
	d.SetConst(keyDataStreamDataset, dataset)

	ev.Routes = p.routes(d, dataset.Text(), hostname)
	ev.JSON = p.encode(d, o.Source)
}

// parseKerio maps msg as a Kerio line when it is one (docs/kerio.md, "Which
// lines are Kerio's"): when the source or sender profile names a Kerio
// product, or a log on a syslog source; or when the APP-NAME (a file
// source's log name) is one Kerio uses and the wording matches a Kerio
// layout. It reports false, leaving d alone, for every other line.
func (p *ECSProcessor) parseKerio(d *ecs.Document, o *pipeline.Origin, h *syslogparse.Header, msg string) (kerio.Result, bool) {
	hint := kerio.Hint{Product: o.Product, Log: o.Log, AppName: h.AppName, FileLine: o.Format == pipeline.FormatLine}
	if o.Format == pipeline.FormatLine {
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
const (
	datasetSyslog  = "syslog"
	datasetGeneric = "generic"
)

// appendGeneric maps a line that is not Kerio's: the ECS fields a syslog
// header gives (host.hostname, process.name, process.pid) and the message,
// nothing read from the free text. It returns the event.dataset it set (the
// zero Const for a file line).
func (p *ECSProcessor) appendGeneric(d *ecs.Document, h *syslogparse.Header, msg string, syslog bool) (dataset ecs.Const) {
	d.SetConst(keyEventKind, p.consts.event)
	if syslog {
		dataset = p.consts.syslog
		d.SetConst(keyEventDataset, dataset)
	}
	d.SetString(keyMessage, strings.TrimRight(msg, "\r\n"))
	d.SetStringNonEmpty(keyHostHostname, h.Hostname)
	d.SetStringNonEmpty(keyProcessName, h.AppName)
	if pid, err := strconv.ParseInt(h.ProcID, 10, 64); err == nil && pid >= 0 {
		d.SetInt(keyProcessPID, pid)
	}
	return dataset
}

// routes copies the routing fields out of d in one pass over its fields
// (a Get per field would scan the document five times).
func (p *ECSProcessor) routes(d *ecs.Document, dataset, hostname string) pipeline.Routes {
	r := pipeline.Routes{Dataset: dataset, Hostname: hostname, Namespace: p.opts.Namespace}
	fields := d.Fields()
	for i := range fields { // later entries replace earlier ones, as in Get
		f := &fields[i]
		switch f.Key.Name() { // a switch on the text: cheaper than a test per key
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
// nobody writes again until the batch they belong to is released.
func (p *ECSProcessor) encode(d *ecs.Document, source string) []byte {
	if cap(p.slab) < slabReserve {
		p.nextBlock()
	}
	out, err := p.enc.Append(p.slab, d)
	if err != nil {
		out = p.encodeLeavingOut(d, err, source)
	}
	if cap(out) != cap(p.slab) { // outgrew the block: the event has an array of its own
		return out
	}
	p.slab = out[len(out):]
	if n := len(p.touched); n == 0 || p.touched[n-1] != p.block {
		p.block.refs.Add(1)
		p.touched = append(p.touched, p.block)
	}
	return out[:len(out):len(out)] // full slice expression: an append by a reader must not write into the slab
}

// nextBlock lets go of the current block and takes a released one, or a new one.
func (p *ECSProcessor) nextBlock() {
	if p.block != nil {
		p.unref(p.block)
	}
	select {
	case p.block = <-p.free:
	default:
		p.block = &slabBlock{buf: make([]byte, slabSize)}
	}
	p.block.refs.Store(1)
	p.slab = p.block.buf[:0]
}

// unref drops one reference to b and keeps b for reuse when it was the
// last. Sink goroutines call it through EndBatch's release. Under the race
// detector (the tests) a released block is overwritten at once, so that a
// sink that reads events after their Ack, against its contract, writes
// garbage that tests see instead of a stale document now and then.
func (p *ECSProcessor) unref(b *slabBlock) {
	if b.refs.Add(-1) != 0 {
		return
	}
	if poisonReleased {
		for i := range b.buf {
			b.buf[i] = poison
		}
	}
	select {
	case p.free <- b:
	default: // enough kept; the collector takes this one
	}
}

// poison is what released blocks are filled with under the race detector:
// a byte no JSON document holds outside a string.
const poison = '#'

// EndBatch ends the batch whose events were processed since the last call
// (pipeline.Reuser). The returned release lets their JSON blocks be written
// again; the pipeline calls it once no sink reads those events any more, or
// never (the collector then reclaims the blocks as usual).
func (p *ECSProcessor) EndBatch() (release func()) {
	blocks := p.touched
	p.touched = nil
	if len(blocks) == 0 {
		return nil
	}
	return func() {
		for _, b := range blocks {
			p.unref(b)
		}
	}
}

// encodeLeavingOut encodes d without the fields whose keys the encoder
// refuses (err is the first refusal), tagged TagKeyConflict and counted. It
// ends: each round deletes a field, and the tag is added once.
func (p *ECSProcessor) encodeLeavingOut(d *ecs.Document, err error, source string) []byte {
	p.m.ParseFailures.WithLabelValues(source, formatECSKeys).Inc()
	tagged := false
	for {
		var ke *ecs.KeyError
		if !errors.As(err, &ke) {
			return append(p.slab, "{}"...) // Append refuses only with a *KeyError
		}
		d.Delete(ecs.NewKey(ke.Key))
		if !tagged {
			d.AppendString(keyTags, TagKeyConflict)
			tagged = true
		}
		var out []byte
		if out, err = p.enc.Append(p.slab, d); err == nil {
			return out
		}
	}
}

// peerString returns addr as observer.ip text, reusing the last result for
// the same address.
func (p *ECSProcessor) peerString(addr netip.Addr) string {
	if addr != p.peerAddr || p.peer == "" {
		p.peerAddr, p.peer = addr, addr.Unmap().String()
	}
	return p.peer
}

// processConsts are the constant values from the processor's settings and
// its literals, made once.
type processConsts struct {
	ecsVersion, agentType, agentName, agentVersion ecs.Const
	logs, generic, namespace, event, syslog        ecs.Const
}

func newProcessConsts(opts ProcessOptions) processConsts {
	return processConsts{
		ecsVersion: ecs.NewConst(ecs.Version), agentType: ecs.NewConst("siemfwd"),
		agentName: ecs.NewConst(opts.AgentName), agentVersion: ecs.NewConst(opts.AgentVersion),
		logs: ecs.NewConst("logs"), generic: ecs.NewConst(datasetGeneric), namespace: ecs.NewConst(opts.Namespace),
		event: ecs.NewConst("event"), syslog: ecs.NewConst(datasetSyslog),
	}
}

// originFields are the constant fields of an origin's events: its
// profile's dataset, and the fields of its profile (observer, labels) and of
// the processor's settings (ecs.version, agent, data stream). Building a
// Const copies and hashes its text, so they are made once per origin and
// kept; they are used only while the origin still holds the text they were
// made from, so an origin changed in place gets new ones.
type originFields struct {
	from    originText
	dataset ecs.Const
	consts  []ecs.ConstField
}

// originText is what originFields are made from.
type originText struct {
	source, dataset, profile string
	observer                 pipeline.Observer
	labels                   []pipeline.Label // a copy
}

// matches reports whether o still holds the text t was taken from.
func (t *originText) matches(o *pipeline.Origin) bool {
	return t.source == o.Source && t.dataset == o.Dataset && t.profile == o.Profile &&
		t.observer == o.Observer && slices.Equal(t.labels, o.Labels)
}

// originFields returns the constant fields of o's events.
func (p *ECSProcessor) originFields(o *pipeline.Origin) *originFields {
	if p.lastFrom == o && p.last.from.matches(o) { // a batch comes from one origin
		return p.last
	}
	of, ok := p.origins[o]
	if !ok || !of.from.matches(o) {
		of = p.newOriginFields(o)
		if p.origins == nil || len(p.origins) >= maxOrigins {
			p.origins = make(map[*pipeline.Origin]*originFields)
		}
		p.origins[o] = of
	}
	p.lastFrom, p.last = o, of
	return of
}

func (p *ECSProcessor) newOriginFields(o *pipeline.Origin) *originFields {
	of := &originFields{
		from: originText{source: o.Source, dataset: o.Dataset, profile: o.Profile, observer: o.Observer,
			labels: slices.Clone(o.Labels)},
		dataset: ecs.NewConst(o.Dataset),
	}
	add := func(k ecs.Key, v ecs.Const) {
		if !v.IsEmpty() {
			of.consts = append(of.consts, ecs.ConstField{Key: k, Value: v})
		}
	}
	add(keyObserverName, ecs.NewConst(o.Observer.Name))
	add(keyObserverVendor, ecs.NewConst(o.Observer.Vendor))
	add(keyObserverProduct, ecs.NewConst(o.Observer.Product))
	add(keyObserverType, ecs.NewConst(o.Observer.Type))
	for _, l := range o.Labels {
		add(ecs.NewKey("labels."+l.Key), ecs.NewConst(l.Value))
	}
	add(keyLabelsSiemfwdProfile, ecs.NewConst(o.Profile))
	c := &p.consts
	add(keyECSVersion, c.ecsVersion)
	add(keyAgentType, c.agentType)
	add(keyAgentName, c.agentName)
	add(keyAgentVersion, c.agentVersion)
	add(keyLabelsSiemfwdSource, ecs.NewConst(o.Source))
	add(keyDataStreamType, c.logs)
	add(keyDataStreamNamespace, c.namespace)
	return of
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
func appendTLS(d *ecs.Document, t *pipeline.TLSPeer) {
	d.SetBool(keyTLSEstablished, true)
	d.SetString(keyTLSVersionProtocol, "tls")
	d.SetStringNonEmpty(keyTLSVersion, t.Version)
	d.SetStringNonEmpty(keyTLSCipher, t.Cipher)
	d.SetStringNonEmpty(keyTLSClientServerName, t.ServerName)
	if t.SHA256 == "" {
		return // no client certificate
	}
	d.SetString(keyTLSClientSubject, t.Subject)
	d.SetString(keyTLSClientIssuer, t.Issuer)
	if t.CommonName != "" {
		d.SetStrings(keyTLSClientX509SubjectCommonName, t.CommonName)
	}
	if t.IssuerCommonName != "" {
		d.SetStrings(keyTLSClientX509IssuerCommonName, t.IssuerCommonName)
	}
	if len(t.AlternativeNames) > 0 {
		d.SetStrings(keyTLSClientX509AlternativeNames, t.AlternativeNames...)
	}
	d.SetStringNonEmpty(keyTLSClientX509SerialNumber, t.SerialNumber)
	d.SetTime(keyTLSClientNotBefore, t.NotBefore)
	d.SetTime(keyTLSClientNotAfter, t.NotAfter)
	d.SetString(keyTLSClientHashSHA256, t.SHA256)
}

// Fields the processor sets or reads.
var (
	keyAgentName                      = ecs.NewKey("agent.name")
	keyAgentType                      = ecs.NewKey("agent.type")
	keyAgentVersion                   = ecs.NewKey("agent.version")
	keyDataStreamDataset              = ecs.NewKey("data_stream.dataset")
	keyDataStreamNamespace            = ecs.NewKey("data_stream.namespace")
	keyDataStreamType                 = ecs.NewKey("data_stream.type")
	keyECSVersion                     = ecs.NewKey("ecs.version")
	keyEventCreated                   = ecs.NewKey("event.created")
	keyEventDataset                   = ecs.NewKey("event.dataset")
	keyEventID                        = ecs.NewKey("event.id")
	keyEventKind                      = ecs.NewKey("event.kind")
	keyEventOriginal                  = ecs.NewKey("event.original")
	keyHostHostname                   = ecs.NewKey("host.hostname")
	keyLabelsSiemfwdProfile           = ecs.NewKey("labels.siemfwd_profile")
	keyLabelsSiemfwdSource            = ecs.NewKey("labels.siemfwd_source")
	keyLogFilePath                    = ecs.NewKey("log.file.path")
	keyLogOffset                      = ecs.NewKey("log.offset")
	keyMessage                        = ecs.NewKey("message")
	keyObserverHostname               = ecs.NewKey("observer.hostname")
	keyObserverIP                     = ecs.NewKey("observer.ip")
	keyObserverName                   = ecs.NewKey("observer.name")
	keyObserverProduct                = ecs.NewKey("observer.product")
	keyObserverType                   = ecs.NewKey("observer.type")
	keyObserverVendor                 = ecs.NewKey("observer.vendor")
	keyProcessName                    = ecs.NewKey("process.name")
	keyProcessPID                     = ecs.NewKey("process.pid")
	keyTLSCipher                      = ecs.NewKey("tls.cipher")
	keyTLSClientHashSHA256            = ecs.NewKey("tls.client.hash.sha256")
	keyTLSClientIssuer                = ecs.NewKey("tls.client.issuer")
	keyTLSClientNotAfter              = ecs.NewKey("tls.client.not_after")
	keyTLSClientNotBefore             = ecs.NewKey("tls.client.not_before")
	keyTLSClientServerName            = ecs.NewKey("tls.client.server_name")
	keyTLSClientSubject               = ecs.NewKey("tls.client.subject")
	keyTLSClientX509AlternativeNames  = ecs.NewKey("tls.client.x509.alternative_names")
	keyTLSClientX509IssuerCommonName  = ecs.NewKey("tls.client.x509.issuer.common_name")
	keyTLSClientX509SerialNumber      = ecs.NewKey("tls.client.x509.serial_number")
	keyTLSClientX509SubjectCommonName = ecs.NewKey("tls.client.x509.subject.common_name")
	keyTLSEstablished                 = ecs.NewKey("tls.established")
	keyTLSVersion                     = ecs.NewKey("tls.version")
	keyTLSVersionProtocol             = ecs.NewKey("tls.version_protocol")
	keyTags                           = ecs.NewKey("tags")
	keyTimestamp                      = ecs.NewKey("@timestamp")
)
