package ecs

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Encoder writes documents as nested JSON objects: the dotted key
// "log.syslog.hostname" becomes {"log":{"syslog":{"hostname":…}}}. Keys are
// written in a stable order (by path, segment by segment), so equal documents
// encode to equal bytes. An Encoder keeps scratch space between calls and is
// owned by one goroutine.
type Encoder struct {
	order []int
	open  []string // path segments of the objects currently open
}

// Append appends the JSON encoding of d to dst and returns the extended slice.
func (e *Encoder) Append(dst []byte, d *Document) []byte {
	fields := d.fields
	e.order = e.order[:0]
	for i := range fields {
		e.order = append(e.order, i)
	}
	slices.SortFunc(e.order, func(a, b int) int { return comparePaths(fields[a].Key, fields[b].Key) })

	e.open = e.open[:0]
	dst = append(dst, '{')
	comma := false
	for _, i := range e.order {
		f := &fields[i]
		parents, leaf := splitLeaf(f.Key)
		// Close the objects that this key's path leaves, then open the new ones.
		common := 0
		for common < len(e.open) {
			seg, rest, ok := strings.Cut(parents, ".")
			if !ok {
				seg, rest = parents, ""
			}
			if parents == "" || seg != e.open[common] {
				break
			}
			parents = rest
			common++
		}
		for len(e.open) > common {
			dst = append(dst, '}')
			e.open = e.open[:len(e.open)-1]
			comma = true
		}
		for parents != "" {
			seg, rest, ok := strings.Cut(parents, ".")
			if !ok {
				seg, rest = parents, ""
			}
			if comma {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, seg)
			dst = append(dst, ':', '{')
			e.open = append(e.open, seg)
			comma = false
			parents = rest
		}
		if comma {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, leaf)
		dst = append(dst, ':')
		dst = appendValue(dst, f)
		comma = true
	}
	for range e.open {
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// splitLeaf splits "a.b.c" into "a.b" and "c".
func splitLeaf(key string) (parents, leaf string) {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i], key[i+1:]
	}
	return "", key
}

// comparePaths orders dotted keys segment by segment, so that all keys of one
// object are adjacent ("a.b" < "a.b.c" < "a_x": the dot sorts lowest).
func comparePaths(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '.' {
			return -1
		}
		if cb == '.' {
			return 1
		}
		if ca < cb {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

func appendValue(dst []byte, f *Field) []byte {
	switch f.Kind {
	case KindString:
		return AppendString(dst, f.Str)
	case KindInt:
		return strconv.AppendInt(dst, f.Int, 10)
	case KindFloat:
		if math.IsNaN(f.Float) || math.IsInf(f.Float, 0) {
			return append(dst, "null"...)
		}
		return strconv.AppendFloat(dst, f.Float, 'f', -1, 64)
	case KindBool:
		return strconv.AppendBool(dst, f.Bool)
	case KindStrings:
		dst = append(dst, '[')
		for i, s := range f.Strs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, s)
		}
		return append(dst, ']')
	case KindTime:
		dst = append(dst, '"')
		dst = AppendTime(dst, f.Time)
		return append(dst, '"')
	case KindRaw:
		if len(f.Raw) == 0 {
			return append(dst, "null"...)
		}
		return append(dst, f.Raw...)
	}
	return append(dst, "null"...)
}

// AppendTime appends t in UTC as RFC 3339 with the fraction kept (trailing
// zeros trimmed), e.g. 2026-03-14T09:15:02.481Z.
func AppendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, time.RFC3339Nano)
}

const hexDigits = "0123456789abcdef"

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plainWord reports whether none of the 8 bytes of w needs attention: no
// control byte, quote, backslash or non-ASCII byte. It tests all eight at once
// (the classic "has zero byte" bit trick on transformed words).
func plainWord(w8 string) bool {
	w := uint64(w8[0]) | uint64(w8[1])<<8 | uint64(w8[2])<<16 | uint64(w8[3])<<24 |
		uint64(w8[4])<<32 | uint64(w8[5])<<40 | uint64(w8[6])<<48 | uint64(w8[7])<<56
	hasZero := func(x uint64) uint64 { return (x - lsb) & ^x & msb }
	special := w&msb | // non-ASCII
		(w-0x20*lsb)&^w&msb | // below 0x20
		hasZero(w^('"'*lsb)) |
		hasZero(w^('\\'*lsb))
	return special == 0
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
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plainWord(s[i:i+8]) {
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
