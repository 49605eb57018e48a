package ecs

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Encoder writes documents as nested JSON objects: the dotted key
// "log.syslog.hostname" becomes {"log":{"syslog":{"hostname":…}}}. Keys are
// written sorted, so equal documents encode to equal bytes. An Encoder keeps
// scratch space and a cache between calls and is owned by one goroutine.
//
// Events of one kind set the same keys in the same order. So the encoder
// caches, per key sequence, a layout: which fields to write in which order
// and the JSON text that goes before each value (closing and opening braces,
// commas, the quoted key). A layout is found by the ids of the keys and
// constants (see the package doc) and confirmed by their names and values,
// so a hit costs one pass over the fields and no sorting or path splitting.
// Constant values are part of what a layout is recognised by, and their
// JSON is part of its text.
type Encoder struct {
	layouts map[uint64]*layout
	seconds secondsText
}

// layout is how to write documents whose fields are exactly ids, in that
// order, or why they cannot be written (err).
type layout struct {
	ids    []ident
	order  []int    // indices of the fields to write, sorted by key, replaced entries and constants left out
	prefix []string // JSON text before each written value
	suffix string   // the JSON after the last written value: constants and closing braces
	widest int      // index of the longest written string when the layout was made (event.original, usually); -1 if none
	err    error    // a *KeyError: documents of this shape are refused
}

// ident is what a layout recognises a field by: its key and, for a
// constant, the constant (never written, so the layout may keep it).
type ident struct {
	key   Key
	konst *constant
}

// maxLayouts bounds the cache; the parsers produce a few dozen shapes.
const maxLayouts = 1024

// KeyError is the error of a document whose keys cannot make one JSON
// object that Elasticsearch accepts: a key that is both a value and the
// parent of another ("a" and "a.b" would give {"a":"1","a":{"b":"2"}}), or
// a key with an empty level ("a..b", ""), or a key that is not valid UTF-8.
type KeyError struct {
	Key    string // the offending key
	Reason string
}

func (e *KeyError) Error() string { return fmt.Sprintf("ecs field %q: %s", e.Key, e.Reason) }

// Append appends the JSON encoding of d to dst and returns the extended
// slice. A document whose keys cannot make a JSON object (see KeyError) is
// not written: Append returns dst unchanged and a *KeyError.
//
// Many values are parts of one long one (the message, host and addresses
// are cut out of event.original), so the longest string is checked for
// escaping first, and a value lying inside its plain bytes is copied
// without being checked again.
func (e *Encoder) Append(dst []byte, d *Document) ([]byte, error) {
	fields := d.fields
	l := e.layoutFor(d)
	if l.err != nil {
		return dst, l.err
	}
	var plain span
	if l.widest >= 0 && fields[l.widest].Kind == KindString {
		plain = plainSpan(fields[l.widest].Str)
	}
	for j, i := range l.order {
		dst = append(dst, l.prefix[j]...)
		if f := &fields[i]; f.Kind == KindString && plain.covers(f.Str) { // most values: no call
			dst = append(dst, '"')
			dst = append(dst, f.Str...)
			dst = append(dst, '"')
			continue
		}
		dst = e.appendValue(dst, &fields[i], plain)
	}
	return append(dst, l.suffix...), nil
}

// span is a stretch of memory that holds no byte a JSON string must escape.
// It is taken and used within one Append, while the document holds the
// value it was taken from (the heap does not move), and cached nowhere.
type span struct{ lo, hi uintptr }

// plainSpan returns the plain bytes at the start of s.
func plainSpan(s string) span {
	lo := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return span{lo, lo + uintptr(plainPrefix(s))}
}

// covers reports whether all of s lies in the span.
func (p span) covers(s string) bool {
	a := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return a >= p.lo && a+uintptr(len(s)) <= p.hi
}

