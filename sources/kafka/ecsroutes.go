package kafka

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"siemfwd/pipeline"
)

// errNotObject refuses an ECS value that is not one JSON object.
var errNotObject = errors.New("ecs: value is not a JSON object")

// RoutesFromECS reads the routing fields of an ECS JSON document that
// another siemfwd encoded: event.dataset (else data_stream.dataset),
// event.kind, event.category, event.module, log.syslog.hostname, source.ip
// and data_stream.namespace. Keys may be nested objects or dotted, at any
// level ({"event":{"dataset":…}} or {"event.dataset":…}).
//
// It is a small scanner rather than encoding/json, because it runs once per
// passed-through event: it skips what it does not need without decoding it
// (see BenchmarkRoutesFromECS for the comparison). It checks the structure
// it walks (brackets, quotes, colons, commas) but not every value, so a
// document it accepts may still be refused by a sink: a sink's dead letter
// catches that.
//
// The returned strings alias doc, unless they held escapes; doc must not be
// modified afterwards (an event's Raw never is).
func RoutesFromECS(doc []byte) (pipeline.Routes, error) {
	var r pipeline.Routes
	var s ecsScanner
	s.doc = doc
	s.routes = &r
	s.skipSpace()
	if s.i >= len(s.doc) || s.doc[s.i] != '{' {
		return pipeline.Routes{}, errNotObject
	}
	if err := s.object(0); err != nil {
		return pipeline.Routes{}, err
	}
	s.skipSpace()
	if s.i != len(s.doc) {
		return pipeline.Routes{}, fmt.Errorf("ecs: data after the document at byte %d", s.i)
	}
	if r.Dataset == "" {
		r.Dataset = s.streamDataset
	}
	return r, nil
}

// maxPath bounds the dotted path the scanner follows; longer keys cannot
// be routing fields and are skipped.
const maxPath = 64

type ecsScanner struct {
	doc           []byte
	i             int
	routes        *pipeline.Routes
	streamDataset string
	path          [maxPath]byte
}

// field says what a dotted path is to the scanner.
type field uint8

const (
	fieldNone   field = iota // skip the value
	fieldParent              // an object on the way to routing fields
	fieldDataset
	fieldStreamDataset
	fieldKind
	fieldCategory
	fieldModule
	fieldHostname
	fieldSourceIP
	fieldNamespace
)

func lookup(path []byte) field {
	switch string(path) { // no allocation: the compiler compares in place
	case "event", "log", "log.syslog", "source", "data_stream":
		return fieldParent
	case "event.dataset":
		return fieldDataset
	case "data_stream.dataset":
		return fieldStreamDataset
	case "event.kind":
		return fieldKind
	case "event.category":
		return fieldCategory
	case "event.module":
		return fieldModule
	case "log.syslog.hostname":
		return fieldHostname
	case "source.ip":
		return fieldSourceIP
	case "data_stream.namespace":
		return fieldNamespace
	}
	return fieldNone
}

