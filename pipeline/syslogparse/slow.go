package syslogparse

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
)

// slow parses raw with the go-syslog machines in best-effort mode, plus the
// pre and post steps that real senders need. go-syslog decides which header
// fields are present and what they hold; the post steps resolve the RFC 3164
// year and zone and find where MSG starts in raw (go-syslog loses the MSG of
// an RFC 3164 message when it is empty or holds control bytes, and reports a
// header word instead).
func (p *Parser) slow(raw []byte, received time.Time, loc *time.Location) Header {
	if h, ok := p.slow5424(raw); ok {
		return h
	}
	if h, ok := p.slow3164(raw, received, loc); ok {
		return h
	}
	// A valid PRI followed by no timestamp at all ("<13>some text"): RFC 3164
	// §4.3.3 treats everything after the PRI as the message, so keep the
	// priority and call it RFC 3164 rather than a parse failure.
	if pri, i, ok := scanPRI(raw); ok {
		return Header{Format: RFC3164, HasPriority: true, Priority: pri, Msg: msgAt(raw, i)}
	}
	return Header{Format: Unknown, Msg: str(raw)}
}

// looks5424 reports whether raw starts with "<PRI>" and a VERSION (1..999)
// followed by a space, the only thing that tells RFC 5424 from RFC 3164.
func looks5424(raw []byte) (versionAt int, ok bool) {
	_, i, ok := scanPRI(raw)
	if !ok || i >= len(raw) || raw[i] < '1' || raw[i] > '9' {
		return 0, false
	}
	j := i + 1
	for j < len(raw) && j-i < 3 && isDigit(raw[j]) {
		j++
	}
	return i, j < len(raw) && raw[j] == ' '
}

// slow5424 runs the RFC 5424 machine. ok is false when raw is not RFC 5424
// or the machine could not read even PRI and VERSION.
func (p *Parser) slow5424(raw []byte) (Header, bool) {
	vat, ok := looks5424(raw)
	if !ok {
		return Header{}, false
	}
	res, err := p.m5424.Parse(raw)
	m, _ := res.(*rfc5424.SyslogMessage)
	if m == nil || m.Priority == nil {
		return Header{}, false
	}
	h := Header{
		Format:      RFC5424,
		HasPriority: true,
		Priority:    *m.Priority,
		Version:     m.Version,
		Hostname:    deref(m.Hostname),
		AppName:     deref(m.Appname),
		ProcID:      deref(m.ProcID),
		MsgID:       deref(m.MsgID),
	}
	if m.Timestamp != nil {
		h.Time, h.HasTime, h.TimeZoned = *m.Timestamp, true, true
		if _, off := h.Time.Zone(); off == 0 {
			h.Time = h.Time.UTC() // "Z" and "+00:00" alike, as on the fast path
		}
	}
	if m.StructuredData != nil && len(*m.StructuredData) > 0 {
		// json.Marshal sorts map keys, so the same SD always encodes the same,
		// and it replaces invalid UTF-8, so the result is always valid JSON.
		if b, jerr := json.Marshal(*m.StructuredData); jerr == nil {
			h.StructuredData = b
		}
	}
	switch {
	case m.Message != nil && bytes.HasSuffix(raw, []byte(*m.Message)):
		// MSG runs to the end of raw; alias it instead of keeping go-syslog's copy.
		h.Msg = msgAt(raw, len(raw)-len(*m.Message))
	case m.Message != nil:
		h.Msg = trimBOM(*m.Message)
	case err != nil:
		// The machine stopped inside the header and kept no MSG: walk the
		// header ourselves so the message text is not lost.
		h.Msg = msgAt(raw, skip5424Header(raw, vat))
	}
	return h, true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func trimBOM(s string) string {
	if len(s) >= 3 && s[:3] == bom {
		return s[3:]
	}
	return s
}

// skip5424Header returns where MSG starts when the header is not well
// formed: after VERSION and the five space-separated header words and the
// structured data, or at the first part that does not fit that shape.
func skip5424Header(raw []byte, i int) int {
	for range 6 { // VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
		j := i
		for j < len(raw) && raw[j] != ' ' {
			j++
		}
		if j == i || j >= len(raw) {
			return i
		}
		i = j + 1
	}
	switch {
	case i < len(raw) && raw[i] == '-':
		i++
	case i < len(raw) && raw[i] == '[':
		i = skipSD(raw, i)
	default:
		return i
	}
	if i < len(raw) && raw[i] == ' ' {
		i++
	}
	return i
}

// skipSD skips SD-ELEMENTs "[id k="v" …]" at i; inside quotes a backslash
// escapes the next byte. It stops at the first byte that cannot continue them.
func skipSD(raw []byte, i int) int {
	for i < len(raw) && raw[i] == '[' {
		j, quoted := i+1, false
		for ; j < len(raw); j++ {
			c := raw[j]
			if quoted && c == '\\' {
				j++
				continue
			}
			if c == '"' {
				quoted = !quoted
			} else if c == ']' && !quoted {
				break
			}
		}
		if j >= len(raw) {
			return i
		}
		i = j + 1
	}
	return i
}

// slow3164 runs the RFC 3164 machine. ok is false when it finds no header.
func (p *Parser) slow3164(raw []byte, received time.Time, loc *time.Location) (Header, bool) {
	// Where the timestamp starts: after the PRI (if any) and any spaces, as
	// the machine allows.
	ts := 0
	if len(raw) > 0 && raw[0] == '<' {
		_, i, ok := scanPRI(raw)
		if !ok {
			return Header{}, false
		}
		ts = i
	}
	for ts < len(raw) && raw[ts] == ' ' {
		ts++
	}
	// Pre-step: "Mmm dd yyyy hh:mm:ss" is not RFC 3164 but common (Cisco,
	// Java loggers). Hand the machine the header without the year, and keep
	// the year.
	input, year, yearAt := raw, 0, -1
	if y, ok := yearStamp(raw, ts); ok {
		p.scratch = append(append(p.scratch[:0], raw[:ts+6]...), raw[ts+11:]...)
		input, year, yearAt = p.scratch, y, ts+6
	}
	res, _ := p.m3164.Parse(input)
	m, _ := res.(*rfc3164.SyslogMessage)
	if m == nil || m.Timestamp == nil {
		return Header{}, false
	}
	h := Header{Format: RFC3164, HasTime: true}
	if m.Priority != nil {
		h.HasPriority, h.Priority = true, *m.Priority
	}
	t := *m.Timestamp
	var tsEnd int
	switch {
	case isDigit(raw[ts]): // RFC 3339
		h.Time, h.TimeZoned = t, true
		if _, off := t.Zone(); off == 0 {
			h.Time = t.UTC()
		}
		tsEnd = rfc3339End(raw, ts)
	case yearAt >= 0:
		h.Time = time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
		tsEnd = stampEnd(p.scratch, ts) + len(" yyyy") // the scratch lacks the year
	default:
		h.Time = stampTime(t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), received, loc)
		tsEnd = stampEnd(raw, ts)
	}
	host, tag, pid := deref(m.Hostname), deref(m.Appname), deref(m.ProcID)
	pos, hostOK, tagOK := walk3164(raw, tsEnd, host, tag)
	if hostOK {
		h.Hostname = host
	}
	if tagOK {
		h.AppName, h.ProcID = tag, pid
	}
	h.Msg = msgAt(raw, pos)
	return h, true
}

