package syslogparse

import (
	"net/netip"
	"time"
)

// The lenient reader takes every message the fast path declines. It reads
// whatever header parts are there, in the order RFC 5424 and RFC 3164 put
// them, and keeps each part it finds even when a neighbour is malformed. It
// follows syslog-ng where rsyslog and syslog-ng disagree (README, "Syslog
// parsing"). On everything the fast path accepts it returns exactly what
// the fast path returns (FuzzLenientAgrees).

// defaultPriority is user.notice, what rsyslog and syslog-ng assume when a
// message has no PRI.
const defaultPriority = 13

// RFC 5424 field limits (§6); longer fields are kept and noted.
const (
	maxHostname = 255
	maxAppName  = 48
	maxProcID   = 128
	maxMsgID    = 32
)

// lenient parses raw when the fast path declined it.
func (p *Parser) lenient(raw []byte, received time.Time, loc *time.Location) Header {
	var h Header
	i := 0
	if pri, j, ok := scanPRI(raw); ok {
		h.HasPriority, h.Priority, i = true, pri, j
	} else {
		h.HasPriority, h.Priority, h.Notes = true, defaultPriority, NotePriorityMissing
		i = skipBadPRI(raw)
	}
	if v, j, ok := version(raw, i, h.Notes&NotePriorityMissing == 0); ok {
		return p.lenient5424(raw, h, v, j, loc)
	}
	return p.lenient3164(raw, h, i, received, loc)
}

// skipBadPRI returns the index after a PRI-shaped "<digits>" whose value is
// out of range ("<192>", "<013>"), so that the header after it is still read,
// or 0.
func skipBadPRI(raw []byte) int {
	if len(raw) < 3 || raw[0] != '<' {
		return 0
	}
	if k := skipDigits(raw, 1); k > 1 && k-1 <= 5 && k < len(raw) && raw[k] == '>' {
		return k + 1
	}
	return 0
}

// version reads an RFC 5424 VERSION and its space at i. "<PRI>1 " is RFC
// 5424 whatever follows (a malformed TIMESTAMP is then dropped); otherwise,
// so that RFC 3164 text is not taken for RFC 5424, a TIMESTAMP or "-" must
// follow, and without a PRI only VERSION 1 counts.
func version(raw []byte, i int, hasPRI bool) (v uint16, end int, ok bool) {
	j := i
	for j < len(raw) && j-i < 3 && isDigit(raw[j]) {
		v = v*10 + uint16(raw[j]-'0')
		j++
	}
	if j == i || raw[i] == '0' || j+1 >= len(raw) || raw[j] != ' ' || (!hasPRI && v != 1) {
		return 0, 0, false
	}
	if hasPRI && v == 1 {
		return v, j + 1, true
	}
	next := raw[j+1]
	if next == '-' && (j+2 == len(raw) || raw[j+2] == ' ') {
		return v, j + 1, true
	}
	if _, ok := num(raw, j+1, 4); ok && j+5 < len(raw) && raw[j+5] == '-' {
		return v, j + 1, true
	}
	return 0, 0, false
}

// field returns the bytes from i to the next space (or the end) and the
// index of that space.
func field(raw []byte, i int) ([]byte, int) {
	j := i
	for j < len(raw) && raw[j] != ' ' {
		j++
	}
	return raw[i:j], j
}

// lenient5424 reads TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA
// MSG from i, one space-separated field after the other. A malformed
// TIMESTAMP is dropped and noted; an over-long field is kept and noted;
// invalid SD elements are dropped and noted, and their neighbours kept.
func (p *Parser) lenient5424(raw []byte, h Header, v uint16, i int, loc *time.Location) Header {
	h.Format, h.Version = RFC5424, v
	ts, i := field(raw, i)
	if len(ts) != 1 || ts[0] != '-' {
		if t, end, zoned, ok := p.isoTime(ts, 0, loc, true); ok && end == len(ts) {
			h.Time, h.HasTime, h.TimeZoned = t, true, zoned
		} else {
			h.Notes |= NoteInvalidTime
		}
	}
	fields := [4]*string{&h.Hostname, &h.AppName, &h.ProcID, &h.MsgID}
	for k, limit := range [4]int{maxHostname, maxAppName, maxProcID, maxMsgID} {
		if i >= len(raw) {
			return h
		}
		var f []byte
		f, i = field(raw, i+1)
		if len(f) > limit {
			h.Notes |= NoteFieldTooLong
		}
		*fields[k] = nilOr(f)
	}
	if i >= len(raw) {
		return h
	}
	i++
	switch {
	case i < len(raw) && raw[i] == '-' && (i+1 == len(raw) || raw[i+1] == ' '):
		i++
	case i < len(raw) && raw[i] == '[':
		var notes Notes
		i, h.StructuredData, notes = p.sd.lenientSD(raw, i)
		h.Notes |= notes
	default:
		h.Notes |= NoteInvalidSD // no STRUCTURED-DATA: MSG starts here
		h.Msg = msgAt(raw, i)
		return h
	}
	if i < len(raw) && raw[i] == ' ' {
		i++
	}
	h.Msg = msgAt(raw, i)
	return h
}

