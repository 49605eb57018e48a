package kafka

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"siemfwd/pipeline"
)

// field is one event field a template can read.
type field uint8

const (
	fieldDataset field = iota
	fieldKind
	fieldModule
	fieldHostname
	fieldSourceIP
	fieldNamespace
	fieldSource
)

// fieldNames maps the names used in templates (ECS dotted names, plus
// siemfwd.source for the configured source name) to fields.
var fieldNames = map[string]field{
	"event.dataset":         fieldDataset,
	"event.kind":            fieldKind,
	"event.module":          fieldModule,
	"log.syslog.hostname":   fieldHostname,
	"source.ip":             fieldSourceIP,
	"data_stream.namespace": fieldNamespace,
	"siemfwd.source":        fieldSource,
}

func (f field) value(ev *pipeline.Event) string {
	switch f {
	case fieldDataset:
		return ev.Routes.Dataset
	case fieldKind:
		return ev.Routes.Kind
	case fieldModule:
		return ev.Routes.Module
	case fieldHostname:
		return ev.Routes.Hostname
	case fieldSourceIP:
		return ev.Routes.SourceIP
	case fieldNamespace:
		return ev.Routes.Namespace
	case fieldSource:
		if ev.Origin != nil {
			return ev.Origin.Source
		}
	}
	return ""
}

// part is literal text, or a placeholder whose value is the first
// non-empty of its alternatives.
type part struct {
	lit  string
	alts []field
}

// template is a parsed topic or key template: literal text with
// placeholders such as {event.dataset} or {source.ip|log.syslog.hostname}
// (the first non-empty alternative). It is parsed once, at New, so that an
// unknown field name is a config error and rendering does no parsing.
type template struct {
	parts []part
}

// parseTemplate parses s. Braces cannot be escaped: they are not legal in
// topic names, and keys have no need for them.
func parseTemplate(s string) (template, error) {
	var t template
	for len(s) > 0 {
		open := strings.IndexByte(s, '{')
		if close := strings.IndexByte(s, '}'); close >= 0 && (open < 0 || close < open) {
			return template{}, errors.New("'}' without '{'")
		}
		if open < 0 {
			t.parts = append(t.parts, part{lit: s})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, part{lit: s[:open]})
		}
		s = s[open+1:]
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return template{}, errors.New("'{' without '}'")
		}
		var p part
		for _, name := range strings.Split(s[:end], "|") {
			f, ok := fieldNames[strings.TrimSpace(name)]
			if !ok {
				return template{}, fmt.Errorf("unknown field %q in {%s} (known: %s)", name, s[:end], strings.Join(knownFields(), ", "))
			}
			p.alts = append(p.alts, f)
		}
		t.parts = append(t.parts, p)
		s = s[end+1:]
	}
	return t, nil
}

func knownFields() []string {
	names := make([]string, 0, len(fieldNames))
	for n := range fieldNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// constant returns the template's text when it has no placeholder.
func (t template) constant() (string, bool) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.alts != nil {
			return "", false
		}
		b.WriteString(p.lit)
	}
	return b.String(), true
}

// render appends the template's value for ev to dst.
func (t template) render(dst []byte, ev *pipeline.Event) []byte {
	for _, p := range t.parts {
		if p.alts == nil {
			dst = append(dst, p.lit...)
			continue
		}
		for _, f := range p.alts {
			if v := f.value(ev); v != "" {
				dst = append(dst, v...)
				break
			}
		}
	}
	return dst
}

// readsParsedFields reports whether the template names a field that only
// parsing the message gives (everything but the hostname, the namespace and
// the source name).
func (t template) readsParsedFields() bool {
	for _, p := range t.parts {
		for _, f := range p.alts {
			switch f {
			case fieldHostname, fieldNamespace, fieldSource:
			default:
				return true
			}
		}
	}
	return false
}

// ForwardsRaw reports whether the sink writes only the raw message and its
// receive metadata (edge mode) with a topic and key that read no parsed
// field, so that the workers need not parse the message into a document
// (pipeline.RawForwarder).
func (s *Sink) ForwardsRaw() bool {
	if s.cfg.Mode != ModeEdge || s.topic.readsParsedFields() {
		return false
	}
	return s.keyBy != KeyByTemplate || !s.key.readsParsedFields()
}

var _ pipeline.RawForwarder = (*Sink)(nil)
