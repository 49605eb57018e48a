package file

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"time"

	"siemfwd/internal/fileid"
	"siemfwd/pipeline"
)

// readChunk is the size of each read buffer. Large reads keep the syscall
// count low for a file already on disk; a buffer is dropped (and left to the
// events that point into it) when less than a quarter of it is free.
const readChunk = 256 << 10

// tailer reads one open file. Only its own goroutine touches its fields,
// except origin and ent, which are read-only to others.
//
// Events' Raw bytes point into the read buffer; nothing ever writes to a
// part of a buffer that was handed out: new data goes after it, and a
// truncation starts a new buffer. So a batch costs a few allocations (its
// events, its pointers, a share of a 256 KiB buffer), not one per line.
type tailer struct {
	s      *Source
	f      *os.File
	path   string
	id     fileID
	origin *pipeline.Origin
	ent    *entry
	ids    pipeline.IDScope // of ent's stream
	idBuf  pipeline.IDBuffer

	buf   []byte // buf[start:] is read but not consumed yet
	start int
	csize int   // capacity of a new buffer
	off   int64 // file offset of the next byte to read
	pos   int64 // file offset of buf[start]
	sent  int64 // end of the last batch sent: the start of the one being built
	cont  bool  // the next piece continues a line split at max_line_bytes

	evs    []pipeline.Event // the batch being built
	lastN  int              // events in the previous batch, to size the next
	bytes  int
	pieces int

	readErr bool // a read error was logged; log again only after a good read
}

func (s *Source) newTailer(f *os.File, path string, id fileID, e *entry) *tailer {
	lg := s.cfg.Log
	if lg == "" {
		lg = logFromPath(path)
	}
	s.reg.mu.Lock()
	off := e.readOff
	s.reg.mu.Unlock()
	t := &tailer{
		s: s, f: f, path: path, id: id, ent: e, ids: pipeline.FileScope(s.name, s.reg.stream(e)),
		origin: &pipeline.Origin{
			Source:    s.name,
			Transport: "file",
			Format:    pipeline.FormatLine,
			Location:  s.loc,
			Product:   s.cfg.Product,
			Log:       lg,
			Charset:   s.cfg.Charset,
			FilePath:  path,
		},
		csize: max(readChunk, 2*(s.cfg.MaxLineBytes+2)),
		off:   off, pos: off, sent: off,
	}
	if off > 0 {
		// Resuming after a piece of a split line: the rest is a piece too.
		var b [1]byte
		if n, _ := f.ReadAt(b[:], off-1); n == 1 && b[0] != '\n' {
			t.cont = true
		}
	}
	return t
}

// run reads until ctx is done (released false) or until the file, rotated
// away or deleted, has been read to its end (released true; gone says it
// was deleted). It never returns with a batch half sent.
//
// Each round reads to the end of the file, sends what it has and waits for
// a poll. After the wait, and before reading on, it checks the file: a
// truncation or an in-place rewrite must be seen before the new bytes are
// read at the old offset. A rotation or deletion seen there is followed by
// one more read to the end, for what the writer wrote meanwhile, and then
// the file is let go.
func (t *tailer) run(ctx context.Context, out chan<- pipeline.Batch) (gone, released bool) {
	poll := time.NewTimer(t.s.cfg.PollInterval)
	defer poll.Stop()
	letGo := stateSame
	for {
		wake := t.s.wake.C()
		if ctx.Err() != nil {
			return false, false
		}
		n, eof, err := t.fill()
		if n > 0 {
			t.readErr = false
			if !t.consume(ctx, out, time.Now(), false) {
				return false, false
			}
		}
		if err != nil && !t.readErr {
			t.readErr = true
			t.s.log.Warn("read failed; retrying at the next poll", "path", t.path, "err", err)
		}
		if !eof && err == nil {
			continue
		}
		// At the end of what is there: send what we have.
		if letGo != stateSame {
			// The file's last line will never get its LF: send it as it is.
			if !t.consume(ctx, out, time.Now(), true) || !t.flush(ctx, out) {
				return false, false
			}
			t.s.log.Info("file released", "path", t.path, "offset", t.pos, "deleted", letGo == stateDeleted)
			return letGo == stateDeleted, true
		}
		if !t.flush(ctx, out) {
			return false, false
		}
		poll.Reset(t.s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return false, false
		case <-poll.C:
		case <-wake:
		}
		switch st := t.check(); st {
		case stateRotated, stateDeleted:
			letGo = st
		}
	}
}

// fill reads more of the file into buf, starting a new buffer (with the
// unconsumed tail copied over) when the current one is nearly full.
func (t *tailer) fill() (n int, eof bool, err error) {
	if cap(t.buf)-len(t.buf) < t.csize/4 {
		rest := t.buf[t.start:]
		nb := make([]byte, len(rest), t.csize)
		copy(nb, rest)
		t.buf, t.start = nb, 0
	}
	n, err = t.f.ReadAt(t.buf[len(t.buf):cap(t.buf)], t.off)
	t.buf = t.buf[:len(t.buf)+n]
	t.off += int64(n)
	if errors.Is(err, io.EOF) {
		return n, true, nil
	}
	return n, false, err
}

