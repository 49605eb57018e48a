package process

import (
	"unicode/utf8"

	"siemfwd/parse/charset"
	"siemfwd/parse/syslogparse"
	"siemfwd/pipeline"
)

// RawProcessor is the worker's processor when every sink forwards the raw
// message (the edge of a two-tier deployment): it reads what the sinks, the
// routes and the sender ledger need, the syslog HOSTNAME (record keys,
// hostname-matched sender profiles, hostname routes, the ledger's names)
// and the namespace, and leaves the Kerio and ECS mapping and the JSON
// encoding to the indexers, which do them from the same bytes and receive
// metadata. It costs a UTF-8 check and a header parse per event (BENCHMARKS.md).
// Parse failures are counted where documents are made, not here.
type RawProcessor struct {
	namespace string
	syslog    *syslogparse.Parser
	charsets  charsets
}

// NewRawProcessor returns a processor for one worker; namespace is the
// data_stream.namespace that topic templates may name.
func NewRawProcessor(namespace string) *RawProcessor {
	return &RawProcessor{namespace: namespace, syslog: syslogparse.New()}
}

// Process sets ev.Routes.Hostname and Namespace; ev.JSON stays empty, but
// for a complete ECS document, which is passed on as the ECSProcessor does.
func (p *RawProcessor) Process(ev *pipeline.Event) {
	if ev.Origin.Format == pipeline.FormatECS {
		passThrough(ev, p.namespace)
		return
	}
	ev.JSON = nil
	ev.Routes = pipeline.Routes{Namespace: p.namespace}
	if ev.Origin.Format == pipeline.FormatSyslog {
		var t eventText
		readText(p.syslog, &p.charsets, ev, &t)
		ev.Routes.Hostname = t.header.Hostname
	}
}

// passThrough makes an event whose Raw is a complete ECS document its own
// JSON; the source filled its Routes.
func passThrough(ev *pipeline.Event, namespace string) {
	ev.JSON = ev.Raw
	if ev.Routes.Namespace == "" {
		ev.Routes.Namespace = namespace
	}
}

// eventText is what both processors read of an event before mapping it.
type eventText struct {
	// origin is ev.Origin, or the sender profile that the syslog HOSTNAME
	// matched (Origin.ByHostname): its settings apply to the event.
	origin *pipeline.Origin
	// text is Raw, decoded to UTF-8 in origin's charset when Raw is not
	// valid UTF-8 (a new array then, so it may be aliased like Raw).
	text []byte
	// badText: some bytes were not text in that charset and became U+FFFD.
	badText bool
	// header is the syslog header read from text in origin's zone; zero for
	// other formats.
	header syslogparse.Header
}

// readText decodes ev's text and, for syslog, reads its header and applies
// the sender profile its HOSTNAME matches: that profile's charset decodes
// the text again (headers are ASCII in every charset we support) and its
// zone reads a header time without one. It fills the caller's zero t
// rather than returning one, so that the large header is not copied out.
func readText(parser *syslogparse.Parser, sets *charsets, ev *pipeline.Event, t *eventText) {
	o := ev.Origin
	t.origin, t.text = o, ev.Raw
	valid := utf8.Valid(t.text)
	if !valid {
		t.text, t.badText = charset.Decode(t.text, sets.get(o.Charset))
	}
	if o.Format != pipeline.FormatSyslog {
		return
	}
	t.header = parser.Parse(t.text, ev.Received, o.Location)
	if o.ByHostname == nil || t.header.Hostname == "" {
		return
	}
	byName := o.ByHostname(t.header.Hostname)
	if byName == nil || byName == o {
		return
	}
	recode := !valid && byName.Charset != o.Charset
	t.origin = byName
	if recode {
		t.text, t.badText = charset.Decode(ev.Raw, sets.get(byName.Charset))
	}
	if recode || !t.header.TimeZoned {
		t.header = parser.Parse(t.text, ev.Received, byName.Location)
	}
}

// charsets holds the character sets that origins name, looked up once each:
// the names come from the configuration and from edge headers, which carry
// an edge's configured names, so there are a handful.
type charsets map[string]*charset.Charset

// get returns the character set called name: nil, which decodes as UTF-8,
// for "" and UTF-8's names. A name that Lookup does not know is nil too: the
// sources' Validate and the edge header decoder refuse such names, so none
// reaches a worker.
func (c *charsets) get(name string) *charset.Charset {
	cs, ok := (*c)[name]
	if !ok {
		cs, _ = charset.Lookup(name)
		if *c == nil {
			*c = make(charsets)
		}
		(*c)[name] = cs
	}
	return cs
}
