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

// stampTime resolves an RFC 3164 Stamp (month, day and clock, no year, no
// zone) in loc, choosing the year that puts the event closest to received:
// "Dec 31 23:59:59" received on 1 January is last year's, "Jan 1 00:00:01"
// received on 31 December is next year's. Feb 29 goes to the last leap year
// before. The year is never below 1, even for a zero receive time.
func stampTime(month time.Month, day, hour, minute, sec, nsec int, received time.Time, loc *time.Location) time.Time {
	year := received.In(loc).Year()
	// Common case, one time.Date: within 182 days of the receive time, the
	// other years are at least 183 days away, so this one is the closest.
	if t := time.Date(max(year, 1), month, day, hour, minute, sec, nsec, loc); t.Day() == day {
		if d := t.Sub(received); d <= 182*24*time.Hour && d >= -182*24*time.Hour {
			return t
		}
	}
	var best time.Time
	var bestDiff time.Duration
	found := false
	try := func(y int) {
		if y < 1 {
			return
		}
		t := time.Date(y, month, day, hour, minute, sec, nsec, loc)
		if t.Month() != month || t.Day() != day {
			return // Feb 29 in a common year
		}
		diff := t.Sub(received)
		if diff < 0 {
			diff = -diff
		}
		if !found || diff < bestDiff {
			best, bestDiff, found = t, diff, true
		}
	}
	// The closest date is always within a year either side of the receive year.
	try(year - 1)
	try(year)
	try(year + 1)
	// Only Feb 29 can miss them all. Events come from the past, so take the
	// last leap year before (up to eight years back, around a skipped century
	// leap year), and a later one only when there is none.
	for d := 2; !found && d <= 8; d++ {
		try(year - d)
	}
	for d := 2; !found && d <= 8; d++ {
		try(year + d)
	}
	if !found {
		// Unreachable for days the callers validate; keep the clock rather than lose the event.
		return time.Date(max(year, 1), month, day, hour, minute, sec, nsec, loc)
	}
	return best
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
