package syslogparse

import (
	"time"
	"unsafe"
)

// str returns b as a string without copying. The caller guarantees that b is
// never modified afterwards (Parse documents that raw is immutable); this is
// what keeps the fast path free of allocations.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// bom is the UTF-8 byte order mark that RFC 5424 allows before MSG and that
// Kerio Connect sends.
const bom = "\xef\xbb\xbf"

// msgAt returns raw[pos:] as the MSG, without a leading BOM.
func msgAt(raw []byte, pos int) string {
	if pos >= len(raw) {
		return ""
	}
	m := raw[pos:]
	if len(m) >= 3 && m[0] == 0xef && m[1] == 0xbb && m[2] == 0xbf {
		m = m[3:]
	}
	return str(m)
}

// YearMargin is how far ahead of the receive time an RFC 3164 date without
// a year may lie and still count as this year's: a sender's clock that runs
// a little fast, or a line sent just before New Year and read just after.
// A date further ahead is last year's. It is a week: rsyslog, syslog-ng and
// Vector use the current year too and only differ in how they treat the turn
// of the year, which any margin of a few days covers.
const YearMargin = 7 * 24 * time.Hour

// stampTime resolves an RFC 3164 Stamp (month, day and clock, no year, no
// zone) in loc: the year is the latest one that puts the date no more than
// YearMargin after received. So "Mar  7" received on 7 December is this
// year's, "Dec 31" received on 1 January last year's, and "Jan  1" received
// on 31 December next year's. ok is false when that year has no such day
// (Feb 29 in a common year): the date is invalid, not another year's. The
// year is never below 1, even for a zero receive time.
func stampTime(month time.Month, day, hour, minute, sec, nsec int, received time.Time, loc *time.Location) (time.Time, bool) {
	limit := received.Add(YearMargin)
	year := max(received.In(loc).Year(), 1)
	t := time.Date(year, month, day, hour, minute, sec, nsec, loc)
	switch {
	case t.After(limit):
		year = max(year-1, 1)
		t = time.Date(year, month, day, hour, minute, sec, nsec, loc)
	case limit.Sub(t) > 364*24*time.Hour:
		// Only then can next year's date (at least 365 days later, less an
		// hour of DST) still be within the limit.
		if next := time.Date(year+1, month, day, hour, minute, sec, nsec, loc); !next.After(limit) {
			year, t = year+1, next
		}
	}
	if day > daysIn(month, year) {
		return time.Time{}, false
	}
	return t, true
}

// zone returns a cached fixed zone for an offset in seconds east of UTC.
// Offset 0 is time.UTC, so "Z" and "+00:00" compare alike.
func (p *Parser) zone(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	if z, ok := p.zones[offset]; ok {
		return z
	}
	z := time.FixedZone("", offset)
	p.zones[offset] = z
	return z
}
