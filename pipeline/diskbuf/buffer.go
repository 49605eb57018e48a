// Package diskbuf is a crash-safe buffer of opaque records on disk, one per
// sink, so that events survive a restart, a crash or a long outage of the
// destination ("nothing lost").
//
// It is engine support: it stores opaque records (the engine encodes its
// events into them) and imports nothing of siemfwd but internal/flock, so the
// engine may import it.
//
// It is an append-only log of segment files in its own directory:
//
//	dir/lock                      flock: one Buffer per directory
//	dir/00000000000000000007.seg  segments, oldest first (format in format.go)
//	dir/spare                     an acknowledged segment's file, to be the next segment
//	dir/ack                       the acknowledged position, replaced atomically
//
// Writers Append groups of records; the sink's loop reads them with Next,
// delivers them and calls Ack. Reading is independent of acknowledgement, so
// several reads can be outstanding; acks come in order. A segment is deleted
// once everything in it is acknowledged, or kept as the spare, whose file
// the next new segment reuses (records are still only ever appended after
// the last; see format.go for how old records in a reused file are told from
// new ones). On Open, reading resumes at the
// persisted acknowledged position, so what was not acknowledged is delivered
// again: duplicates are possible (what was in flight, and what was acked
// since the ack file was last written), losses are not.
//
// # Damage
//
// Every record carries a CRC-32C. Open checks every unacknowledged record.
// At the first record that is incomplete or fails its checksum it cuts the
// segment there (truncate), counts one corrupt record and the bytes cut, logs
// a warning, keeps everything before, and goes on with the next segment.
// That is the right answer for a torn tail (the only damage a crash
// produces: the last write of the newest segment). For bytes flipped in the
// middle of a segment, the records after the damage in that segment are lost
// too: the framing cannot be trusted past a bad length, and guessing where
// the next record starts could hand out garbage that happens to checksum.
// Later segments are unaffected. Damage met while reading after Open (the
// disk changed under us) is handled the same way, without the truncate: the
// reader skips to the end of that segment.
//
// # Durability
//
// With sync "batch", Append returns after fsync; concurrent Appends share
// one fsync (group commit). With sync "interval", a background goroutine
// fsyncs every sync_interval and Append returns after write(2). A segment is
// always fsynced before the next one is started, and a new segment's header
// and directory entry are fsynced before records go into it.
//
// # Memory
//
// The buffer holds no records: Append writes through one reused buffer, and
// Next streams from the segment file (a bufio.Reader over *os.File). The
// only records in memory are those Next returned and the caller still holds,
// and the memos below, which are bounded.
//
// # Hand-off
//
// AppendBatch can also take one memo per record: the caller's in-memory form
// of it (for the pipeline, the event the record encodes). While the reader is
// caught up, Next returns the memos instead of reading the records back from
// the segment file, which saves the read and the caller's decoding. The file
// is still written the same way and still decides everything else: positions,
// acks, what Open replays. Memos wait for the reader up to handoffBytes of
// their records' size; a batch appended beyond that gets none, and its
// records are read from the file when the reader gets there.
//
// # Pacing
//
// Reading a record back from the file costs several times its hand-off, so
// a reader that fell behind under load would stay behind. While the reader
// is healthy (see SetReaderFailing), AppendBatch with memos therefore waits
// until what the reader has not taken yet is within handoffBytes: writers
// go at the reader's pace, as they would without a disk buffer, and the
// reader takes everything from memory. While the reader is failing, writers
// never wait for it: their batches spill to the file, up to max_bytes, which
// is what the buffer is for. Once the reader is healthy again, writers wait
// until it has read that backlog from the file, then hand off again.
package diskbuf

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

var (
	// ErrFull is returned by Append when the batch would take the
	// unacknowledged data over max_bytes. Nothing was written. The caller
	// applies its when_full policy: wait (AppendWait) or drop and count.
	ErrFull = errors.New("disk buffer full")
	// ErrTooLarge is returned for a record over MaxRecordBytes or a batch
	// over max_bytes: it could never fit, so waiting would never end.
	ErrTooLarge = errors.New("too large for the disk buffer")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("disk buffer closed")
)

// Position is a place in the log, returned by Next and passed back to Ack.
// It is only meaningful to the Buffer that returned it. The zero Position is
// before everything.
type Position struct {
	seq     uint64 // segment
	off     int64  // offset after the last record handed out
	records int64  // records handed out since Open, up to here
	bytes   int64  // framed bytes handed out since Open, up to here
}

// String is for logs.
func (p Position) String() string { return fmt.Sprintf("%d:%d", p.seq, p.off) }

// handoffBytes bounds the framed size of the records whose memos wait for
// the reader, so that memory stays flat while the reader is behind (a sink
// that is down): only the first batches of a backlog are kept in memory.
// Memos pin more than their records' size (the pipeline's events keep their
// batch's arrays and read buffers alive, and the GC doubles it): at 64 MiB
// siemfwd's peak RSS grew by about 300 MB over 16 MiB, for no clear CPU
// gain. A reader that falls further behind reads the rest from the file.
const handoffBytes = 16 << 20

