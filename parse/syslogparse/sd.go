package syslogparse

import "unicode/utf8"

// The fast path's structured data: well-formed SD-ELEMENTs only, written as
// the same JSON that json.Marshal makes of go-syslog's map (sorted keys,
// encoding/json's escaping), into the Parser's scratch so no event allocates.
// Everything unusual is declined to the lenient reader: duplicate SD-IDs or
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
		if i, _, ok = s.element(raw, i, false); !ok {
			return 0, nil, false
		}
	}
	return i, s.encode(), true
}

// lenientSD reads the SD-ELEMENTs at raw[i] ('[') the way the lenient reader
// does: an element that cannot be read is dropped (NoteInvalidSD) and
// reading goes on after its closing bracket, so its neighbours survive; an
// SD-ID or PARAM-NAME over 32 bytes is kept (NoteFieldTooLong). js is nil
// when no element survives. end is the index after the last element read,
// or the '[' of an element that never closes: MSG starts there.
func (s *sdScratch) lenientSD(raw []byte, i int) (end int, js []byte, notes Notes) {
	s.elems, s.params = s.elems[:0], s.params[:0]
	for i < len(raw) && raw[i] == '[' {
		next, long, ok := s.element(raw, i, true)
		if long {
			notes |= NoteFieldTooLong
		}
		if !ok {
			notes |= NoteInvalidSD
			if next = skipElement(raw, i); next < 0 {
				break
			}
		}
		i = next
	}
	if len(s.elems) == 0 {
		return i, nil, notes
	}
	return i, s.encode(), notes
}

// maxLenientName is the longest SD-NAME the lenient reader keeps: RFC 5424
// allows 32, syslog-ng keeps up to 255.
const maxLenientName = 255

// element reads one SD-ELEMENT at raw[i] ('[') into the scratch and returns
// the index after it. Strict, it declines anything RFC 5424 does not allow
// and duplicates (go-syslog's answers to those are quirks, not rules).
// Lenient, it also takes SD-NAMEs up to 255 bytes (long), blanks around '='
// and doubled blanks, any byte in a PARAM-VALUE, and keeps the first of
// repeated PARAM-NAMEs; a repeated SD-ID is invalid. On failure nothing of
// the element stays in the scratch.
func (s *sdScratch) element(raw []byte, i int, lenient bool) (end int, long, ok bool) {
	limit := 32
	if lenient {
		limit = maxLenientName
	}
	first := len(s.params)
	fail := func() (int, bool, bool) {
		s.params = s.params[:first]
		return 0, long, false
	}
	id, i, ok := sdName(raw, i+1, limit)
	if !ok {
		return fail()
	}
	long = len(id) > 32
	for _, e := range s.elems {
		if e.id == id {
			return fail()
		}
	}
	for i < len(raw) && raw[i] == ' ' {
		i++
		if lenient {
			if i = skipSpaces(raw, i); i < len(raw) && raw[i] == ']' {
				break
			}
		}
		var name, value string
		if name, i, ok = sdName(raw, i, limit); !ok {
			return fail()
		}
		long = long || len(name) > 32
		if lenient {
			i = skipSpaces(raw, i)
		}
		if i >= len(raw) || raw[i] != '=' {
			return fail()
		}
		if i++; lenient {
			i = skipSpaces(raw, i)
		}
		if i >= len(raw) || raw[i] != '"' {
			return fail()
		}
		if value, i, ok = sdValue(raw, i+1, lenient); !ok {
			return fail()
		}
		dup := false
		for _, q := range s.params[first:] {
			dup = dup || q.name == name
		}
		if dup && !lenient {
			return fail()
		}
		if !dup {
			s.params = append(s.params, sdParam{name, value})
		}
	}
	if i >= len(raw) || raw[i] != ']' {
		return fail()
	}
	s.elems = append(s.elems, sdElem{id: id, first: first, n: len(s.params) - first})
	return i + 1, long, true
}

// skipElement returns the index after the ']' that closes the element at
// raw[i] ('['), skipping quoted values, or -1 when it never closes.
func skipElement(raw []byte, i int) int {
	quoted := false
	for j := i + 1; j < len(raw); j++ {
		switch c := raw[j]; {
		case quoted && c == '\\':
			j++
		case c == '"':
			quoted = !quoted
		case c == ']' && !quoted:
			return j + 1
		}
	}
	return -1
}

// sdName reads an SD-NAME (1..limit printable US-ASCII bytes except '=',
// ' ', ']', '"') at i and returns the index after it.
func sdName(raw []byte, i, limit int) (name string, end int, ok bool) {
	j := i
	for j < len(raw) && isGraph(raw[j]) && raw[j] != '=' && raw[j] != ']' && raw[j] != '"' {
		j++
	}
	if j == i || j-i > limit {
		return "", 0, false
	}
	return str(raw[i:j]), j, true
}

// sdValue reads a PARAM-VALUE up to its closing quote, which starts at i,
// and returns the value still escaped and the index after the quote.
// Strict, it declines control bytes, invalid UTF-8, an unescaped ']' and a
// backslash before anything but '"', '\' and ']'; lenient, it takes any
// byte, and a backslash only keeps the next byte from closing the value.
func sdValue(raw []byte, i int, lenient bool) (value string, end int, ok bool) {
	j := i
	for j < len(raw) {
		switch c := raw[j]; {
		case c == '"':
			return str(raw[i:j]), j + 1, true
		case c == '\\':
			if j+1 >= len(raw) || (!lenient && raw[j+1] != '"' && raw[j+1] != '\\' && raw[j+1] != ']') {
				return "", 0, false
			}
			j += 2
		case lenient || (c >= 0x20 && c < 0x7f && c != ']'):
			j++
		case c == ']' || c < 0x20 || c == 0x7f:
			return "", 0, false
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
// it for valid UTF-8 without control bytes (which is all the fast path lets
// through); control bytes become \u00XX and invalid UTF-8 U+FFFD, so the
// result is always valid JSON. For a PARAM-VALUE (escaped) it drops the
// backslash of each RFC 5424 escape (`\"`, `\\`, `\]`) and keeps any
// other backslash, as RFC 5424 §6.3.3 says.
func appendJSONString(b []byte, s string, escaped bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && escaped && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
			i++
			c = s[i]
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '<' || c == '>' || c == '&' || c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && n == 1:
				b = append(b, `\ufffd`...)
			case r == '\u2028' || r == '\u2029': // encoding/json escapes them
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			default:
				b = append(b, s[i:i+n]...)
			}
			i += n - 1
		}
	}
	return append(b, '"')
}
