package syslog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Octet-count limits. A count longer than octetMaxDigits digits, zero, or
// above octetHardCap is not believed: such a frame is read as LF-framed so
// that a desynchronised or non-conforming sender loses no bytes. The cap is
// far above any real message (they are cut at the maximum message size
// anyway); it only bounds how much a bogus count can make us discard.
const (
	octetHardCap   = 64 << 20 // 64 MiB
	octetMaxDigits = 8        // 99,999,999 > octetHardCap: a 9th digit is always bogus
)

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
	// BadFrame is true when the frame began with an octet count that could
	// not be believed (zero, too many digits, above the hard cap), or when a
	// connection that started octet-counted sent a frame without a count.
	// The bytes up to the next terminator were returned as an LF frame.
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
// Memory use is bounded by the bufio.Reader and the maximum frame size: a
// longer frame is cut and the rest is skipped without being buffered.
//
// A Framer is not safe for concurrent use; each connection has its own.
type Framer struct {
	r   *bufio.Reader
	max int
	// octetConn is set when the first frame of the stream started with a
	// digit: the sender uses octet counting, so a later frame without a
	// count is a framing error worth counting.
	octetConn bool
	started   bool
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
// never exceeds max bytes. Terminators (LF, CRLF, NUL) and octet counts are
// not part of the frame; octet-counted frames are returned byte for byte.
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
				return f.line(dst, start, FrameInfo{BadFrame: true})
			}
			n = n*10 + int(b-'0')
		case b == ' ':
			if n < 1 || n > octetHardCap {
				dst = append(dst, b)
				return f.line(dst, start, FrameInfo{BadFrame: true})
			}
			if first {
				f.octetConn = true
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

// octets reads an octet-counted body of n bytes, keeping at most max.
func (f *Framer) octets(dst []byte, n int) ([]byte, FrameInfo) {
	info := FrameInfo{Octet: true}
	keep := min(n, f.max)
	start := len(dst)
	dst = grow(dst, keep)
	got, err := io.ReadFull(f.r, dst[start:start+keep])
	dst = dst[:start+got]
	if err != nil {
		f.err = noUnexpectedEOF(err)
		info.Incomplete = true
		return dst, info
	}
	if rest := n - keep; rest > 0 {
		info.Truncated = true
		// Discard reads through the buffer without keeping the bytes.
		if _, err := f.r.Discard(rest); err != nil {
			f.err = noUnexpectedEOF(err)
			info.Incomplete = true
		}
	}
	return dst, info
}

// line reads up to the next LF or NUL. dst already holds the first bytes of
// the frame, which began at start. Bytes past max are counted but not kept,
// so an overlong line costs no memory.
func (f *Framer) line(dst []byte, start int, info FrameInfo) ([]byte, FrameInfo) {
	seen := len(dst) - start // frame bytes so far, kept or not
	last := dst[len(dst)-1]
	if seen > f.max {
		dst = dst[:start+f.max]
	}
	for {
		// Scan whatever is buffered (filling the buffer when empty) in
		// place: bytes.IndexByte is vectorised and nothing is copied twice.
		buf, err := f.r.Peek(max(f.r.Buffered(), 1))
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
		if room := f.max - (len(dst) - start); room > 0 {
			dst = append(dst, seg[:min(room, len(seg))]...)
		}
		seen += len(seg)
		if len(seg) > 0 {
			last = seg[len(seg)-1]
		}
		if end >= 0 {
			_, _ = f.r.Discard(end + 1) // buffered: cannot fail
			return f.finish(dst, start, seen, last, info)
		}
		_, _ = f.r.Discard(len(buf))
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

// grow makes room for n more bytes in dst, keeping its length.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst[:len(dst)+n]
	}
	out := make([]byte, len(dst)+n, len(dst)+n+len(dst)/4)
	copy(out, dst)
	return out
}

// noUnexpectedEOF reports a stream that ended inside a frame as the end of
// the stream: the partial frame is already flagged Incomplete.
func noUnexpectedEOF(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	return err
}