// memoRun is the part of one appended batch whose memos the reader has not
// taken yet.
type memoRun struct {
	at    segPos  // where its first record starts
	index int64   // records in its segment before that one
	memos []any   // one per record
	sizes []int32 // framed size of each record
	bytes int64   // sum of sizes
}

// segPos is a physical place: a segment and an offset in it.
type segPos struct {
	seq uint64
	off int64
}

func (p segPos) before(q segPos) bool { return p.seq < q.seq || p.seq == q.seq && p.off < q.off }

// Stats is a snapshot of the buffer's state and counters since Open.
type Stats struct {
	DiskBytes      int64 // size of the segment files
	Segments       int   // segment files, the one being written included
	UnackedRecords int64 // records appended and not yet acknowledged
	UnackedBytes   int64 // their size on disk, framing included; max_bytes bounds it
	CorruptRecords int64 // torn or damaged records found (at Open or while reading); see the package doc
	CorruptBytes   int64 // bytes cut off or skipped because of them
	Refused        int64 // records Append refused with ErrFull (a drop_newest caller drops them)
	Syncs          int64 // fsyncs of segment data
}

// segment is one file of the log. Its fields are guarded by Buffer.mu.
type segment struct {
	seq     uint64
	path    string
	start   int64    // where unread data begins: the header's end, or the acked offset found at Open
	end     int64    // end of good data; nothing is read past it
	records int64    // records in [start, end)
	seed    uint32   // crcSeed of its records (0 in a version 1 segment)
	reused  bool     // a reused file: old data follows end, so writes end with the end mark
	f       *os.File // write handle, only while it is the active segment
	broken  bool     // a write or fsync failed: start a new segment before the next write
}

// Buffer is a disk buffer for one sink. Append may be called from many
// goroutines; Next and Ack are meant for one reader (the sink loop) but are
// safe to call concurrently. Close once, when done.
//
// Lock order: rmu, smu and amu are never held together, except smu then mu
// in Close; each may be taken before mu, never after.
type Buffer struct {
	dir  string
	cfg  Config
	log  *slog.Logger
	lock *os.File

	smu sync.Mutex // serialises fsyncs of the active segment (group commit)
	amu sync.Mutex // serialises writes of the ack file

	mu       sync.Mutex
	closed   bool
	closedCh chan struct{}
	segs     []*segment // oldest first; the last one is active unless a roll failed
	active   *segment   // nil after a failed roll, until the next Append makes one
	nextSeq  uint64
	spare    bool // dir/spare exists: a segment file to reuse for the next segment
	wbuf     []byte
	appended struct{ records, bytes int64 } // since Open, the unacked data found at Open included
	synced   segPos                         // data before it is on stable storage
	acked    Position
	ackDirty bool
	handed   Position  // the end of what Next handed out
	memos    []memoRun // appended batches' memos, oldest first, none before the reader
	memoSize int64     // sum of their bytes, at most handoff
	handoff  int64     // handoffBytes; tests lower it
	failing  bool      // the reader is failing: writers do not wait for it (see Pacing)
	dataCh   chan struct{}
	readCh   chan struct{} // closed when the reader takes records or starts failing
	spaceCh  chan struct{}
	stats    Stats // counters only; the rest is computed in Stats()

	// The reader, guarded by rmu.
	rmu   sync.Mutex
	rseg  *segment
	rf    *os.File
	rlim  boundedReader // rf, read no further than the segment's written end
	rbr   *bufio.Reader // over rlim
	roff  int64
	rread int64    // records read in rseg
	rpos  Position // logical counters of what was read

	stop chan struct{}
	wg   sync.WaitGroup
}

// Open opens or creates the buffer in dir, which it owns: nothing else may
// write there. It takes the directory's lock (ErrLocked if another Buffer has
// it), checks every unacknowledged record, cuts damaged tails (see the
// package doc), and starts a new segment for appends. Reading resumes at the
// persisted acknowledged position. log may be nil.
func Open(dir string, cfg Config, log *slog.Logger) (*Buffer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("disk buffer config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("disk buffer: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("disk buffer %s: %w", dir, err)
	}
	b := &Buffer{dir: dir, cfg: cfg, log: log, lock: lock, closedCh: make(chan struct{}), stop: make(chan struct{}),
		rbr: bufio.NewReaderSize(nil, 64<<10), handoff: handoffBytes}
	if err := b.recover(); err != nil {
		b.mu.Lock()
		if b.active != nil {
			b.active.f.Close()
		}
		b.mu.Unlock()
		lock.Close()
		return nil, fmt.Errorf("disk buffer %s: %w", dir, err)
	}
	b.wg.Add(1)
	go b.background()
	s := b.Stats()
	log.Info("disk buffer opened", "dir", dir, "unacked_records", s.UnackedRecords, "unacked_bytes", s.UnackedBytes,
		"segments", s.Segments, "corrupt_records", s.CorruptRecords)
	return b, nil
}

