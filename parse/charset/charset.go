// Package charset turns the bytes senders send into the UTF-8 text that ECS
// documents hold. Valid UTF-8 is kept as it is; other text is decoded from
// the character set configured for its source (a Windows code page, an ISO
// 8859 part, …); and bytes that neither explains become U+FFFD, which the
// caller reports with a tag.
//
// It is part of the domain (parse/): it imports golang.org/x/text and nothing
// of siemfwd; the engine carries only a charset's name
// (pipeline.Origin.Charset) and the processor decodes with it.
package charset

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// Charset is a character set that senders may write in instead of UTF-8.
// It is immutable and safe for concurrent use.
type Charset struct {
	enc  encoding.Encoding
	name string // what Name returns
}

// Lookup returns the character set called name: an IANA name or alias
// ("windows-1250", "ISO-8859-2", "latin2") or a WHATWG label ("cp1250"), in
// any case. "" and UTF-8's names return nil, which means UTF-8. Sets that
// do not keep ASCII bytes as ASCII (UTF-16, ISO-2022-JP) are refused:
// syslog headers and framing are ASCII.
func Lookup(name string) (*Charset, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		return nil, nil
	}
	enc := find(n)
	if enc == nil {
		return nil, fmt.Errorf(`unknown character set %q: use an IANA or WHATWG name such as "utf-8", "windows-1250", "windows-1252" or "iso-8859-2"`, name)
	}
	if enc == unicode.UTF8 {
		return nil, nil
	}
	ascii := make([]byte, utf8.RuneSelf)
	for i := range ascii {
		ascii[i] = byte(i)
	}
	if out, err := enc.NewDecoder().Bytes(ascii); err != nil || !bytes.Equal(out, ascii) {
		return nil, fmt.Errorf("character set %q does not keep ASCII as ASCII, which syslog needs", name)
	}
	cs := &Charset{enc: enc, name: n}
	if canonical, err := ianaindex.IANA.Name(enc); err == nil && canonical != "" {
		cs.name = canonical
	}
	return cs, nil
}

// Name returns the set's IANA name ("windows-1250"), or the name it was
// looked up by when IANA has none; Lookup takes it back (an edge sends it to
// its indexers).
func (c *Charset) Name() string { return c.name }

// find looks name up among IANA's names, then WHATWG's labels; nil when
// neither knows it.
func find(name string) encoding.Encoding {
	if enc, err := ianaindex.IANA.Encoding(name); err == nil && enc != nil {
		return enc
	}
	if enc, err := htmlindex.Get(name); err == nil {
		return enc
	}
	return nil
}

// Decode returns b, which is not valid UTF-8, as valid UTF-8 in a new slice:
// decoded from cs, or with cs nil (UTF-8) each byte that starts no valid
// sequence replaced by U+FFFD. replaced reports that some bytes were not
// text in the expected set and became U+FFFD. b is not modified.
func Decode(b []byte, cs *Charset) (text []byte, replaced bool) {
	if cs != nil {
		if out, err := cs.enc.NewDecoder().Bytes(b); err == nil {
			// Valid UTF-8 in b is decoded byte by byte as well, so a U+FFFD in
			// out can only stand for a byte the set does not define.
			return out, bytes.ContainsRune(out, utf8.RuneError)
		}
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			replaced = true
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out, replaced
}