// consume turns the complete lines in buf into events, sending each batch
// as it fills. A line without its LF yet waits, unless final (the file is
// being let go). A line longer than max_line_bytes becomes pieces of that
// size, each flagged FlagSplit. Empty lines are skipped. It returns false
// when ctx ended while a batch waited for room.
func (t *tailer) consume(ctx context.Context, out chan<- pipeline.Batch, now time.Time, final bool) bool {
	mx := t.s.cfg.MaxLineBytes
	data := t.buf[t.start:]
	for len(data) > 0 {
		var piece []byte
		var adv int
		split := false
		i := bytes.IndexByte(data, '\n')
		switch {
		case i < 0 && len(data) > mx+1: // +1: a CR may wait for its LF
			piece, adv, split = data[:mx], mx, true
		case i < 0 && !final:
			return true
		default:
			line, next := data, len(data)
			if i >= 0 {
				line, next = data[:i], i+1
			}
			line = bytes.TrimSuffix(line, []byte{'\r'})
			if len(line) > mx {
				piece, adv, split = data[:mx], mx, true
			} else {
				piece, adv = line, next
			}
		}
		var flags pipeline.Flags
		if split || t.cont {
			flags = pipeline.FlagSplit
		}
		t.cont = split
		off := t.pos
		t.pos += int64(adv)
		t.start += adv
		data = data[adv:]
		if len(piece) == 0 {
			continue
		}
		t.add(piece, off, flags, now)
		if len(t.evs) >= t.s.cfg.BatchEvents && !t.send(ctx, out) {
			return false
		}
	}
	return true
}

func (t *tailer) add(piece []byte, off int64, flags pipeline.Flags, now time.Time) {
	if t.evs == nil {
		// Sized for what the last batch needed: a slowly written file
		// sends one-line batches, and a full-size array for each would
		// cost more than the events.
		t.evs = make([]pipeline.Event, 0, min(t.s.cfg.BatchEvents, max(t.lastN, 16)))
	}
	t.evs = append(t.evs, pipeline.Event{
		// The full slice expression caps Raw, so that an append by a
		// consumer can never write into the next line's bytes.
		Raw:      piece[:len(piece):len(piece)],
		Received: now,
		Origin:   t.origin,
		Offset:   off,
		Flags:    flags,
	})
	t.idBuf.Add(t.ids, uint64(off))
	t.bytes += len(piece)
	if flags&pipeline.FlagSplit != 0 {
		t.pieces++
	}
}

// flush sends the batch being built, if it has events.
func (t *tailer) flush(ctx context.Context, out chan<- pipeline.Batch) bool {
	if len(t.evs) == 0 {
		return true
	}
	return t.send(ctx, out)
}

// send registers the batch's byte range [sent, pos) and sends it, waiting
// for room in out (backpressure: no reading meanwhile). If ctx ends first
// the range is taken back: it was never sent, so nobody will ack it.
func (t *tailer) send(ctx context.Context, out chan<- pipeline.Batch) bool {
	if ctx.Err() != nil {
		return false
	}
	t.idBuf.Assign(t.evs)
	ptrs := make([]*pipeline.Event, len(t.evs))
	for i := range t.evs {
		ptrs[i] = &t.evs[i]
	}
	reg, e, start, end := t.s.reg, t.ent, t.sent, t.pos
	seq := reg.register(e, end)
	b := pipeline.Batch{Events: ptrs, Ack: func(err error) { reg.ack(e, seq, err) }}
	select {
	case out <- b:
	case <-ctx.Done():
		reg.unregister(e, start)
		return false
	}
	t.sent = end
	t.s.m.received.Add(float64(len(t.evs)))
	t.s.m.receivedBytes.Add(float64(t.bytes))
	if t.pieces > 0 {
		t.s.m.split.Add(float64(t.pieces))
	}
	t.lastN = len(t.evs)
	t.evs, t.bytes, t.pieces = nil, 0, 0
	return true
}

// What a poll at EOF found.
type fileState int

const (
	stateSame      fileState = iota
	stateTruncated           // shorter than what was read, or other first bytes: read again from 0
	stateRotated             // the path now names another file
	stateDeleted             // no name left
)

// check looks at the file at EOF: truncated or rewritten in place (then it
// restarts from 0 under a new identity), renamed with a new file at its
// path, or deleted. It also records the size and lengthens a fingerprint
// that was short.
func (t *tailer) check() fileState {
	fi, err := t.f.Stat()
	if err != nil {
		return stateSame
	}
	size := fi.Size()
	head, err := readHead(t.f, size, t.s.cfg.FingerprintBytes)
	if err != nil {
		return stateSame
	}
	fpLen, sum := t.s.reg.fingerprint(t.ent)
	if size < t.off || len(head) < fpLen || sha256.Sum256(head[:fpLen]) != sum {
		t.s.log.Info("file truncated; reading it again from the start", "path", t.path, "size", size, "offset", t.off)
		t.ent = t.s.reg.restart(t.ent, head)
		t.ids = pipeline.FileScope(t.s.name, t.s.reg.stream(t.ent))
		// A new buffer: events in flight still point into the old one.
		t.buf, t.start = nil, 0
		t.off, t.pos, t.sent, t.cont = 0, 0, 0, false
		return stateTruncated
	}
	if len(head) <= fpLen {
		head = nil
	}
	t.s.reg.observe(t.ent, size, head)
	if id, ok := fileid.Of(fi); ok && id.Nlink == 0 {
		return stateDeleted
	}
	if pfi, err := os.Stat(t.path); err == nil && idOf(pfi) != t.id {
		return stateRotated
	}
	// Renamed with nothing at its path yet: the writer may still write
	// to it, so keep reading until a new file appears.
	return stateSame
}