// recover reads the ack file and the segments, and starts the active segment.
func (b *Buffer) recover() error {
	ack, hasAck := b.readAck()
	if err := os.Remove(filepath.Join(b.dir, ackTempFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return err
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
		b.spare = b.spare || e.Name() == spareFile && e.Type().IsRegular()
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	maxSeq := ack.seq
	buf := make([]byte, 0, 64<<10)
	for _, seq := range seqs {
		maxSeq = max(maxSeq, seq)
		path := filepath.Join(b.dir, segmentName(seq))
		if hasAck && seq < ack.seq {
			// Fully acknowledged; the crash came between the ack and the delete.
			if err := os.Remove(path); err != nil {
				return err
			}
			continue
		}
		ackOff := int64(-1)
		if hasAck && seq == ack.seq {
			ackOff = ack.off
		}
		var seg *segment
		seg, buf, err = b.recoverSegment(seq, path, ackOff, buf)
		if err != nil {
			return fmt.Errorf("segment %s: %w", filepath.Base(path), err)
		}
		if seg != nil {
			b.segs = append(b.segs, seg)
			b.appended.records += seg.records
			b.appended.bytes += seg.end - seg.start
			b.synced = segPos{seg.seq, seg.end}
		}
	}
	b.nextSeq = maxSeq + 1
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.roll(); err != nil {
		return err
	}
	first := b.segs[0]
	b.acked = Position{seq: first.seq, off: first.start}
	b.handed = b.acked
	b.rseg, b.roff, b.rpos = first, first.start, b.acked
	return nil
}

// readAck returns the persisted acknowledged position, if there is a good one.
// Without one, everything on disk is delivered again.
func (b *Buffer) readAck() (ackState, bool) {
	data, err := os.ReadFile(filepath.Join(b.dir, ackFile))
	if errors.Is(err, os.ErrNotExist) {
		return ackState{}, false
	}
	a, ok := decodeAck(data)
	if err != nil || !ok {
		b.log.Warn("ack file unreadable; delivering every buffered record again", "err", err)
		return ackState{}, false
	}
	return a, true
}

// recoverSegment checks one segment from its first unacknowledged record and
// cuts it at the first bad one. It returns nil when nothing unacknowledged
// remains in it (the file is then removed).
func (b *Buffer) recoverSegment(seq uint64, path string, ackOff int64, buf []byte) (*segment, []byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, buf, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, buf, err
	}
	size := fi.Size()
	hdr := make([]byte, segmentHeaderLen)
	n, _ := io.ReadFull(f, hdr)
	format, ok, stale := parseSegmentHeader(hdr[:n], seq)
	if !ok {
		// An empty file, or a spare with its old header, is a segment whose
		// creation the crash interrupted: nothing was written to it.
		if size > 0 && !stale {
			b.stats.CorruptRecords++
			b.stats.CorruptBytes += size
			b.log.Warn("segment header damaged; segment dropped", "segment", filepath.Base(path), "bytes", size)
		}
		return nil, buf, os.Remove(path)
	}
	start := format.start
	if ackOff >= 0 {
		// An ack past the end means damage cut the segment below it: all acked.
		start = min(max(ackOff, format.start), size)
	}
	res, buf, err := scanSegment(f, start, size, format.seed, buf)
	if err != nil {
		return nil, buf, err
	}
	if res.bad {
		cut := size - res.end
		b.stats.CorruptRecords++
		b.stats.CorruptBytes += cut
		b.log.Warn("torn or damaged record; segment cut there", "segment", filepath.Base(path),
			"offset", res.end, "bytes_cut", cut)
		if err := f.Truncate(res.end); err != nil {
			return nil, buf, err
		}
	}
	if res.records == 0 {
		return nil, buf, os.Remove(path)
	}
	// What we read may have come from the page cache of a process that died
	// before its fsync: make it durable before we build on it.
	if err := f.Sync(); err != nil {
		return nil, buf, err
	}
	return &segment{seq: seq, path: path, start: start, end: res.end, records: res.records, seed: format.seed}, buf, nil
}

// roll seals the active segment (fsync, close) and starts a new one whose
// header and directory entry are durable. Called with mu held.
//
// The new segment is the spare file when there is one: overwriting pages a
// file already has costs the kernel about a third of allocating them for a
// new file and freeing them with the old one (tmpfs: 0.35 against 0.91 s of
// CPU per GB), and that was most of what the buffer cost.
func (b *Buffer) roll() error {
	var errs []error
	if a := b.active; a != nil {
		b.active = nil
		b.stats.Syncs++
		if err := a.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("fsync %s: %w", filepath.Base(a.path), err))
		} else if p := (segPos{a.seq, a.end}); b.synced.before(p) {
			b.synced = p
		}
		if err := a.f.Close(); err != nil {
			errs = append(errs, err)
		}
		a.f = nil
	}
	seq := b.nextSeq
	b.nextSeq++
	path := filepath.Join(b.dir, segmentName(seq))
	seg := &segment{seq: seq, path: path, start: segmentHeaderLen, end: segmentHeaderLen, seed: crcSeed(seq)}
	if b.spare {
		b.spare = false
		seg.reused = os.Rename(filepath.Join(b.dir, spareFile), path) == nil
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if seg.reused {
		flags = os.O_WRONLY
	}
	f, err := os.OpenFile(path, flags, 0o640)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	seg.f = f
	if err := b.initSegment(seg); err != nil {
		f.Close()
		_ = os.Remove(path)
		return errors.Join(append(errs, fmt.Errorf("create %s: %w", filepath.Base(path), err))...)
	}
	b.segs = append(b.segs, seg)
	b.active = seg
	return errors.Join(errs...)
}

