package syslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// RELP frame limits, as librelp enforces them (relpframe.c): a TXNR and a
// DATALEN have at most 9 digits, a command at most 32 letters.
const (
	relpMaxDigits  = 9
	relpMaxCommand = 32
	// relpMaxTxnr is the highest TXNR; the next one is 1 again.
	relpMaxTxnr = 999_999_999
)

// errRELPFrame is a frame that breaks the RELP syntax. A session cannot
// recover from it: the byte stream has lost its frame boundaries.
var errRELPFrame = errors.New("malformed relp frame")

// relpFrame is one RELP frame: TXNR SP COMMAND SP DATALEN [SP DATA] LF.
type relpFrame struct {
	txnr int
	cmd  []byte // a slice of the frame buffer: valid until the next read
	// data is appended to the dst given to readRELPFrame.
	data []byte
	// truncated is set when DATALEN was above the maximum: the data was
	// cut to the maximum and the rest skipped.
	truncated bool
}

// relpReader reads RELP frames from a stream.
//
// Memory use is bounded by the bufio.Reader and maxData: longer data is cut
// and the rest is skipped without being buffered. A relpReader is not safe
// for concurrent use.
type relpReader struct {
	r       *bufio.Reader
	maxData int
	cmd     [relpMaxCommand]byte
}

func newRELPReader(r *bufio.Reader, maxData int) *relpReader {
	return &relpReader{r: r, maxData: max(maxData, 1)}
}

// next reads one frame and appends its data to dst. At the end of the
// stream between frames the error is io.EOF; inside a frame it is
// io.ErrUnexpectedEOF; a syntax error wraps errRELPFrame.
func (rr *relpReader) next(dst []byte) (relpFrame, error) {
	var f relpFrame
	txnr, term, err := rr.number()
	if err != nil {
		if txnr < 0 {
			return f, err // nothing of a frame was read: io.EOF at the end
		}
		return f, unexpected(err)
	}
	if term != ' ' {
		return f, fmt.Errorf("%w: txnr not followed by a space", errRELPFrame)
	}
	f.txnr = txnr
	n := 0
	for {
		b, err := rr.r.ReadByte()
		if err != nil {
			return f, unexpected(err)
		}
		if b == ' ' && n > 0 {
			break
		}
		if !isLetter(b) || n == relpMaxCommand {
			return f, fmt.Errorf("%w: bad command", errRELPFrame)
		}
		rr.cmd[n] = b
		n++
	}
	f.cmd = rr.cmd[:n]
	size, term, err := rr.number()
	if err != nil {
		return f, unexpected(err)
	}
	switch {
	case size == 0 && term == '\n':
		f.data = dst
		return f, nil
	case size == 0 || term != ' ':
		return f, fmt.Errorf("%w: bad data length", errRELPFrame)
	}
	keep := min(size, rr.maxData)
	start := len(dst)
	dst = slices.Grow(dst, keep)[:start+keep]
	if _, err := io.ReadFull(rr.r, dst[start:]); err != nil {
		return f, unexpected(err)
	}
	if rest := size - keep; rest > 0 {
		f.truncated = true
		if _, err := rr.r.Discard(rest); err != nil {
			return f, unexpected(err)
		}
	}
	f.data = dst
	b, err := rr.r.ReadByte()
	if err != nil {
		return f, unexpected(err)
	}
	if b != '\n' {
		return f, fmt.Errorf("%w: no LF after the data", errRELPFrame)
	}
	return f, nil
}

// number reads 1-9 digits and the byte after them. It returns -1 when the
// stream ended before the first digit.
func (rr *relpReader) number() (n int, term byte, err error) {
	digits := 0
	for {
		b, err := rr.r.ReadByte()
		if err != nil {
			if digits == 0 {
				return -1, 0, err
			}
			return n, 0, err
		}
		if !isDigit(b) {
			if digits == 0 {
				return n, b, fmt.Errorf("%w: number expected", errRELPFrame)
			}
			return n, b, nil
		}
		if digits++; digits > relpMaxDigits {
			return n, b, fmt.Errorf("%w: number too long", errRELPFrame)
		}
		n = n*10 + int(b-'0')
	}
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// unexpected reports the end of the stream inside a frame as such.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendRELPFrame appends a frame to dst.
func appendRELPFrame(dst []byte, txnr int, cmd string, data string) []byte {
	dst = strconv.AppendInt(dst, int64(txnr), 10)
	dst = append(dst, ' ')
	dst = append(dst, cmd...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(data)), 10)
	if len(data) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, data...)
	}
	return append(dst, '\n')
}