// appendPlain appends s as a JSON string when plain covers it, checking it otherwise.
func appendPlain(dst []byte, s string, plain span) []byte {
	if !plain.covers(s) {
		return AppendString(dst, s)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// layoutFor returns the layout of d's fields, found by the hash of their
// keys and constants in order. The hash only selects a layout, which
// sameFields then confirms field by field.
func (e *Encoder) layoutFor(d *Document) *layout {
	fields := d.fields
	h := uint64(len(fields))
	for i := range fields {
		h = (h ^ fields[i].Key.id) * 0x100000001b3
		if c := fields[i].konst; c != nil {
			h ^= c.id
		}
	}
	if l, ok := e.layouts[h]; ok && sameFields(l.ids, fields) {
		return l
	}
	l := newLayout(fields)
	if e.layouts == nil || len(e.layouts) >= maxLayouts {
		e.layouts = make(map[uint64]*layout)
	}
	e.layouts[h] = l
	return l
}

// sameFields reports whether fields are exactly ids: the same keys in the
// same order, and the same constants.
func sameFields(ids []ident, fields []Field) bool {
	if len(ids) != len(fields) {
		return false
	}
	fields = fields[:len(ids)]
	for i := range ids {
		id, f := &ids[i], &fields[i]
		// Equal names mean equal ids (an id is the hash of its name):
		// the names alone confirm the keys the ids found the layout by.
		// One constant (most events: the one their layout was made with)
		// has one value; two are compared by value. Written out rather
		// than with sameText: this loop runs once per field and event.
		a, b := id.key.name, f.Key.name
		if len(a) != len(b) || unsafe.StringData(a) != unsafe.StringData(b) && a != b {
			return false
		}
		if id.konst != f.konst && !sameConst(id.konst, f.konst) {
			return false
		}
	}
	return true
}

// sameConst reports whether a and b, constants made apart (either may be
// nil: no constant), hold the same value. Their ids are compared first:
// unequal ids mean unequal values, and equal ones are hashes, so the values
// are compared too.
func sameConst(a, b *constant) bool {
	if a == nil || b == nil || a.id != b.id || a.kind != b.kind || a.num != b.num ||
		!sameText(a.str, b.str) || len(a.strs) != len(b.strs) {
		return false
	}
	for i, s := range a.strs {
		if !sameText(s, b.strs[i]) {
			return false
		}
	}
	return true
}

// sameText reports whether a and b are equal. Strings of one Key or Const
// share their bytes, so the bytes are compared only when they are not the
// same (a string's bytes are never written).
func sameText(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// newLayout sorts the keys, which groups the members of each object (all
// keys under one parent share its prefix), keeps the last entry of a key set
// twice, and writes out the JSON text around the values and the constants.
// It refuses keys that cannot make an object (see KeyError).
func newLayout(fields []Field) *layout {
	l := &layout{ids: make([]ident, len(fields)), widest: -1}
	sorted := make([]int, len(fields))
	for i := range fields {
		f := &fields[i]
		l.ids[i] = ident{key: f.Key, konst: f.konst}
		sorted[i] = i
	}
	slices.SortStableFunc(sorted, func(a, b int) int { return strings.Compare(fields[a].Key.name, fields[b].Key.name) })
	written := sorted[:0:0]
	for n, i := range sorted {
		if n+1 < len(sorted) && fields[sorted[n+1]].Key.name == fields[i].Key.name {
			continue // replaced by a later set
		}
		written = append(written, i)
	}
	if err := checkKeys(fields, written); err != nil {
		l.err = err
		return l
	}

	var open []string // path segments of the objects currently open
	var text []byte
	text = append(text, '{')
	comma := false
	for _, i := range written {
		parents, leaf := splitLeaf(fields[i].Key.name)
		common := 0
		for common < len(open) && parents != "" {
			seg, rest, _ := strings.Cut(parents, ".")
			if seg != open[common] {
				break
			}
			parents = rest
			common++
		}
		for len(open) > common {
			text = append(text, '}')
			open = open[:len(open)-1]
			comma = true
		}
		for parents != "" {
			seg, rest, _ := strings.Cut(parents, ".")
			if comma {
				text = append(text, ',')
			}
			text = AppendString(text, seg)
			text = append(text, ':', '{')
			open = append(open, seg)
			comma = false
			parents = rest
		}
		if comma {
			text = append(text, ',')
		}
		text = AppendString(text, leaf)
		text = append(text, ':')
		comma = true
		if c := fields[i].konst; c != nil {
			// The constant's own value: the field's copy is for readers.
			value := Field{Kind: c.kind, Str: c.str, Int: c.num, Strs: c.strs}
			text = new(Encoder).appendValue(text, &value, span{}) // constants are never times: no state used
			continue
		}
		if fields[i].Kind == KindString && (l.widest < 0 || len(fields[i].Str) > len(fields[l.widest].Str)) {
			l.widest = i
		}
		l.order = append(l.order, i)
		l.prefix = append(l.prefix, string(text))
		text = text[:0]
	}
	for range open {
		text = append(text, '}')
	}
	l.suffix = string(append(text, '}'))
	return l
}

// checkKeys returns a *KeyError when a key of written (indices into
// fields, sorted by key, one per key) has an empty level, is not valid
// UTF-8, or is the parent of another one.
func checkKeys(fields []Field, written []int) error {
	names := make(map[string]bool, len(written))
	for _, i := range written {
		names[fields[i].Key.name] = true
	}
	for _, i := range written {
		name := fields[i].Key.name
		if name == "" || name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
			return &KeyError{Key: name, Reason: "has an empty level"}
		}
		if !utf8.ValidString(name) { // AppendString would read it as Latin-1, maybe as another key's text
			return &KeyError{Key: name, Reason: "is not valid UTF-8"}
		}
		for j := range len(name) {
			if name[j] == '.' && names[name[:j]] {
				return &KeyError{Key: name[:j], Reason: fmt.Sprintf("is both a value and the parent of %q", name)}
			}
		}
	}
	return nil
}

// splitLeaf splits "a.b.c" into "a.b" and "c".
func splitLeaf(key string) (parents, leaf string) {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i], key[i+1:]
	}
	return "", key
}