// initSegment writes seg's header, and the end mark after it in a reused
// file, and makes them and the file's name durable.
func (b *Buffer) initSegment(seg *segment) error {
	h := segmentHeader(seg.seq)
	if seg.reused {
		h = appendEnd(h, seg.seed)
	}
	if _, err := seg.f.WriteAt(h, 0); err != nil {
		return err
	}
	if err := seg.f.Sync(); err != nil {
		return err
	}
	return syncDir(b.dir)
}

// Append writes records, one batch, to the log. They are read back by Next in
// the order written; a batch is never split across segments. With sync
// "batch" it returns after fsync. It returns ErrFull, having written nothing,
// when the batch would take the unacknowledged data over max_bytes.
//
// Any other error means the records may or may not be stored (a failed write
// is cut off, a failed fsync leaves them to the page cache); the buffer stays
// usable and starts a new segment for the next batch. Records are copied
// before Append returns; the caller keeps ownership.
func (b *Buffer) Append(records [][]byte) error {
	return b.appendRecords(nil, records)
}

// AppendWait is Append that waits for space instead of returning ErrFull:
// the "block" when_full policy. It returns ctx.Err() if ctx ends first.
// Checking for space and waiting happen under one lock, so an Ack that frees
// space between the two cannot be missed.
func (b *Buffer) AppendWait(ctx context.Context, records [][]byte) error {
	return b.appendRecords(ctx, records)
}

// appendRecords waits for space unless ctx is nil.
func (b *Buffer) appendRecords(ctx context.Context, records [][]byte) error {
	var size int64
	for _, r := range records {
		if len(r) > MaxRecordBytes {
			return fmt.Errorf("%w: record of %d bytes, the maximum is %d", ErrTooLarge, len(r), MaxRecordBytes)
		}
		size += int64(len(r))
	}
	enc := func(dst []byte, i int) []byte { return append(dst, records[i]...) }
	return b.append(ctx, Batch{Len: len(records), Bound: size, Encode: enc}, true)
}

// Batch is a group of records for AppendBatch that the buffer encodes
// itself, straight into its write buffer: no copy of the batch is made.
type Batch struct {
	Len int // records
	// Bound is at least the sum of the records' sizes (without framing). The
	// check against max_bytes uses it, before anything is encoded.
	Bound int64
	// Encode appends record i to dst and returns the result. It is called
	// once per record, in order, with the buffer's lock held: it must not
	// call the Buffer.
	Encode func(dst []byte, i int) []byte
	// Memos, if not nil, holds one memo per record (see the package doc,
	// Hand-off). The buffer keeps them until Next hands them out or the
	// reader passes them; what they refer to must not change.
	Memos []any
}

// AppendBatch is AppendWait, or Append when wait is false, for a Batch. A
// batch with memos first waits for a healthy reader to catch up (see the
// package doc, Pacing); when ctx ends, that wait ends and the batch is
// written all the same.
func (b *Buffer) AppendBatch(ctx context.Context, batch Batch, wait bool) error {
	if batch.Memos != nil && len(batch.Memos) != batch.Len {
		return fmt.Errorf("disk buffer: %d memos for %d records", len(batch.Memos), batch.Len)
	}
	return b.append(ctx, batch, wait)
}

// SetReaderFailing says whether the reader's deliveries are failing. While
// they are, writers do not wait for it (see the package doc, Pacing). A
// reader that stops for good should set it, so writers never wait in vain.
func (b *Buffer) SetReaderFailing(failing bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failing == failing {
		return
	}
	b.failing = failing
	if failing {
		b.wakeWriters()
	}
}

// wakeWriters wakes the writers that wait for the reader. Called with mu held.
func (b *Buffer) wakeWriters() {
	if b.readCh != nil {
		close(b.readCh)
		b.readCh = nil
	}
}

// readerBehind says whether a batch of bound bytes must wait for the reader:
// it is healthy and the records it has not taken, with the batch, would be
// over the hand-off bound. A batch goes through when nothing is unread,
// however large. Called with mu held.
func (b *Buffer) readerBehind(bound int64) bool {
	unread := b.appended.bytes - b.handed.bytes
	return !b.failing && unread > 0 && unread+bound > b.handoff
}