// yearStamp recognises "Mmm dd yyyy hh:mm:ss" at i and returns the year.
func yearStamp(raw []byte, i int) (int, bool) {
	if i+20 > len(raw) || raw[i+3] != ' ' || raw[i+6] != ' ' || raw[i+11] != ' ' {
		return 0, false
	}
	if _, ok := month(raw, i); !ok {
		return 0, false
	}
	y, ok := num(raw, i+7, 4)
	if !ok || y < 1 {
		return 0, false
	}
	if _, _, _, ok := clock(raw, i+12); !ok {
		return 0, false
	}
	return y, true
}

// stampEnd returns the index after "Mmm dd hh:mm:ss[.ffffff]" at i.
func stampEnd(raw []byte, i int) int {
	i += 15
	if i < len(raw) && raw[i] == '.' {
		i++
		for i < len(raw) && isDigit(raw[i]) {
			i++
		}
	}
	return min(i, len(raw))
}

// rfc3339End returns the index after an RFC 3339 time at i (its zone is
// 'Z' or "±hh:mm").
func rfc3339End(raw []byte, i int) int {
	j := i + 19 // "yyyy-mm-ddThh:mm:ss"
	for j < len(raw) && (raw[j] == '.' || isDigit(raw[j])) {
		j++
	}
	switch {
	case j < len(raw) && raw[j] == 'Z':
		j++
	case j < len(raw) && (raw[j] == '+' || raw[j] == '-'):
		j += 6
	}
	return min(j, len(raw))
}

// walk3164 finds where MSG starts after the timestamp that ends at i, given
// the hostname and tag the machine reported. It skips the separating
// spaces, the hostname (or a "-" in its place), and "tag[pid]:" with one
// space after it. A field the machine reported but that is not where the
// header puts it is not trusted (hostOK or tagOK false).
func walk3164(raw []byte, i int, host, tag string) (pos int, hostOK, tagOK bool) {
	if i < len(raw) && raw[i] == ':' { // a trailing colon after the time, as Cisco writes
		i++
	}
	for i < len(raw) && raw[i] == ' ' {
		i++
	}
	word := func(w string) bool {
		return w != "" && bytes.HasPrefix(raw[i:], []byte(w)) && i+len(w) < len(raw) && raw[i+len(w)] == ' '
	}
	skipped := false
	switch {
	case word(host):
		i += len(host)
		hostOK, skipped = true, true
	case host == "" && word("-"): // the machine read "-" as a hostname and dropped it
		i++
		skipped = true
	}
	for skipped && i < len(raw) && raw[i] == ' ' {
		i++
	}
	if tag == "" || !bytes.HasPrefix(raw[i:], []byte(tag)) {
		return i, hostOK, false
	}
	j := i + len(tag)
	bracket := false
	if j < len(raw) && raw[j] == '[' {
		k := bytes.IndexByte(raw[j:], ']')
		if k < 0 {
			return i, hostOK, false
		}
		j += k + 1
		bracket = true
	}
	colon := j < len(raw) && raw[j] == ':'
	if colon {
		j++
	}
	if !colon && !bracket {
		return i, hostOK, false
	}
	if j < len(raw) && raw[j] == ' ' {
		j++
	}
	return j, hostOK, true
}