// lenient3164 reads the RFC 3164 header from i (after the PRI, if any):
// an optional Cisco sequence number, a timestamp, a hostname and a tag, each
// of them optional. Without a PRI, a timestamp or a tag there is no header
// at all, and the message is Unknown.
func (p *Parser) lenient3164(raw []byte, h Header, i int, received time.Time, loc *time.Location) Header {
	h.Format = RFC3164
	i = skipSpaces(raw, i)
	t, end, zoned, hasTime, valid := p.timestamp3164(raw, i, received, loc)
	var origin []byte
	if !hasTime {
		if host, ts, ok := ciscoOrigin(raw, i); ok {
			if t, end, zoned, hasTime, valid = p.timestamp3164(raw, ts, received, loc); hasTime {
				origin = host
			}
		}
	}
	if hasTime {
		i = end
		if valid {
			h.Time, h.HasTime, h.TimeZoned = t, true, zoned
		} else {
			h.Notes |= NoteInvalidTime
		}
		i = skipSpaces(raw, i)
		// A hostname only follows a timestamp, and is followed by a space.
		if origin != nil {
			h.Hostname = str(origin)
		} else if w, end := field(raw, i); end < len(raw) && isHostname(w) {
			h.Hostname = nilOr(w)
			i = skipSpaces(raw, end)
		}
	}
	tagEnd, pidEnd, msg := tag3164(raw, i)
	if tagEnd > i {
		h.AppName = str(raw[i:tagEnd])
		if pidEnd > tagEnd {
			h.ProcID = str(raw[tagEnd+1 : pidEnd-1])
		}
	} else if !hasTime && h.Notes&NotePriorityMissing != 0 {
		return Header{Format: Unknown, Msg: str(raw)}
	}
	h.Msg = msgAt(raw, msg)
	return h
}

func skipSpaces(raw []byte, i int) int {
	for i < len(raw) && raw[i] == ' ' {
		i++
	}
	return i
}

// isHostname reports whether a word after the timestamp is a hostname: it
// has no ':' and no '[' (which mark a tag) and no control bytes, or it is an
// IP address (IPv6 has colons). UTF-8 names are kept. A "-" stands for no
// hostname.
func isHostname(w []byte) bool {
	if len(w) == 0 {
		return false
	}
	for _, c := range w {
		if c == ':' || c == '[' || c < '!' || c == 0x7f {
			_, err := netip.ParseAddr(str(w))
			return err == nil
		}
	}
	return true
}

// tag3164 reads "TAG[PID]:" at i and returns where the tag ends, where
// "[PID]" ends (tagEnd when there is none), and where MSG starts. The tag is
// the word up to ' ', ':' or '[', with or without the colon (both peers take
// the first word as the tag). One space after the tag belongs to it.
func tag3164(raw []byte, i int) (tagEnd, pidEnd, msg int) {
	j := i
	for j < len(raw) && raw[j] > ' ' && raw[j] != ':' && raw[j] != '[' && raw[j] != 0x7f {
		j++
	}
	tagEnd, pidEnd = j, j
	if j == i || raw[i] == '{' {
		return i, i, i // no tag (or a JSON object): MSG is all that follows
	}
	if j < len(raw) && raw[j] == '[' {
		k := j + 1
		for k < len(raw) && raw[k] != ']' && raw[k] != ' ' {
			k++
		}
		if k >= len(raw) || raw[k] != ']' {
			return tagEnd, pidEnd, j // an unclosed '[' starts the MSG
		}
		pidEnd = k + 1
		j = pidEnd
	}
	if j < len(raw) && raw[j] == ':' {
		j++
	}
	if j < len(raw) && raw[j] == ' ' {
		j++
	}
	return tagEnd, pidEnd, j
}