// append writes the batch. With ctx, a batch with memos waits for the reader
// first (pace); without ctx, or without wait, a full buffer refuses it with
// ErrFull, and otherwise it waits for space.
func (b *Buffer) append(ctx context.Context, batch Batch, wait bool) error {
	if batch.Len == 0 {
		return nil
	}
	bound := batch.Bound + frameHeaderLen*int64(batch.Len)
	if bound > b.cfg.MaxBytes {
		return fmt.Errorf("%w: batch of up to %d bytes, max_bytes is %d", ErrTooLarge, bound, b.cfg.MaxBytes)
	}
	pace := ctx != nil && batch.Memos != nil
	b.mu.Lock()
	for {
		if b.closed {
			b.mu.Unlock()
			return ErrClosed
		}
		var ch chan struct{}
		switch {
		case pace && b.readerBehind(bound):
			if b.readCh == nil {
				b.readCh = make(chan struct{})
			}
			ch = b.readCh
		case b.appended.bytes-b.acked.bytes+bound <= b.cfg.MaxBytes:
		case ctx == nil || !wait:
			b.stats.Refused += int64(batch.Len)
			b.mu.Unlock()
			return ErrFull
		default:
			if b.spaceCh == nil {
				b.spaceCh = make(chan struct{})
			}
			ch = b.spaceCh
		}
		if ch == nil {
			break
		}
		b.mu.Unlock()
		select {
		case <-ch:
		case <-b.closedCh:
		case <-ctx.Done():
			if !pace {
				return ctx.Err()
			}
			pace = false // stored is better than refused at shutdown
		}
		b.mu.Lock()
	}
	at, err := b.write(batch, bound)
	b.mu.Unlock()
	if err != nil {
		return err
	}
	if b.cfg.Sync == SyncBatch {
		return b.syncTo(at)
	}
	return nil
}

// write frames the batch's records and writes them, and queues their memos,
// if any, for the reader. bound is at least their framed size. Called with
// mu held. It returns the end of the written data.
//
// Records are encoded into a small buffer that is written out whenever it
// holds writeChunk bytes, so that what the kernel copies is still in the CPU
// cache and no write(2) outlasts a tick of the Go scheduler's monitor (20
// µs): a longer one gets its P handed to another thread, and while such
// calls go on the monitor keeps ticking at that rate (with one 800 KB call
// per batch that churn cost more CPU than the copying).
func (b *Buffer) write(batch Batch, bound int64) (segPos, error) {
	a := b.active
	if a == nil || a.broken || (a.end > a.start && a.end+bound > b.cfg.SegmentBytes) {
		if err := b.roll(); err != nil {
			b.log.Error("disk buffer: cannot start a new segment", "err", err)
			if b.active == nil {
				return segPos{}, err
			}
		}
		a = b.active
	}
	var sizes []int32
	if batch.Memos != nil && b.memoSize+bound <= b.handoff {
		sizes = make([]int32, batch.Len)
	}
	b.wbuf = b.wbuf[:0]
	var size int64 // bytes of the batch written so far
	var err error
	for i := range batch.Len {
		at := len(b.wbuf)
		b.wbuf = appendFrame(b.wbuf, a.seed, batch.Encode, i)
		n := len(b.wbuf) - at
		if n-frameHeaderLen > MaxRecordBytes {
			err = fmt.Errorf("%w: record of %d bytes, the maximum is %d", ErrTooLarge, n-frameHeaderLen, MaxRecordBytes)
			break
		}
		if sizes != nil {
			sizes[i] = int32(n)
		}
		last := i == batch.Len-1
		if last && a.reused {
			b.wbuf = appendEnd(b.wbuf, a.seed)
		}
		if len(b.wbuf) >= writeChunk || last {
			if err = b.flushWbuf(a, &size, last && a.reused); err != nil {
				break
			}
		}
	}
	if err == nil && size > bound {
		err = fmt.Errorf("disk buffer: batch of %d bytes over its bound of %d", size, bound)
	}
	if cap(b.wbuf) > 4*writeChunk {
		b.wbuf = nil // a rare huge record must not pin its buffer
	}
	if err != nil {
		// Cut what was written of the batch off, so nothing is ever written
		// after damage, and go on in a new segment (the file offset is past
		// the cut). If the cut fails, the reader still stops at a.end and the
		// next Open cuts the tail.
		if size > 0 {
			a.broken = true
			if terr := a.f.Truncate(a.end); terr != nil {
				err = errors.Join(err, terr)
			}
		}
		return segPos{}, err
	}
	if sizes != nil {
		b.memos = append(b.memos, memoRun{at: segPos{a.seq, a.end}, index: a.records, memos: batch.Memos, sizes: sizes, bytes: size})
		b.memoSize += size
	}
	a.end += size
	a.records += int64(batch.Len)
	b.appended.records += int64(batch.Len)
	b.appended.bytes += size
	if b.dataCh != nil {
		close(b.dataCh)
		b.dataCh = nil
	}
	return segPos{a.seq, a.end}, nil
}

// writeChunk is the size at which write sends its buffer to the file: small
// enough for the CPU cache and for a write(2) into the page cache to take
// well under 20 µs.
const writeChunk = 16 << 10

// flushWbuf writes the write buffer to the active segment a after the *size
// bytes of the batch written before, adds what it wrote to *size (less the
// end mark it ends with if mark), and empties the buffer. Called with mu held.
func (b *Buffer) flushWbuf(a *segment, size *int64, mark bool) error {
	n, err := a.f.WriteAt(b.wbuf, a.end+*size)
	if mark && err == nil {
		n -= frameHeaderLen // the next write starts over it
	}
	*size += int64(n)
	b.wbuf = b.wbuf[:0]
	if err != nil {
		a.broken = true
		return fmt.Errorf("write %s: %w", filepath.Base(a.path), err)
	}
	return nil
}

