package syslogparse

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// The fast path reads the header shapes that almost every sender produces,
// byte by byte, with no allocation. It accepts a strict subset of what the
// go-syslog machines accept, must return what they return, and exactly what
// the lenient reader returns for it (FuzzLenientAgrees); anything it is unsure of it declines,
// and the lenient reader decides.
//
//	RFC 5424: <PRI>1 SP (TIMESTAMP|-) SP HOST SP APP SP PROCID SP MSGID SP (-|SD-ELEMENT+) [SP MSG]
//	RFC 3164: <PRI>Mmm SP dd SP hh:mm:ss SP HOST SP TAG[ "[" PID "]" ] ":" SP MSG

// fast parses raw when it has one of the common shapes; ok is false otherwise.
func (p *Parser) fast(raw []byte, received time.Time, loc *time.Location) (Header, bool) {
	pri, i, ok := scanPRI(raw)
	if !ok || i+2 > len(raw) {
		return Header{}, false
	}
	if raw[i] == '1' && raw[i+1] == ' ' {
		return p.fast5424(raw, pri, i+2)
	}
	return fast3164(raw, pri, i, received, loc)
}

// scanPRI reads "<PRI>" at the start of raw with go-syslog's rules: 0..191,
// no leading zero. i is the index after '>'.
func scanPRI(raw []byte) (pri uint8, i int, ok bool) {
	if len(raw) < 3 || raw[0] != '<' {
		return 0, 0, false
	}
	v := 0
	i = 1
	for ; i < len(raw) && i <= 4 && isDigit(raw[i]); i++ {
		v = v*10 + int(raw[i]-'0')
	}
	n := i - 1
	if n == 0 || n > 3 || i >= len(raw) || raw[i] != '>' || v > 191 || (n > 1 && raw[1] == '0') {
		return 0, 0, false
	}
	return uint8(v), i + 1, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isGraph is US-ASCII VCHAR (0x21..0x7e), the RFC 5424 header alphabet.
func isGraph(c byte) bool { return c >= 0x21 && c <= 0x7e }

// token scans 1..max graph bytes from i up to a space. It returns the index
// of that space. It looks at 8 bytes at a time while it can: the four
// header fields are most of the bytes the fast path reads.
func token(raw []byte, i, limit int) (end int, ok bool) {
	j := i
	for j+8 <= len(raw) {
		if m := notGraph(binary.LittleEndian.Uint64(raw[j:])); m != 0 {
			j += bits.TrailingZeros64(m) / 8
			if raw[j] != ' ' {
				return 0, false
			}
			break
		}
		j += 8
	}
	for j < len(raw) && raw[j] != ' ' {
		if !isGraph(raw[j]) {
			return 0, false
		}
		j++
	}
	if j == i || j-i > limit || j >= len(raw) {
		return 0, false
	}
	return j, true
}

// notGraph returns a word whose lowest set bit is the high bit of the
// first byte of w (little-endian) that is not in 0x21..0x7e, or 0. The
// subtraction flags bytes below 0x21, the addition 0x7f, w itself 0x80 and
// above; a borrow or carry may flag bytes above a flagged one too, which
// does not move the lowest.
func notGraph(w uint64) uint64 {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	return ((w - 0x21*lsb) | w | (w + lsb)) & msb
}

// nilOr returns "" for the RFC 5424 NILVALUE "-".
func nilOr(b []byte) string {
	if len(b) == 1 && b[0] == '-' {
		return ""
	}
	return str(b)
}

// fast5424 reads the header after "<PRI>1 ", starting at i.
func (p *Parser) fast5424(raw []byte, pri uint8, i int) (Header, bool) {
	h := Header{Format: RFC5424, HasPriority: true, Priority: pri, Version: 1}
	if i < len(raw) && raw[i] == '-' {
		i++
	} else {
		t, end, ok := p.rfc3339(raw, i)
		if !ok {
			return Header{}, false
		}
		h.Time, h.HasTime, h.TimeZoned = t, true, true
		i = end
	}
	if i >= len(raw) || raw[i] != ' ' {
		return Header{}, false
	}
	i++
	var fields [4]string
	for k, limit := range [4]int{255, 48, 128, 32} {
		end, ok := token(raw, i, limit)
		if !ok {
			return Header{}, false
		}
		fields[k] = nilOr(raw[i:end])
		i = end + 1
	}
	h.Hostname, h.AppName, h.ProcID, h.MsgID = fields[0], fields[1], fields[2], fields[3]
	switch {
	case i >= len(raw):
		return Header{}, false
	case raw[i] == '-':
		i++
	case raw[i] == '[':
		end, sd, ok := p.sd.structuredData(raw, i)
		if !ok {
			return Header{}, false
		}
		h.StructuredData, i = sd, end
	default:
		return Header{}, false
	}
	switch {
	case i == len(raw):
	case raw[i] == ' ':
		h.Msg = msgAt(raw, i+1)
	default:
		return Header{}, false
	}
	return h, true
}

// num reads exactly n digits at i.
func num(raw []byte, i, n int) (int, bool) {
	if i+n > len(raw) {
		return 0, false
	}
	v := 0
	for _, c := range raw[i : i+n] {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// clock reads "hh:mm:ss" at i with hh 00..23 and mm, ss 00..59.
func clock(raw []byte, i int) (h, m, s int, ok bool) {
	var okh, okm, oks bool
	h, okh = num(raw, i, 2)
	m, okm = num(raw, i+3, 2)
	s, oks = num(raw, i+6, 2)
	if !okh || !okm || !oks || raw[i+2] != ':' || raw[i+5] != ':' || h > 23 || m > 59 || s > 59 {
		return 0, 0, 0, false
	}
	return h, m, s, true
}

// daysIn is the number of days of month in year (proleptic Gregorian).
func daysIn(month time.Month, year int) int {
	switch month {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// rfc3339 reads the RFC 5424 TIMESTAMP at i: "yyyy-mm-ddThh:mm:ss[.f{1,6}](Z|±hh:mm)".
// end is the index after it.
func (p *Parser) rfc3339(raw []byte, i int) (t time.Time, end int, ok bool) {
	t, end, _, ok = p.isoTime(raw, i, nil, false)
	return t, end, ok
}

// isoTime reads an RFC 3339 time at i. Strict, it is exactly the RFC 5424
// TIMESTAMP (what rfc3339 accepts). Lenient, it also takes what senders
// write instead: a space for the 'T', any number of fraction digits (those
// past nanoseconds are ignored) or a bare dot, "±hhmm", and no zone at all,
// which is then loc's (zoned false). end is the index after the time.
func (p *Parser) isoTime(raw []byte, i int, loc *time.Location, lenient bool) (t time.Time, end int, zoned, ok bool) {
	if i+19 > len(raw) || (!lenient && i+20 > len(raw)) {
		return time.Time{}, 0, false, false
	}
	year, ok1 := num(raw, i, 4)
	mon, ok2 := num(raw, i+5, 2)
	day, ok3 := num(raw, i+8, 2)
	sep := raw[i+10] == 'T' || (lenient && raw[i+10] == ' ')
	if !ok1 || !ok2 || !ok3 || raw[i+4] != '-' || raw[i+7] != '-' || !sep ||
		mon < 1 || mon > 12 || day < 1 || day > daysIn(time.Month(mon), year) {
		return time.Time{}, 0, false, false
	}
	hh, mm, ss, ok4 := clock(raw, i+11)
	if !ok4 {
		return time.Time{}, 0, false, false
	}
	j := i + 19
	nsec := 0
	if j < len(raw) && raw[j] == '.' {
		j++
		k := j
		maxDigits := 6
		if lenient {
			maxDigits = 9
		}
		for j < len(raw) && isDigit(raw[j]) && j-k < maxDigits {
			nsec = nsec*10 + int(raw[j]-'0')
			j++
		}
		if j == k && !lenient {
			return time.Time{}, 0, false, false
		}
		for n := j - k; n < 9; n++ {
			nsec *= 10
		}
		for lenient && j < len(raw) && isDigit(raw[j]) {
			j++
		}
	}
	if j >= len(raw) {
		if !lenient || year == 0 {
			return time.Time{}, 0, false, false
		}
		return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc), j, false, true
	}
	off := 0
	switch raw[j] {
	case 'Z':
		j++
	case '+', '-':
		oh, okh := num(raw, j+1, 2)
		colon := j+3 < len(raw) && raw[j+3] == ':'
		mAt := j + 4
		if !colon && lenient {
			mAt = j + 3
		}
		om, okm := num(raw, mAt, 2)
		if !okh || !okm || (!colon && !lenient) || oh > 23 || om > 59 {
			return time.Time{}, 0, false, false
		}
		off = oh*3600 + om*60
		if raw[j] == '-' {
			off = -off
		}
		j = mAt + 2
	default:
		if !lenient || year == 0 { // year 0 only with a zone, as RFC 3339 writes it
			return time.Time{}, 0, false, false
		}
		return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc), j, false, true
	}
	return p.at(year, mon, day, hh*3600+mm*60+ss-off, nsec, p.zone(off)), j, true, true
}

// lastDay remembers the last date rfc3339 turned into seconds since 1970: a
// sender's timestamps share it all day, and time.Date's calendar arithmetic
// showed in profiles.
type lastDay struct{ year, month, day, unix int64 }

// at returns the time secs seconds (UTC offset applied) after the start of
// the UTC day year-month-day, in loc: what time.Date returns for a fixed zone.
func (p *Parser) at(year, month, day, secs, nsec int, loc *time.Location) time.Time {
	d := &p.day
	if d.year != int64(year) || d.month != int64(month) || d.day != int64(day) { // the zero value is no date
		*d = lastDay{int64(year), int64(month), int64(day), time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Unix()}
	}
	return time.Unix(d.unix+int64(secs), int64(nsec)).In(loc)
}

// month reads an English three-letter month name at i, as RFC 3164 writes it.
func month(raw []byte, i int) (time.Month, bool) {
	if i+3 > len(raw) {
		return 0, false
	}
	// Pack the three bytes into one integer so the switch compares once.
	k := uint32(raw[i])<<16 | uint32(raw[i+1])<<8 | uint32(raw[i+2])
	switch k {
	case 'J'<<16 | 'a'<<8 | 'n':
		return time.January, true
	case 'F'<<16 | 'e'<<8 | 'b':
		return time.February, true
	case 'M'<<16 | 'a'<<8 | 'r':
		return time.March, true
	case 'A'<<16 | 'p'<<8 | 'r':
		return time.April, true
	case 'M'<<16 | 'a'<<8 | 'y':
		return time.May, true
	case 'J'<<16 | 'u'<<8 | 'n':
		return time.June, true
	case 'J'<<16 | 'u'<<8 | 'l':
		return time.July, true
	case 'A'<<16 | 'u'<<8 | 'g':
		return time.August, true
	case 'S'<<16 | 'e'<<8 | 'p':
		return time.September, true
	case 'O'<<16 | 'c'<<8 | 't':
		return time.October, true
	case 'N'<<16 | 'o'<<8 | 'v':
		return time.November, true
	case 'D'<<16 | 'e'<<8 | 'c':
		return time.December, true
	}
	return 0, false
}

// mday reads the two-byte RFC 3164 day at i: " 4", "04" or "14" (1..31).
func mday(raw []byte, i int) (int, bool) {
	if i+2 > len(raw) {
		return 0, false
	}
	a, b := raw[i], raw[i+1]
	if !isDigit(b) || (a != ' ' && !isDigit(a)) {
		return 0, false
	}
	d := int(b - '0')
	if a != ' ' {
		d += 10 * int(a-'0')
	} else if d == 0 {
		return 0, false
	}
	if d < 1 || d > 31 {
		return 0, false
	}
	return d, true
}

// stamp reads the RFC 3164 TIMESTAMP "Mmm dd hh:mm:ss" at i (no fraction).
func stamp(raw []byte, i int) (mon time.Month, day, hh, mm, ss int, ok bool) {
	if i+15 > len(raw) || raw[i+3] != ' ' || raw[i+6] != ' ' {
		return 0, 0, 0, 0, 0, false
	}
	mon, ok1 := month(raw, i)
	day, ok2 := mday(raw, i+4)
	hh, mm, ss, ok3 := clock(raw, i+7)
	// time.Parse in go-syslog checks the day against the month in year 0, a leap year.
	if !ok1 || !ok2 || !ok3 || day > daysIn(mon, 0) {
		return 0, 0, 0, 0, 0, false
	}
	return mon, day, hh, mm, ss, true
}

// fast3164 reads "Mmm dd hh:mm:ss host tag[pid]: msg" after the PRI, at i.
func fast3164(raw []byte, pri uint8, i int, received time.Time, loc *time.Location) (Header, bool) {
	mon, day, hh, mm, ss, ok := stamp(raw, i)
	if !ok {
		return Header{}, false
	}
	i += 15
	if i >= len(raw) || raw[i] != ' ' {
		return Header{}, false
	}
	i++
	// HOSTNAME: graph bytes without ':', then one space. A '[' is declined:
	// go-syslog then reads part of the hostname as a tag and its [pid].
	hs := i
	for i < len(raw) && raw[i] != ' ' {
		if !isGraph(raw[i]) || raw[i] == ':' || raw[i] == '[' {
			return Header{}, false
		}
		i++
	}
	// Four digits are declined: the lenient reader takes them for a year
	// after the time ("Apr 15 21:28:13 2007 host app: msg").
	if i == hs || i-hs > 255 || i >= len(raw) || (i-hs == 4 && isDigit(raw[hs]) && skipDigits(raw, hs) == i) {
		return Header{}, false
	}
	he := i
	i++
	// TAG: printable bytes except ' ', ':' and '['; at most 48.
	ts := i
	for i < len(raw) && raw[i] != ':' && raw[i] != '[' {
		if !isGraph(raw[i]) {
			return Header{}, false
		}
		i++
	}
	// A "-" tag is declined: go-syslog drops it, where the lenient reader
	// keeps it. So is one that starts with '{': the lenient reader takes
	// that for a JSON object, all of it MSG.
	if i == ts || i-ts > 48 || i >= len(raw) || (i-ts == 1 && raw[ts] == '-') || raw[ts] == '{' {
		return Header{}, false
	}
	te := i
	var pid []byte
	if raw[i] == '[' {
		i++
		ps := i
		for i < len(raw) && raw[i] != ']' {
			if !isGraph(raw[i]) || raw[i] == '[' {
				return Header{}, false
			}
			i++
		}
		if i >= len(raw) {
			return Header{}, false
		}
		pid = raw[ps:i]
		i++
	}
	if i+1 >= len(raw) || raw[i] != ':' || raw[i+1] != ' ' {
		return Header{}, false
	}
	t, ok := stampTime(mon, day, hh, mm, ss, 0, received, loc)
	if !ok {
		return Header{}, false // Feb 29 in a common year: the lenient reader says so
	}
	h := Header{
		Format:      RFC3164,
		HasPriority: true,
		Priority:    pri,
		Time:        t,
		HasTime:     true,
		Hostname:    nilOr(raw[hs:he]),
		AppName:     str(raw[ts:te]),
		ProcID:      nilOr(pid),
		Msg:         msgAt(raw, i+2),
	}
	return h, true
}