// appendValue appends f's value; strings that plain covers are not checked for escaping.
func (e *Encoder) appendValue(dst []byte, f *Field, plain span) []byte {
	switch f.Kind {
	case KindString:
		return appendPlain(dst, f.Str, plain)
	case KindInt:
		return strconv.AppendInt(dst, f.Int, 10)
	case KindFloat:
		v := f.Float()
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(dst, "null"...)
		}
		return strconv.AppendFloat(dst, v, 'f', -1, 64)
	case KindBool:
		return strconv.AppendBool(dst, f.Bool)
	case KindStrings:
		dst = append(dst, '[')
		for i, s := range f.Strs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendPlain(dst, s, plain)
		}
		return append(dst, ']')
	case KindTime:
		dst = append(dst, '"')
		dst = e.seconds.appendTime(dst, f.Time)
		return append(dst, '"')
	case KindRaw:
		if len(f.Str) == 0 {
			return append(dst, "null"...)
		}
		return append(dst, f.Str...)
	}
	return append(dst, "null"...)
}

// AppendTime appends t in UTC as RFC 3339 with the fraction kept (trailing
// zeros trimmed), e.g. 2026-03-14T09:15:02.481Z.
func AppendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, time.RFC3339Nano)
	}
	hour, minute, second := t.Clock()
	// Written digit by digit: two of these per event made time's general
	// formatter a visible cost.
	dst = append(dst, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+second/10), byte('0'+second%10))
	return appendFraction(dst, t.Nanosecond())
}