// syncTo returns once the data before target is on stable storage. Callers
// queue on smu; each fsync covers everything written before it started, so
// the callers behind it usually find their data already synced.
func (b *Buffer) syncTo(target segPos) error {
	b.smu.Lock()
	defer b.smu.Unlock()
	b.mu.Lock()
	if !b.synced.before(target) {
		b.mu.Unlock()
		return nil
	}
	a := b.active
	if a == nil || a.seq != target.seq {
		// The segment was sealed, which fsyncs; since synced is behind, that failed.
		b.mu.Unlock()
		return fmt.Errorf("fsync %s failed when it was sealed", segmentName(target.seq))
	}
	f, cur := a.f, segPos{a.seq, a.end}
	b.mu.Unlock()

	err := f.Sync()

	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats.Syncs++
	switch {
	case err == nil:
		if b.synced.before(cur) {
			b.synced = cur
		}
		return nil
	case errors.Is(err, os.ErrClosed):
		// Sealed or closed meanwhile; both fsync before closing.
		if !b.synced.before(target) {
			return nil
		}
		return fmt.Errorf("fsync %s failed when it was sealed", segmentName(target.seq))
	default:
		a.broken = true // after a failed fsync the kernel may have dropped the pages: start afresh
		return fmt.Errorf("fsync %s: %w", segmentName(target.seq), err)
	}
}

// background fsyncs the active segment every sync_interval (sync
// "interval") and writes the ack file every ack_sync_interval.
func (b *Buffer) background() {
	defer b.wg.Done()
	var syncC, ackC <-chan time.Time
	if b.cfg.Sync == SyncInterval {
		t := time.NewTicker(b.cfg.SyncInterval)
		defer t.Stop()
		syncC = t.C
	}
	if b.cfg.AckSyncInterval > 0 {
		t := time.NewTicker(b.cfg.AckSyncInterval)
		defer t.Stop()
		ackC = t.C
	}
	for {
		select {
		case <-b.stop:
			return
		case <-syncC:
			b.mu.Lock()
			a := b.active
			var target segPos
			if a != nil {
				target = segPos{a.seq, a.end}
			}
			b.mu.Unlock()
			if a == nil || !b.syncedBefore(target) {
				continue
			}
			if err := b.syncTo(target); err != nil {
				b.log.Error("disk buffer fsync failed", "err", err)
			}
		case <-ackC:
			if err := b.persistAck(); err != nil {
				b.log.Error("disk buffer: cannot save the acknowledged position", "err", err)
			}
		}
	}
}

func (b *Buffer) syncedBefore(p segPos) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.synced.before(p)
}

// Next returns the next records after those already handed out, at most
// maxRecords and at most maxBytes of payload (but always at least one
// record), and the Position to pass to Ack once they are delivered. Records
// appended with memos that are still in memory come back as their memos
// instead (see the package doc, Hand-off). One call takes everything that is
// available within the limits, whatever batches it was appended in: records
// read from the file first, then memos (what follows memos in the file waits
// for the next call, so the order is kept). It does not wait for acks:
// several reads can be outstanding. When no record is available it waits
// for one, for ctx to end (ctx.Err()) or for Close (ErrClosed); records
// already available are returned even if ctx has ended. The returned slices
// belong to the caller.
func (b *Buffer) Next(ctx context.Context, maxRecords, maxBytes int) ([][]byte, []any, Position, error) {
	maxRecords = max(maxRecords, 1)
	b.rmu.Lock()
	defer b.rmu.Unlock()
	var (
		out   [][]byte
		memos []any
		size  int
	)
	full := func() bool { return len(out)+len(memos) >= maxRecords || size >= maxBytes }
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, nil, Position{}, ErrClosed
		}
		seg := b.rseg
		end, total := seg.end, seg.records
		memosNext := false
		// Memos the reader passed (it skipped damage) are of no more use.
		for len(b.memos) > 0 && b.memos[0].at.before(segPos{seg.seq, b.roff}) {
			b.dropMemoRun()
		}
		if len(b.memos) > 0 && b.memos[0].at.seq == seg.seq {
			if run := &b.memos[0]; run.at.off == b.roff {
				had, runLen := len(memos), len(run.memos)
				memos, size = b.takeMemos(run, memos, size, maxRecords-len(out)-len(memos), maxBytes, len(out)+len(memos) == 0)
				b.mu.Unlock()
				if len(memos)-had < runLen || full() { // a limit was reached
					return b.handOut(out, memos, seg)
				}
				continue // the next batch's memos, if they follow at once
			}
			// Read the file only up to the memos, then take them.
			end, total, memosNext = b.memos[0].at.off, b.memos[0].index, true
		}
		var next *segment
		for _, s := range b.segs {
			if s.seq > seg.seq {
				next = s
				break
			}
		}
		var wait chan struct{}
		if b.roff >= end && next == nil && len(out)+len(memos) == 0 {
			if b.dataCh == nil {
				b.dataCh = make(chan struct{})
			}
			wait = b.dataCh
		}
		b.mu.Unlock()

		if b.roff < end {
			if len(memos) > 0 {
				return b.handOut(out, memos, seg) // records after memos: the next call reads them
			}
			var err error
			out, size, err = b.read(out, size, seg, end, total, maxRecords, maxBytes)
			if err != nil && len(out) == 0 {
				return nil, nil, Position{}, err
			}
			if err != nil || full() || b.roff < end {
				return b.handOut(out, nil, seg)
			}
			if memosNext {
				continue
			}
			// Read to the end of the segment.
		}
		if next != nil && b.roff >= seg.end {
			b.closeReader()
			b.rseg, b.roff, b.rread = next, next.start, 0
			continue
		}
		if len(out)+len(memos) > 0 {
			return b.handOut(out, memos, seg)
		}
		if wait == nil {
			continue // records were skipped as damaged, or memos follow; look again
		}
		select {
		case <-wait:
		case <-b.closedCh:
		case <-ctx.Done():
			return nil, nil, Position{}, ctx.Err()
		}
	}
}

