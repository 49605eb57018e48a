package syslog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// octetMaxDigits bounds an octet count: 8 digits are more than any
// believable count (counts above max_message_bytes are not believed), so
// a 9th digit is always bogus.
const octetMaxDigits = 8

// FrameInfo describes how a frame was read.
type FrameInfo struct {
	// Octet is true when the frame was RFC 6587 octet-counted.
	Octet bool
	// Truncated is true when the frame was longer than the maximum: it was
	// cut to the maximum and the rest of it was discarded.
	Truncated bool
	// Incomplete is true when the stream failed or ended inside the frame;
	// the bytes read so far are returned so that nothing is lost.
	Incomplete bool
	// BadFrame is true when the frame's framing could not be believed: an
	// octet count that was zero, too long or above the maximum message size
	// (the count then stays part of the frame, which runs to the next LF,
	// NUL or octet-counted frame header); a counted frame that held the
	// header of a further frame, where it was cut (the count lied); a count
	// whose body did not start with "<" on a connection whose frames do; or
	// a frame without a count on a connection that started octet-counted.
	BadFrame bool
}

// Framer splits a TCP (or TLS) byte stream into syslog frames as RFC 6587
// describes: octet counting ("<len> <msg>") and non-transparent framing
// (a message ended by LF; CRLF and NUL are tolerated too). The framing is
// detected per frame, because senders are known to mix them (and a sender
// that recovers from an error may restart in the other one): a frame that
// starts with a run of digits followed by a space is octet-counted, anything
// else runs to the next LF or NUL.
//
// A count is not taken on trust, because one wrong count would otherwise
// swallow every frame behind it. The body of a counted frame, and a frame
// read without a count on a connection that counts, is cut where the header
// of a further octet-counted frame begins (digits, a space, then a syslog
// PRI such as "<13>"), and framing resumes there: each real frame becomes
// its own event, and what came before is returned flagged BadFrame. Bytes
// are never dropped for this; only bytes past max are (flagged Truncated).
//
// Memory use is bounded by the bufio.Reader and the maximum frame size: a
// longer frame is cut and the rest is skipped without being buffered.
//
// A Framer is not safe for concurrent use; each connection has its own.
type Framer struct {
	r   *bufio.Reader
	max int
	// octetConn is set when the first frame of the stream started with a
	// count: the sender uses octet counting, so a later frame without a
	// count is a framing error worth counting, and frames read without a
	// count are cut at the next frame header.
	octetConn bool
	// withPRI is set when the first frame was counted and its body started
	// with "<": a later body that does not is a count that lied.
	withPRI bool
	started bool
	// pending is the count of a frame whose header ended the previous frame
	// (its digits and space are consumed; its body is next); 0 when none.
	pending int
	// err is the first read error; bufio.Reader reports an error once, the
	// framer keeps returning it.
	err error
}

// NewFramer returns a Framer reading r, cutting frames at max bytes (max > 0).
func NewFramer(r *bufio.Reader, max int) *Framer {
	if max < 1 {
		max = 1
	}
	return &Framer{r: r, max: max}
}

// Next reads the next non-empty frame and appends it to dst, returning the
// extended slice, like the strconv Append functions. Callers that pass a dst
// with at least max bytes of spare capacity get no allocation.
//
// When the stream fails or ends inside a frame, the bytes read so far are
// returned with a nil error and Incomplete set; the following call returns
// the error. At the end of the stream the error is io.EOF. The appended part
// never exceeds max bytes. Terminators (LF, CRLF, NUL) and believed octet
// counts are not part of the frame; octet-counted frames are returned byte
// for byte.
func (f *Framer) Next(dst []byte) ([]byte, FrameInfo, error) {
	for {
		if f.err != nil {
			return dst, FrameInfo{}, f.err
		}
		start := len(dst)
		var info FrameInfo
		dst, info = f.frame(dst)
		if len(dst) > start {
			return dst, info, nil
		}
		// An empty frame (blank line, stray CR or NUL, the LF some senders
		// put after an octet-counted frame) carries nothing: skip it.
	}
}