// appendFraction appends ".fff…Z", the nanoseconds ns with trailing zeros
// trimmed, or only "Z" when ns is 0.
func appendFraction(dst []byte, ns int) []byte {
	if ns != 0 {
		digits := 9
		for ns%10 == 0 {
			ns /= 10
			digits--
		}
		var frac [9]byte
		for i := digits - 1; i >= 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		dst = append(dst, '.')
		dst = append(dst, frac[:digits]...)
	}
	return append(dst, 'Z')
}

// secondsText remembers the text of the last two whole seconds the encoder
// wrote ("2026-03-14T09:15:02"): a busy sender's events come many per
// second, and splitting a time into date and clock was most of AppendTime's
// cost. Two, because an event's own time and its receive time may lie in
// neighbouring seconds.
type secondsText struct {
	unix [2]int64
	text [2][19]byte
	used [2]bool
	next int // the entry to replace
}

// Seconds since 1970 of 0000-01-01 and 10000-01-01: AppendTime writes the
// years between with four digits, the form that is remembered.
const (
	minUnix = -62167219200
	maxUnix = 253402300800
)

// appendTime appends t as AppendTime does.
func (c *secondsText) appendTime(dst []byte, t time.Time) []byte {
	u := t.Unix()
	for k := range c.unix {
		if c.used[k] && c.unix[k] == u {
			dst = append(dst, c.text[k][:]...)
			return appendFraction(dst, t.Nanosecond())
		}
	}
	n := len(dst)
	dst = AppendTime(dst, t)
	if u >= minUnix && u < maxUnix {
		k := c.next
		c.unix[k], c.used[k], c.next = u, true, 1-k
		copy(c.text[k][:], dst[n:])
	}
	return dst
}

const (
	hexDigits = "0123456789abcdef"
	lsb       = 0x0101010101010101
	msb       = 0x8080808080808080
)

// plainWord reports whether none of the 8 bytes at s[i:] needs attention: no
// control byte, quote, backslash or non-ASCII byte.
func plainWord(s string, i int) bool { return special(word(s, i))&msb == 0 }

// word loads the 8 bytes at s[i:]; the caller ensures i+8 <= len(s).
func word(s string, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}

// special returns a word whose high bits (msb) are not all clear when a byte
// of w needs attention. It uses the "has a byte less than n" bit trick: a
// subtraction sets a byte's high bit when that byte is below n (its borrow
// may set bits above it too, which only matters when one is found anyway),
// and when the byte is 0x80 or more, which w's own high bit flags already.
func special(w uint64) uint64 {
	q := w ^ ('"' * lsb)
	b := w ^ ('\\' * lsb)
	return w | (w - 0x20*lsb) | (q - lsb) | (b - lsb)
}

// plainASCII marks the bytes a JSON string can carry unescaped and unexamined.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s as a JSON string. Bytes that are not valid UTF-8 are
// read as Latin-1 (each byte becomes the code point of the same value), so
// text from legacy 8-bit senders survives readable instead of becoming U+FFFD.
func AppendString(dst []byte, s string) []byte {
	// Most values need no escaping: find that out with tight loops, then
	// copy the string whole.
	i := plainPrefix(s)
	dst = append(dst, '"')
	if i == len(s) {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	return appendEscaped(dst, s, i)
}

// plainPrefix returns the length of the longest start of s that needs no escaping.
func plainPrefix(s string) int {
	i := 0
	if len(s) >= 8 {
		for i+16 <= len(s) && (special(word(s, i))|special(word(s, i+8)))&msb == 0 {
			i += 16
		}
		for i+8 <= len(s) && plainWord(s, i) {
			i += 8
		}
		if i+8 > len(s) && plainWord(s, len(s)-8) { // the last, overlapping word
			return len(s)
		}
	}
	for i < len(s) && plainASCII[s[i]] {
		i++
	}
	return i
}

// appendEscaped appends s, whose bytes before i need no escaping, escaped,
// and the closing quote.
func appendEscaped(dst []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		if i+8 <= len(s) && plainWord(s, i) {
			i += 8
			continue
		}
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = utf8.AppendRune(dst, rune(c))
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
