package syslogparse

import "unicode/utf8"

// The fast path's structured data: well-formed SD-ELEMENTs only, written as
// the same JSON that json.Marshal makes of go-syslog's map (sorted keys,
// encoding/json's escaping), into the Parser's scratch so no event allocates.
// Everything unusual is declined to the slow path: duplicate SD-IDs or
// PARAM-NAMEs (go-syslog's answers to those are quirks, not rules), control
// bytes, invalid UTF-8, a backslash that escapes anything but `"`, `\`, `]`.

// sdElem is one SD-ELEMENT: its SD-ID and its params, sdParams[first:first+n].
type sdElem struct {
	id       string
	first, n int
}

// sdParam is one SD-PARAM; value is still escaped as it was on the wire.
type sdParam struct{ name, value string }

// sdScratch is the Parser's reusable storage for structured data.
type sdScratch struct {
	json   []byte // Header.StructuredData aliases it until the next Parse
	elems  []sdElem
	params []sdParam
}

// structuredData reads the SD-ELEMENTs at raw[i] ('[') and returns the index
// after the last one and their JSON, or ok false to decline.
func (s *sdScratch) structuredData(raw []byte, i int) (end int, js []byte, ok bool) {
	s.elems, s.params = s.elems[:0], s.params[:0]
	for i < len(raw) && raw[i] == '[' {
		var id string
		if id, i, ok = sdName(raw, i+1); !ok {
			return 0, nil, false
		}
		for _, e := range s.elems {
			if e.id == id {
				return 0, nil, false
			}
		}
		first := len(s.params)
		for i < len(raw) && raw[i] == ' ' {
			var name, value string
			if name, i, ok = sdName(raw, i+1); !ok || i+1 >= len(raw) || raw[i] != '=' || raw[i+1] != '"' {
				return 0, nil, false
			}
			if value, i, ok = sdValue(raw, i+2); !ok {
				return 0, nil, false
			}
			for _, q := range s.params[first:] {
				if q.name == name {
					return 0, nil, false
				}
			}
			s.params = append(s.params, sdParam{name, value})
		}
		if i >= len(raw) || raw[i] != ']' {
			return 0, nil, false
		}
		i++
		s.elems = append(s.elems, sdElem{id: id, first: first, n: len(s.params) - first})
	}
	return i, s.encode(), true
}

// sdName reads an SD-NAME (1..32 printable US-ASCII bytes except '=', ' ',
// ']', '"') at i and returns the index after it.
func sdName(raw []byte, i int) (name string, end int, ok bool) {
	j := i
	for j < len(raw) && isGraph(raw[j]) && raw[j] != '=' && raw[j] != ']' && raw[j] != '"' {
		j++
	}
	if j == i || j-i > 32 {
		return "", 0, false
	}
	return str(raw[i:j]), j, true
}

// sdValue reads a PARAM-VALUE up to its closing quote, which starts at i,
// and returns the value still escaped and the index after the quote.
func sdValue(raw []byte, i int) (value string, end int, ok bool) {
	j := i
	for j < len(raw) {
		switch c := raw[j]; {
		case c == '"':
			return str(raw[i:j]), j + 1, true
		case c == '\\':
			if j+1 >= len(raw) || (raw[j+1] != '"' && raw[j+1] != '\\' && raw[j+1] != ']') {
				return "", 0, false
			}
			j += 2
		case c == ']' || c < 0x20 || c == 0x7f:
			return "", 0, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, n := utf8.DecodeRune(raw[j:])
			if r == utf8.RuneError {
				return "", 0, false
			}
			j += n
		}
	}
	return "", 0, false
}

// encode writes {"id":{"name":"value",…},…} with both levels sorted.
func (s *sdScratch) encode() []byte {
	sortBy(s.elems, func(e sdElem) string { return e.id })
	b := append(s.json[:0], '{')
	for k, e := range s.elems {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e.id, false)
		b = append(b, ':', '{')
		params := s.params[e.first : e.first+e.n]
		sortBy(params, func(q sdParam) string { return q.name })
		for k, q := range params {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, q.name, false)
			b = append(b, ':')
			b = appendJSONString(b, q.value, true)
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	s.json = b
	return b
}

// sortBy is an insertion sort: a message has a handful of elements and
// params, and slices.SortFunc's closure would escape.
func sortBy[T any](xs []T, key func(T) string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && key(xs[j]) < key(xs[j-1]); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// appendJSONString appends s as a JSON string the way encoding/json writes
// it; for a PARAM-VALUE (escaped) it drops the backslash of each RFC 5424
// escape (`\"`, `\\`, `\]`) on the way. s holds no control bytes and is
// valid UTF-8 (sdName and sdValue made sure).
func appendJSONString(b []byte, s string, escaped bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && escaped { // sdValue checked that a byte follows
			i++
			c = s[i]
		}
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '<', '>', '&':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case 0xe2:
			// U+2028 and U+2029 (e2 80 a8/a9), which encoding/json escapes.
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
				b = append(b, '\\', 'u', '2', '0', '2', hex[s[i+2]&0xf])
				i += 2
				continue
			}
			b = append(b, c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