// frame reads one frame, possibly empty, recording a read error in f.err.
func (f *Framer) frame(dst []byte) ([]byte, FrameInfo) {
	if n := f.pending; n > 0 {
		f.pending = 0
		return f.octets(dst, n)
	}
	b, err := f.r.ReadByte()
	if err != nil {
		f.err = err
		return dst, FrameInfo{}
	}
	if b == '\n' || b == 0 {
		return dst, FrameInfo{} // empty frame, not a framing error
	}
	first := !f.started
	f.started = true
	start := len(dst)
	dst = append(dst, b)
	if isDigit(b) {
		return f.counted(dst, start, first)
	}
	// A sender that opened with octet counting and now sends a frame
	// without a count has lost sync (or never counted right).
	return f.line(dst, start, FrameInfo{BadFrame: f.octetConn && b != '\r'})
}

// counted reads a frame whose first byte, a digit, is already in dst at
// start: an octet count if the digits are followed by a space and make a
// believable count, otherwise the digits begin an LF-framed message.
func (f *Framer) counted(dst []byte, start int, first bool) ([]byte, FrameInfo) {
	// Keep the digits in dst: if this is not a count they are the start of
	// the message. line and finish enforce max on them.
	n := int(dst[start] - '0')
	digits := 1
	for {
		// ReadByte, not Peek: Peek(k) would wait for k bytes, stalling a
		// short last frame until the sender sends more.
		b, err := f.r.ReadByte()
		if err != nil {
			// The stream ended after a bare number: forward it as a line.
			f.err = err
			info := FrameInfo{BadFrame: f.octetConn, Incomplete: err != io.EOF}
			return f.finish(dst, start, len(dst)-start, dst[len(dst)-1], info)
		}
		switch {
		case isDigit(b):
			digits++
			dst = append(dst, b)
			if digits > octetMaxDigits {
				// Too long to be a count: the rest of the line is the message.
				f.octetConn = f.octetConn || first
				return f.line(dst, start, FrameInfo{BadFrame: true})
			}
			n = n*10 + int(b-'0')
		case b == ' ':
			if first {
				f.octetConn = true
			}
			if n < 1 || n > f.max {
				// Not believed: the count stays in the frame, which runs
				// to the next terminator or frame header.
				dst = append(dst, b)
				return f.line(dst, start, FrameInfo{BadFrame: true})
			}
			// A count promises at least one byte: waiting for it is fine.
			if p, err := f.r.Peek(1); err == nil {
				switch {
				case first:
					f.withPRI = p[0] == '<'
				case f.withPRI && p[0] != '<':
					dst = append(dst, b)
					return f.line(dst, start, FrameInfo{BadFrame: true})
				}
			}
			return f.octets(dst[:start], n)
		case b == '\n' || b == 0:
			// A line that is only a number.
			info := FrameInfo{BadFrame: f.octetConn}
			return f.finish(dst, start, len(dst)-start, dst[len(dst)-1], info)
		default:
			// Digits not followed by a space, such as a leading date: an
			// LF frame, and a framing error only if the sender counts.
			dst = append(dst, b)
			return f.line(dst, start, FrameInfo{BadFrame: f.octetConn})
		}
	}
}