// timestamp3164 reads the timestamp at i, in any of the shapes senders use:
//
//	[seq: ][*|.]Mmm d[d] [yyyy ]hh:mm:ss[.f*][ yyyy][:]   (month in any case)
//	[seq: ][*|.]yyyy-mm-dd(T| )hh:mm:ss[.f*][zone][:]
//
// found reports a timestamp shape and end the index after it; valid is
// false when the shape holds no real date (Feb 30, or Feb 29 in a year
// without one), which is then dropped rather than moved to another day.
func (p *Parser) timestamp3164(raw []byte, i int, received time.Time, loc *time.Location) (t time.Time, end int, zoned, found, valid bool) {
	j := i
	// Cisco IOS: "<189>91: *Oct 07 03:10:04:", "<189>105: 000104: Mar 12
	// 07:12:10:", "<189>: 000088: *Jan  1 …" (message counter and sequence
	// number, either may be empty, and '*' or '.' for an unsynchronised or
	// synchronised clock).
	for range 2 {
		if k := skipDigits(raw, j); k+1 < len(raw) && raw[k] == ':' && raw[k+1] == ' ' {
			j = skipSpaces(raw, k+1)
		}
	}
	if j < len(raw) && (raw[j] == '*' || raw[j] == '.') {
		j++
	}
	if t, end, zoned, ok := p.isoTime(raw, j, loc, true); ok {
		return t, colonAfter(raw, end), zoned, true, true
	}
	mon, ok := monthFold(raw, j)
	if !ok || j+3 >= len(raw) || raw[j+3] != ' ' {
		return time.Time{}, 0, false, false, false
	}
	j = skipSpaces(raw, j+3)
	k := skipDigits(raw, j)
	if k == j || k-j > 2 || k >= len(raw) || raw[k] != ' ' {
		return time.Time{}, 0, false, false, false
	}
	day, _ := num(raw, j, k-j)
	j = skipSpaces(raw, k)
	year := 0
	if y, ok := num(raw, j, 4); ok && y > 0 && j+4 < len(raw) && raw[j+4] == ' ' {
		year, j = y, skipSpaces(raw, j+4)
	}
	if j+8 > len(raw) {
		return time.Time{}, 0, false, false, false
	}
	hh, mm, ss, ok := clock(raw, j)
	if !ok {
		return time.Time{}, 0, false, false, false
	}
	j += 8
	nsec := 0
	if j < len(raw) && raw[j] == '.' {
		j++
		k := skipDigits(raw, j)
		for n := range 9 {
			nsec *= 10
			if j+n < k {
				nsec += int(raw[j+n] - '0')
			}
		}
		j = k
	}
	// "Apr 15 21:28:13 2007 host" (a year after the time).
	if y, ok := num(raw, j+1, 4); ok && y > 0 && year == 0 && raw[j] == ' ' && (j+5 == len(raw) || raw[j+5] == ' ') {
		year, j = y, j+5
	}
	end = colonAfter(raw, j)
	if day < 1 || day > 31 {
		return time.Time{}, end, false, true, false
	}
	if year > 0 {
		if day > daysIn(mon, year) {
			return time.Time{}, end, false, true, false
		}
		return time.Date(year, mon, day, hh, mm, ss, nsec, loc), end, false, true, true
	}
	t, valid = stampTime(mon, day, hh, mm, ss, nsec, received, loc)
	return t, end, false, true, valid
}

// ciscoOrigin reads the hostname Cisco IOS puts before its timestamp with
// "logging origin-id hostname" ("<189>269614: myhostname: Apr 11 10:02:08: …"):
// an optional message counter, then "host: ". ts is where the timestamp
// should start; the caller checks that one does.
func ciscoOrigin(raw []byte, i int) (host []byte, ts int, ok bool) {
	if k := skipDigits(raw, i); k > i && k+1 < len(raw) && raw[k] == ':' && raw[k+1] == ' ' {
		i = k + 2
	}
	k := i
	for k < len(raw) && raw[k] > ' ' && raw[k] != ':' && raw[k] != '[' && raw[k] != 0x7f {
		k++
	}
	if k == i || k+1 >= len(raw) || raw[k] != ':' || raw[k+1] != ' ' {
		return nil, 0, false
	}
	return raw[i:k], k + 2, true
}

// colonAfter skips the colon some senders put right after the time.
func colonAfter(raw []byte, i int) int {
	if i < len(raw) && raw[i] == ':' {
		return i + 1
	}
	return i
}

func skipDigits(raw []byte, i int) int {
	for i < len(raw) && isDigit(raw[i]) {
		i++
	}
	return i
}

// monthFold reads a three-letter English month name in any case ("Aug",
// "AUG", "aug") at i.
func monthFold(raw []byte, i int) (time.Month, bool) {
	if i+3 > len(raw) {
		return 0, false
	}
	var b [3]byte
	for k := range b {
		c := raw[i+k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if k == 0 && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		b[k] = c
	}
	return month(b[:], 0)
}