func (s *ecsScanner) skipSpace() {
	for s.i < len(s.doc) {
		switch s.doc[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *ecsScanner) errAt(what string) error {
	if s.i >= len(s.doc) {
		return fmt.Errorf("ecs: unexpected end of document, expecting %s", what)
	}
	return fmt.Errorf("ecs: expecting %s at byte %d, got %q", what, s.i, s.doc[s.i])
}

// object reads the object at s.i whose dotted path is s.path[:plen].
func (s *ecsScanner) object(plen int) error {
	s.i++ // '{'
	s.skipSpace()
	if s.i < len(s.doc) && s.doc[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.skipSpace()
		if s.i >= len(s.doc) || s.doc[s.i] != '"' {
			return s.errAt("a key")
		}
		key, err := s.key()
		if err != nil {
			return err
		}
		s.skipSpace()
		if s.i >= len(s.doc) || s.doc[s.i] != ':' {
			return s.errAt("':'")
		}
		s.i++
		s.skipSpace()
		n := plen
		f := fieldNone
		if plen > 0 {
			n++
		}
		if n+len(key) <= maxPath {
			if plen > 0 {
				s.path[plen] = '.'
			}
			n += copy(s.path[n:], key)
			f = lookup(s.path[:n])
		}
		if err := s.value(f, n); err != nil {
			return err
		}
		s.skipSpace()
		if s.i >= len(s.doc) {
			return s.errAt("',' or '}'")
		}
		switch s.doc[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errAt("',' or '}'")
		}
	}
}

// value reads the value at s.i for field f (path length plen).
func (s *ecsScanner) value(f field, plen int) error {
	if s.i >= len(s.doc) {
		return s.errAt("a value")
	}
	c := s.doc[s.i]
	switch {
	case c == '{' && f == fieldParent:
		return s.object(plen)
	case c == '"' && f > fieldParent:
		v, err := s.str()
		if err != nil {
			return err
		}
		s.set(f, v)
		return nil
	case c == '[' && f == fieldCategory:
		return s.categories()
	}
	return s.skip()
}

func (s *ecsScanner) set(f field, v string) {
	r := s.routes
	switch f {
	case fieldDataset:
		r.Dataset = v
	case fieldStreamDataset:
		s.streamDataset = v
	case fieldKind:
		r.Kind = v
	case fieldCategory:
		r.Categories = []string{v}
	case fieldModule:
		r.Module = v
	case fieldHostname:
		r.Hostname = v
	case fieldSourceIP:
		r.SourceIP = v
	case fieldNamespace:
		r.Namespace = v
	}
}

// categories reads an array of strings; other elements are skipped.
func (s *ecsScanner) categories() error {
	s.i++ // '['
	var cats []string
	for {
		s.skipSpace()
		if s.i >= len(s.doc) {
			return s.errAt("a value or ']'")
		}
		if s.doc[s.i] == ']' && len(cats) == 0 {
			s.i++
			break
		}
		if s.doc[s.i] == '"' {
			v, err := s.str()
			if err != nil {
				return err
			}
			if cats == nil {
				cats = make([]string, 0, 2)
			}
			cats = append(cats, v)
		} else if err := s.skip(); err != nil {
			return err
		}
		s.skipSpace()
		if s.i >= len(s.doc) {
			return s.errAt("',' or ']'")
		}
		if s.doc[s.i] == ',' {
			s.i++
			continue
		}
		if s.doc[s.i] != ']' {
			return s.errAt("',' or ']'")
		}
		s.i++
		break
	}
	s.routes.Categories = cats
	return nil
}

// key reads the key at s.i. Without escapes it aliases doc, and it is not
// checked for UTF-8: a key that is not cannot name a routing field anyway.
func (s *ecsScanner) key() ([]byte, error) {
	start := s.i + 1
	end, escaped := s.strEnd(start)
	if end < 0 {
		s.i = len(s.doc)
		return nil, s.errAt("the end of a string")
	}
	s.i = end + 1
	if !escaped {
		return s.doc[start:end], nil
	}
	var v string
	if err := json.Unmarshal(s.doc[start-1:end+1], &v); err != nil {
		return nil, fmt.Errorf("ecs: key at byte %d: %w", start-1, err)
	}
	return []byte(v), nil
}

// str reads the string at s.i. Without escapes it aliases doc.
func (s *ecsScanner) str() (string, error) {
	start := s.i + 1
	end, escaped := s.strEnd(start)
	if end < 0 {
		s.i = len(s.doc)
		return "", s.errAt("the end of a string")
	}
	s.i = end + 1
	if b := s.doc[start:end]; !escaped && utf8.Valid(b) {
		return unsafe.String(unsafe.SliceData(b), len(b)), nil
	}
	// Escapes, or bytes that are not UTF-8 (replaced by U+FFFD, as a JSON
	// decoder does): the rare slow path.
	var v string
	if err := json.Unmarshal(s.doc[start-1:end+1], &v); err != nil {
		return "", fmt.Errorf("ecs: string at byte %d: %w", start-1, err)
	}
	return v, nil
}

// strEnd returns the index of the quote that closes the string whose text
// starts at start, or -1, and whether it holds backslashes. Most strings
// are short, where a plain loop beats bytes.IndexByte's setup; long ones
// (event.original) switch to IndexByte for the quote once no backslash
// is pending.
func (s *ecsScanner) strEnd(start int) (int, bool) {
	escaped := false
	doc := s.doc
	for i := start; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			return i, escaped
		case '\\':
			escaped = true
			i++ // the escaped byte, which may be a quote
		default:
			if i-start == 32 && !escaped {
				// Long and clean so far: let IndexByte find the quote, then
				// check for backslashes only if there is one before it.
				q := bytes.IndexByte(doc[i:], '"')
				if q < 0 {
					return -1, false
				}
				if bytes.IndexByte(doc[i:i+q], '\\') < 0 {
					return i + q, false
				}
				// A backslash: fall back to the loop from here.
			}
		}
	}
	return -1, escaped
}

// skip passes over the value at s.i.
func (s *ecsScanner) skip() error {
	switch s.doc[s.i] {
	case '"':
		end, _ := s.strEnd(s.i + 1)
		if end < 0 {
			s.i = len(s.doc)
			return s.errAt("the end of a string")
		}
		s.i = end + 1
		return nil
	case '{', '[':
		return s.skipNested()
	}
	start := s.i
	for s.i < len(s.doc) {
		switch s.doc[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if s.i == start {
				return s.errAt("a value")
			}
			return nil
		case '{', '[', '"', ':':
			return s.errAt("a value")
		}
		s.i++
	}
	return nil
}

// structural marks the bytes skipNested must look at.
var structural = [256]bool{'{': true, '}': true, '[': true, ']': true, '"': true}

// skipNested passes over an object or array, checking that brackets match.
func (s *ecsScanner) skipNested() error {
	var stack [32]byte
	depth := 0
	for s.i < len(s.doc) {
		c := s.doc[s.i]
		if !structural[c] {
			s.i++
			continue
		}
		switch c {
		case '{', '[':
			if depth == len(stack) {
				return fmt.Errorf("ecs: nested deeper than %d at byte %d", len(stack), s.i)
			}
			stack[depth] = c
			depth++
		case '}', ']':
			if depth == 0 || (c == '}') != (stack[depth-1] == '{') {
				return s.errAt("a matching bracket")
			}
			depth--
			if depth == 0 {
				s.i++
				return nil
			}
		case '"':
			end, _ := s.strEnd(s.i + 1)
			if end < 0 {
				s.i = len(s.doc)
				return s.errAt("the end of a string")
			}
			s.i = end
		}
		s.i++
	}
	return s.errAt("the end of an object or array")
}