// octets reads an octet-counted body of n bytes (1 <= n <= max). When the
// body holds the header of a further frame, the frame ends there, flagged
// BadFrame, and that frame is read next.
func (f *Framer) octets(dst []byte, n int) ([]byte, FrameInfo) {
	info := FrameInfo{Octet: true}
	left := n
	need := 1 // bytes to wait for: more than buffered when a header may straddle the end
	from := 1 // offset of the first byte that may begin an embedded header
	for left > 0 {
		buf, err := f.r.Peek(max(f.r.Buffered(), need))
		if len(buf) == 0 {
			f.err = noUnexpectedEOF(err)
			info.Incomplete = true
			return dst, info
		}
		limit := min(len(buf), left)
		h := findHeader(buf, from, limit, f.max, limit == len(buf) && left > len(buf) && err == nil)
		if h.found {
			dst = append(dst, buf[:h.at]...)
			_, _ = f.r.Discard(h.at + h.size) // buffered: cannot fail
			f.pending = h.count
			info.BadFrame = true
			return dst, info
		}
		take := min(limit, h.hold)
		dst = append(dst, buf[:take]...)
		_, _ = f.r.Discard(take)
		left -= take
		need, from = 1, 0
		if take < limit {
			need = len(buf) - take + 1
		}
	}
	return dst, info
}

// line reads up to the next LF or NUL. dst already holds the first bytes of
// the frame, which began at start. Bytes past max are counted but not kept,
// so an overlong line costs no memory. The line also ends where the header
// of an octet-counted frame begins (flagged BadFrame), and that frame is
// read next: a sender that lost count, or switched to octet counting, never
// sends the LF that would end the line, and its frames would be swallowed.
func (f *Framer) line(dst []byte, start int, info FrameInfo) ([]byte, FrameInfo) {
	seen := len(dst) - start // frame bytes so far, kept or not
	last := dst[len(dst)-1]
	if seen > f.max {
		dst = dst[:start+f.max]
	}
	need := 1
	for {
		// Scan whatever is buffered (filling the buffer when empty) in
		// place: bytes.IndexByte is vectorised and nothing is copied twice.
		buf, err := f.r.Peek(max(f.r.Buffered(), need))
		if len(buf) == 0 {
			f.err = err
			info.Incomplete = err != io.EOF
			return f.finish(dst, start, seen, last, info)
		}
		end := bytes.IndexByte(buf, '\n')
		seg := buf
		if end >= 0 {
			seg = buf[:end]
		}
		// NUL is rare: look for it only before the LF.
		if i := bytes.IndexByte(seg, 0); i >= 0 {
			end, seg = i, seg[:i]
		}
		skip := len(seg) + 1 // what to consume after seg: its terminator too
		need = 1
		h := findHeader(seg, 0, len(seg), f.max, end < 0 && err == nil)
		switch {
		case h.found:
			seg, end, skip = seg[:h.at], h.at, h.at+h.size
			f.pending = h.count
			info.BadFrame = true
		case h.hold < len(seg):
			// seg may end inside a header: wait for more bytes.
			need = len(buf) - h.hold + 1
			seg, end = seg[:h.hold], -1
		}
		if room := f.max - (len(dst) - start); room > 0 {
			dst = append(dst, seg[:min(room, len(seg))]...)
		}
		seen += len(seg)
		if len(seg) > 0 {
			last = seg[len(seg)-1]
		}
		if end >= 0 {
			_, _ = f.r.Discard(skip) // buffered: cannot fail
			return f.finish(dst, start, seen, last, info)
		}
		_, _ = f.r.Discard(len(seg))
	}
}