// takeMemos appends memos from the start of run, which is at the read
// position, to dst, whose records' payloads add up to size, within the
// limits of Next (at least one when first), and moves the reader past their
// records. Called with rmu and mu held.
func (b *Buffer) takeMemos(run *memoRun, dst []any, size, maxRecords, maxBytes int, first bool) ([]any, int) {
	n, framed := 0, int64(0)
	for n < len(run.memos) && n < maxRecords {
		payload := int(run.sizes[n]) - frameHeaderLen
		if (n > 0 || !first) && size+payload > maxBytes {
			break
		}
		size += payload
		framed += int64(run.sizes[n])
		n++
	}
	if dst == nil && n == len(run.memos) {
		dst = run.memos[:n:n] // the common case, one whole batch: no copy
	} else {
		dst = append(dst, run.memos[:n]...)
	}
	if n == len(run.memos) {
		b.dropMemoRun()
	} else {
		run.at.off += framed
		run.index += int64(n)
		run.memos, run.sizes = run.memos[n:], run.sizes[n:]
		run.bytes -= framed
		b.memoSize -= framed
	}
	// The file reader, if open, is no longer at the read position.
	b.closeReader()
	b.roff += framed
	b.rread += int64(n)
	b.rpos.records += int64(n)
	b.rpos.bytes += framed
	return dst, size
}

// dropMemoRun forgets the oldest memo run. Called with mu held.
func (b *Buffer) dropMemoRun() {
	b.memoSize -= b.memos[0].bytes
	b.memos[0] = memoRun{}
	b.memos = b.memos[1:]
}

// handOut records what Next returns. Called with rmu held; seg is where
// the read stopped.
func (b *Buffer) handOut(out [][]byte, memos []any, seg *segment) ([][]byte, []any, Position, error) {
	pos := b.rpos
	pos.seq, pos.off = seg.seq, b.roff
	b.mu.Lock()
	b.handed = pos
	b.wakeWriters()
	b.mu.Unlock()
	return out, memos, pos, nil
}

// read appends records of seg, from roff up to end (where seg had total
// records), to out, whose payloads add up to size. Called with rmu held.
func (b *Buffer) read(out [][]byte, size int, seg *segment, end, total int64, maxRecords, maxBytes int) ([][]byte, int, error) {
	if b.rf == nil {
		f, err := os.Open(seg.path)
		if err == nil {
			_, err = f.Seek(b.roff, io.SeekStart)
			if err != nil {
				f.Close()
			}
		}
		if errors.Is(err, os.ErrNotExist) {
			b.skip(seg, end, total, "segment file missing")
			return out, size, nil
		}
		if err != nil {
			return out, size, fmt.Errorf("open %s: %w", filepath.Base(seg.path), err)
		}
		b.rf = f
		b.rlim = boundedReader{f: f, off: b.roff}
		b.rbr.Reset(&b.rlim)
	}
	b.rlim.limit = end
	if out == nil {
		out = make([][]byte, 0, min(maxRecords, 1024))
	}
	for b.roff < end && len(out) < maxRecords && (len(out) == 0 || size < maxBytes) {
		if len(out) > 0 {
			if h, err := b.rbr.Peek(frameHeaderLen); err == nil && size+int(binary.LittleEndian.Uint32(h)) > maxBytes {
				break
			}
		}
		// One allocation per record: small allocations are cheaper than
		// carving from shared slabs (measured), and a record can be freed
		// on its own.
		p, err := readFrame(b.rbr, b.roff, end, nil, seg.seed)
		if errors.Is(err, errBadRecord) || errors.Is(err, errEnd) { // no end mark comes before end
			b.skip(seg, end, total, "damaged record")
			return out, size, nil
		}
		if err != nil {
			b.closeReader() // reopen and seek on the next call
			return out, size, fmt.Errorf("read %s: %w", filepath.Base(seg.path), err)
		}
		out = append(out, p)
		size += len(p)
		framed := frameHeaderLen + int64(len(p))
		b.roff += framed
		b.rread++
		b.rpos.records++
		b.rpos.bytes += framed
	}
	return out, size, nil
}

// skip gives up the rest of seg up to end: damage found after Open. The
// records there count as read, so that acks and stats stay right.
func (b *Buffer) skip(seg *segment, end, total int64, why string) {
	cut := end - b.roff
	b.log.Error("disk buffer: "+why+"; rest of segment skipped", "segment", filepath.Base(seg.path),
		"offset", b.roff, "bytes_skipped", cut)
	b.rpos.records += max(total-b.rread, 0)
	b.rpos.bytes += cut
	b.rread = total
	b.roff = end
	b.closeReader()
	b.mu.Lock()
	b.stats.CorruptRecords++
	b.stats.CorruptBytes += cut
	// Skipped counts as handed out, so pace does not wait for it.
	b.handed = b.rpos
	b.handed.seq, b.handed.off = seg.seq, end
	b.wakeWriters()
	b.mu.Unlock()
}

