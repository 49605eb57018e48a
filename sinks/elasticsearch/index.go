package elasticsearch

import (
	"strings"

	"siemfwd/pipeline"
)

// maxNamePart bounds a dataset or namespace, as the data stream naming
// scheme does (the whole name must stay under 255 bytes).
const maxNamePart = 100

// sanitize makes s usable inside an index name: lower case, and every byte
// that ES forbids (\ / * ? " < > | space , # : and control characters)
// replaced by '_'. With dash, '-' is replaced too, because data stream names
// use it to separate type, dataset and namespace.
func sanitize(s string, dash bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if badByte(s[i], dash) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case badByte(c, dash):
			b[i] = '_'
		}
	}
	return string(b)
}

func badByte(c byte, dash bool) bool {
	switch c {
	case '\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':':
		return true
	case '-':
		return dash
	}
	return c < 0x20 || c == 0x7f || (c >= 'A' && c <= 'Z')
}

// namePart sanitizes a dataset or namespace, with a fallback for empty values.
func namePart(s, fallback string) string {
	s = sanitize(s, true)
	s = strings.TrimLeft(s, "_+.")
	if len(s) > maxNamePart {
		s = s[:maxNamePart]
	}
	if s == "" {
		return fallback
	}
	return s
}

// routeKey is what an index name depends on.
type routeKey struct{ dataset, namespace string }

// indexNamer maps events to index names, caching per dataset and namespace
// so the hot path neither allocates nor rescans. Not safe for concurrent use.
type indexNamer struct {
	mode  string
	tmpl  string
	cache map[routeKey]string
}

func newIndexNamer(mode, tmpl string) *indexNamer {
	return &indexNamer{mode: mode, tmpl: tmpl, cache: make(map[routeKey]string)}
}

// maxCachedNames bounds the cache: datasets come from parsed input, so a
// hostile sender could otherwise grow it without end.
const maxCachedNames = 4096

func (n *indexNamer) name(ev *pipeline.Event) string {
	k := routeKey{ev.Routes.Dataset, ev.Routes.Namespace}
	if s, ok := n.cache[k]; ok {
		return s
	}
	s := indexName(n.mode, n.tmpl, k.dataset, k.namespace)
	if len(n.cache) >= maxCachedNames {
		clear(n.cache)
	}
	n.cache[k] = s
	return s
}

// indexName is the target of an event with this dataset and namespace.
func indexName(mode, tmpl, dataset, namespace string) string {
	ds, ns := namePart(dataset, "generic"), namePart(namespace, "default")
	if mode == ModeIndex {
		return strings.NewReplacer("{event.dataset}", ds, "{data_stream.namespace}", ns).Replace(tmpl)
	}
	return "logs-" + ds + "-" + ns
}

// IndexName returns the data stream or index an event is written to with
// this configuration, e.g. logs-kerio_connect.security-default, so that
// operators and tests can find it.
func (c Config) IndexName(ev *pipeline.Event) string {
	return indexName(c.Mode, c.Index, ev.Routes.Dataset, ev.Routes.Namespace)
}