// finish ends a frame that began at start in dst, whose seen bytes (the last
// of them last) were read and at most max of them kept: it drops the CR of a
// CRLF terminator, cuts the frame to max and flags it if bytes were lost.
func (f *Framer) finish(dst []byte, start, seen int, last byte, info FrameInfo) ([]byte, FrameInfo) {
	if last == '\r' {
		seen--
		if len(dst)-start > seen {
			dst = dst[:len(dst)-1]
		}
	}
	if len(dst)-start > f.max {
		dst = dst[:start+f.max]
	}
	if seen > f.max {
		info.Truncated = true
	}
	return dst, info
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// frameHeaderMax is the longest frame header findHeader looks for: the
// count's digits, a space and a PRI of up to three digits ("<191>").
const frameHeaderMax = octetMaxDigits + 1 + 5

// header is what findHeader found.
type header struct {
	found bool
	at    int // offset of the count's first digit
	size  int // length of the count and its space
	count int
	hold  int // when not found: offset of a header p may end inside of, else len(p)
}

// findHeader looks in p for the header of an octet-counted frame that
// starts like a syslog message: 1-8 digits, a space, then a PRI ("<" 1-3
// digits ">"), with a count of at most maxCount. The digits must start at or
// after from and the space must lie before limit; the PRI may lie beyond.
// A message may end in digits ("port 22" then "27 <13>…"): of the counts
// the digit run allows, the one whose frame ends where another header
// begins is taken, else the longest.
//
// When canHold is set (more bytes are to come) and p may end inside a
// header, hold is where that header would begin, so that the caller keeps
// those bytes until it can tell.
func findHeader(p []byte, from, limit, maxCount int, canHold bool) header {
	// Look for the PRI's "<" (rarer in messages than spaces, and found by
	// a vectorised scan): a header's digits start at from or later, so its
	// "<" comes two bytes after at the earliest, and at limit at the latest.
	end := min(limit+1, len(p))
	for i := from + 2; i < end; {
		j := bytes.IndexByte(p[i:end], '<')
		if j < 0 {
			break
		}
		sp := i + j - 1
		i += j + 1
		if p[sp] != ' ' {
			continue
		}
		d := sp
		for d > from && sp-d < octetMaxDigits && isDigit(p[d-1]) {
			d--
		}
		if d == sp {
			continue
		}
		pri, complete := priAt(p[sp+1:])
		if !complete {
			if canHold {
				return header{hold: d}
			}
			continue
		}
		if !pri {
			continue
		}
		best := header{}
		for k := d; k < sp; k++ {
			if p[k] == '0' {
				continue
			}
			c := atoi(p[k:sp])
			if c > maxCount {
				continue
			}
			h := header{found: true, at: k, size: sp + 1 - k, count: c}
			if e := sp + 1 + c; e < len(p) && startsHeader(p[e:]) {
				return h
			}
			if !best.found {
				best = h
			}
		}
		if best.found {
			return best
		}
	}
	if canHold {
		for k := max(from, len(p)-frameHeaderMax); k < len(p); k++ {
			if headerPrefix(p[k:]) {
				return header{hold: k}
			}
		}
	}
	return header{hold: len(p)}
}

// priAt reads a PRI ("<" 1-3 digits ">") at the start of q, which starts
// with "<". complete is false when q ends before that can be told.
func priAt(q []byte) (ok, complete bool) {
	for i := 1; i <= 4; i++ {
		if i >= len(q) {
			return false, false
		}
		switch c := q[i]; {
		case c == '>':
			return i > 1, true
		case !isDigit(c) || i == 4:
			return false, true
		}
	}
	return false, true
}

// startsHeader reports whether q starts with 1-8 digits, a space and "<".
func startsHeader(q []byte) bool {
	i := 0
	for i < len(q) && i < octetMaxDigits && isDigit(q[i]) {
		i++
	}
	return i > 0 && i+1 < len(q) && q[i] == ' ' && q[i+1] == '<'
}

// headerPrefix reports whether q is the start of a header, cut short.
func headerPrefix(q []byte) bool {
	i := 0
	for i < len(q) && isDigit(q[i]) {
		if i++; i > octetMaxDigits {
			return false
		}
	}
	switch {
	case i == 0:
		return false
	case i == len(q):
		return true
	case q[i] != ' ':
		return false
	case i+1 == len(q):
		return true
	case q[i+1] != '<':
		return false
	}
	_, complete := priAt(q[i+1:])
	return !complete
}

// atoi reads 1-8 decimal digits.
func atoi(p []byte) int {
	n := 0
	for _, b := range p {
		n = n*10 + int(b-'0')
	}
	return n
}

// noUnexpectedEOF reports a stream that ended inside a frame as the end of
// the stream: the partial frame is already flagged Incomplete.
func noUnexpectedEOF(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	return err
}