func (b *Buffer) closeReader() {
	if b.rf != nil {
		b.rf.Close()
		b.rf = nil
		b.rlim = boundedReader{}
		b.rbr.Reset(nil)
	}
}

// boundedReader reads f from off up to limit, the end of what the writer has
// written, never beyond: a reused segment file holds its previous use's
// bytes past that end, and a read-ahead buffer that took them in would hand
// them to the reader as damaged records once the writer had overwritten
// them on disk.
type boundedReader struct {
	f          *os.File
	off, limit int64
}

func (r *boundedReader) Read(p []byte) (int, error) {
	if r.off >= r.limit {
		return 0, io.EOF
	}
	if rest := r.limit - r.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.f.Read(p)
	r.off += int64(n)
	return n, err
}

// Ack marks every record up to pos (from Next) as delivered. Acks must come
// in the order of the Positions; an older one than the last is ignored.
// Segments that are entirely acknowledged are deleted, which frees space for
// AppendWait. The position is saved within ack_sync_interval (at once when
// it is 0, and on Close).
func (b *Buffer) Ack(pos Position) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	if pos.bytes <= b.acked.bytes {
		b.mu.Unlock()
		return nil
	}
	if pos.bytes > b.handed.bytes {
		b.mu.Unlock()
		return fmt.Errorf("disk buffer: ack of %s beyond what was read (%s)", pos, b.handed)
	}
	b.acked = pos
	b.ackDirty = true
	var dead []string
	i := 0
	for ; i < len(b.segs); i++ {
		s := b.segs[i]
		if s == b.active || s.seq > pos.seq || s.seq == pos.seq && pos.off < s.end {
			break
		}
		dead = append(dead, s.path)
	}
	b.segs = slices.Delete(b.segs, 0, i)
	if len(dead) > 0 && !b.spare {
		// Kept for reuse by roll. Under mu, so that roll sees the file when
		// it sees the flag.
		if err := os.Rename(dead[0], filepath.Join(b.dir, spareFile)); err == nil {
			b.spare = true
			dead = dead[1:]
		}
	}
	if b.spaceCh != nil {
		close(b.spaceCh)
		b.spaceCh = nil
	}
	b.mu.Unlock()
	// Deleting before the ack file is written is safe: at Open, a missing
	// segment is one that was entirely acknowledged.
	for _, p := range dead {
		if err := os.Remove(p); err != nil {
			b.log.Warn("disk buffer: cannot delete acknowledged segment", "segment", filepath.Base(p), "err", err)
		}
	}
	if b.cfg.AckSyncInterval == 0 {
		return b.persistAck()
	}
	return nil
}

// persistAck writes the acknowledged position if it changed.
func (b *Buffer) persistAck() error {
	b.amu.Lock()
	defer b.amu.Unlock()
	b.mu.Lock()
	if !b.ackDirty {
		b.mu.Unlock()
		return nil
	}
	st := ackState{seq: b.acked.seq, off: b.acked.off}
	b.ackDirty = false
	b.mu.Unlock()
	if err := writeFileAtomic(b.dir, ackFile, ackTempFile, encodeAck(st)); err != nil {
		b.mu.Lock()
		b.ackDirty = true
		b.mu.Unlock()
		return fmt.Errorf("write ack: %w", err)
	}
	return nil
}

// Stats returns a snapshot; it is cheap enough for a metrics scrape.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Segments = len(b.segs)
	for _, seg := range b.segs {
		s.DiskBytes += seg.end
	}
	s.UnackedRecords = b.appended.records - b.acked.records
	s.UnackedBytes = b.appended.bytes - b.acked.bytes
	return s
}

// Close fsyncs the active segment, saves the acknowledged position, and
// releases the directory. Waiting Next and AppendWait calls return ErrClosed.
// Records not acknowledged stay on disk for the next Open.
func (b *Buffer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closedCh)
	b.memos, b.memoSize = nil, 0
	b.mu.Unlock()

	close(b.stop)
	b.wg.Wait()
	b.rmu.Lock()
	b.closeReader()
	b.rmu.Unlock()

	var errs []error
	b.smu.Lock()
	b.mu.Lock()
	if a := b.active; a != nil {
		b.active = nil
		b.stats.Syncs++
		if err := a.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("fsync %s: %w", filepath.Base(a.path), err))
		} else if p := (segPos{a.seq, a.end}); b.synced.before(p) {
			b.synced = p
		}
		errs = append(errs, a.f.Close())
		a.f = nil
	}
	b.mu.Unlock()
	b.smu.Unlock()
	errs = append(errs, b.persistAck())
	s := b.Stats()
	errs = append(errs, b.lock.Close())
	b.log.Info("disk buffer closed", "dir", b.dir, "unacked_records", s.UnackedRecords, "unacked_bytes", s.UnackedBytes)
	return errors.Join(errs...)
}
