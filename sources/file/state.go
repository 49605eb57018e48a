package file

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"siemfwd/internal/flock"
	"siemfwd/pipeline"
)

// errBusy says that a file's identity is held by another open file (or
// still has batches in flight from an earlier one); the scanner tries again
// at its next scan.
var errBusy = errors.New("identity in use")

// entry is one file identity, recognised by its fingerprint: a SHA-256 of
// its first fpLen bytes. fpLen is fingerprint_bytes once the file has that
// many bytes; before that the fingerprint covers what there is, and the
// entry also needs the same device and inode to match (a few bytes alone
// say too little). The inode alone is never enough: inodes are reused.
//
// An entry also tracks delivery: the batches sent from the file, in order,
// each a byte range that ends where the next starts. committed is the end of
// the longest prefix of them that was acknowledged; only committed is saved,
// so a restart re-reads what was in flight and never skips it.
//
// Every field is guarded by registry.mu.
type entry struct {
	sum   [sha256.Size]byte
	fpLen int
	dev   uint64
	ino   uint64
	path  string
	// stream is the identity in the event ids of the file's lines (see
	// pipeline.FileScope): fixed when the entry is made, saved with it,
	// and new when the file's content is replaced, so that a line re-read
	// after a restart keeps its id and a new line at an old offset does not.
	stream string
	size   int64     // last size seen
	seen   time.Time // last time a scan or a poll saw the file
	owned  bool      // an open file reads into this entry
	gone   bool      // the file was deleted; forget it once nothing is in flight

	committed int64 // end of the contiguous acknowledged prefix: the saved offset
	readOff   int64 // end of the last range sent: where a new reader resumes
	head      uint64
	ranges    []span // in send order; ranges[i] has sequence number head+i
	pending   int    // batches sent and not yet acknowledged either way
	stuck     bool   // a batch was not delivered: committed stays put in this run
}

// span is one sent batch: the end of its byte range and whether its ack came.
type span struct {
	end  int64
	done bool
}

// registry holds every known identity, its delivery state and the offsets
// file. Acks arrive on sink goroutines in any order; the tailers, the scanner
// and the saver call in too, so every method locks mu. Nothing is called
// with mu held, so there is no lock order to keep.
type registry struct {
	fpBytes int
	file    string // the offsets file
	now     func() time.Time

	mu          sync.Mutex
	entries     map[*entry]struct{}
	inflight    int           // batches sent and not acknowledged, over all entries
	idle        chan struct{} // closed when inflight drops to 0, if someone waits
	dirty       bool          // something to save
	undelivered int           // batches acknowledged with an error other than ErrDropped
}

func newRegistry(file string, fpBytes int, now func() time.Time) *registry {
	return &registry{fpBytes: fpBytes, file: file, now: now, entries: map[*entry]struct{}{}}
}

// key names an entry in the offsets file: its fingerprint, plus device and
// inode while the fingerprint is short (it only matches with them).
func (r *registry) key(e *entry) string {
	h := hex.EncodeToString(e.sum[:])
	if e.fpLen >= r.fpBytes {
		return h
	}
	return h + "-" + strconv.Itoa(e.fpLen) + "-" + strconv.FormatUint(e.dev, 10) + "-" + strconv.FormatUint(e.ino, 10)
}

// claim finds the entry of a file being opened, or makes one, and marks it
// owned. head is the file's first min(size, fpBytes) bytes. A new entry
// starts at 0, or at size when atEnd. It returns errBusy when the identity
// is owned by another open file, or when it has batches in flight and its
// offset lies past the end of this file.
func (r *registry) claim(head []byte, dev, ino uint64, size int64, path string, atEnd bool) (*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var found *entry
	if len(head) >= r.fpBytes {
		sum := sha256.Sum256(head[:r.fpBytes])
		for e := range r.entries {
			if e.fpLen != r.fpBytes || e.sum != sum {
				continue
			}
			// An owned twin wins (the caller waits for it to be let go);
			// among the others, the one seen last.
			if found == nil || (e.owned && !found.owned) || (e.owned == found.owned && e.seen.After(found.seen)) {
				found = e
			}
		}
	}
	if found == nil {
		for e := range r.entries {
			if e.fpLen < r.fpBytes && e.dev == dev && e.ino == ino && e.fpLen <= len(head) &&
				sha256.Sum256(head[:e.fpLen]) == e.sum {
				found = e
				break
			}
		}
	}
	if found != nil {
		if found.owned {
			return nil, errBusy
		}
		if found.readOff > size {
			// The same first bytes but shorter than where reading got to:
			// truncated and rewritten while nobody watched. Read it all.
			if found.pending > 0 {
				return nil, errBusy
			}
			found.committed, found.readOff, found.ranges, found.stuck = 0, 0, nil, false
			found.stream = nextStream(found.stream, found.size)
		}
	} else {
		found = &entry{stream: newStream(head, dev, ino)}
		if atEnd {
			found.committed, found.readOff = size, size
		}
		r.entries[found] = struct{}{}
	}
	found.owned, found.gone = true, false
	found.dev, found.ino, found.path, found.size, found.seen = dev, ino, path, size, now
	found.sum, found.fpLen = sha256.Sum256(head), len(head)
	r.dirty = true
	return found, nil
}

// restart gives an open file whose content was replaced (truncated, or
// rewritten in place) a new identity; the old one keeps its ranges in flight.
func (r *registry) restart(old *entry, head []byte) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	old.owned = false
	e := &entry{owned: true, dev: old.dev, ino: old.ino, path: old.path, seen: r.now(),
		sum: sha256.Sum256(head), fpLen: len(head), size: int64(len(head)), stream: nextStream(old.stream, old.size)}
	r.entries[e] = struct{}{}
	r.dirty = true
	return e
}

// newStream is the id stream of a file seen for the first time: its first
// bytes (as many as the fingerprint covers now), device and inode. A file
// re-read from the start after a crash, before its entry was saved, gets
// the same one as long as it was not shorter than fingerprint_bytes then.
func newStream(head []byte, dev, ino uint64) string {
	sum := sha256.Sum256(head)
	return hex.EncodeToString(sum[:16]) + "-" + strconv.Itoa(len(head)) + "-" +
		strconv.FormatUint(dev, 10) + "-" + strconv.FormatUint(ino, 10)
}

// nextStream is the id stream of a file whose content replaced the one
// that had stream prev (truncated or rewritten, last seen at size): derived
// from prev, so it is new, and the same when done again from the same state.
func nextStream(prev string, size int64) string {
	sum := sha256.Sum256([]byte(prev + "/" + strconv.FormatInt(size, 10)))
	return hex.EncodeToString(sum[:16])
}

// stream returns the entry's id stream.
func (r *registry) stream(e *entry) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return e.stream
}

// observe records what a poll of an open file saw: its size and, when it
// grew past a short fingerprint, its longer fingerprint.
func (r *registry) observe(e *entry, size int64, head []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.size, e.seen = size, r.now()
	if head != nil && len(head) > e.fpLen {
		e.sum, e.fpLen = sha256.Sum256(head), len(head)
		r.dirty = true
	}
}

// fingerprint returns the entry's fingerprint length and sum.
func (r *registry) fingerprint(e *entry) (int, [sha256.Size]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return e.fpLen, e.sum
}

// release lets go of an entry whose file was closed; gone says the file was
// deleted, so its offsets can be forgotten once its batches are acknowledged.
func (r *registry) release(e *entry, gone bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.owned, e.gone = false, gone
	r.dirty = true
}

// register records a batch about to be sent: the range from the end of the
// previous one up to end. It returns the batch's sequence number for ack.
func (r *registry) register(e *entry, end int64) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := e.head + uint64(len(e.ranges))
	if !e.stuck {
		e.ranges = append(e.ranges, span{end: end})
	}
	e.readOff = end
	e.seen = r.now()
	e.pending++
	r.inflight++
	return seq
}

// unregister takes back the last registered batch, which was never sent
// (shutdown while waiting for room in the queue). start is where it began.
func (r *registry) unregister(e *entry, start int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !e.stuck && len(e.ranges) > 0 {
		e.ranges = e.ranges[:len(e.ranges)-1]
	}
	e.readOff = start
	e.pending--
	r.inflight--
	r.signalIdleLocked()
}

// ack records the outcome of batch seq. Delivered (nil) and dropped by the
// operator's when_full policy both count as done; any other error means the
// batch was not delivered, and the offset must not pass it in this run.
func (r *registry) ack(e *entry, seq uint64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.pending--
	r.inflight--
	defer r.signalIdleLocked()
	if err != nil && !errors.Is(err, pipeline.ErrDropped) {
		r.undelivered++
		// Ranges behind this one can never be committed now; stop keeping them.
		e.stuck, e.ranges = true, nil
		return
	}
	if e.stuck || seq < e.head {
		return
	}
	i := int(seq - e.head)
	if i >= len(e.ranges) {
		return
	}
	e.ranges[i].done = true
	n := 0
	for n < len(e.ranges) && e.ranges[n].done {
		e.committed = e.ranges[n].end
		n++
	}
	if n > 0 {
		e.ranges = e.ranges[n:]
		e.head += uint64(n)
		r.dirty = true
	}
}

func (r *registry) signalIdleLocked() {
	if r.inflight == 0 && r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
}

// waitIdle waits until every sent batch is acknowledged or timeout passes,
// and reports whether all were.
func (r *registry) waitIdle(timeout time.Duration) bool {
	r.mu.Lock()
	if r.inflight == 0 {
		r.mu.Unlock()
		return true
	}
	if r.idle == nil {
		r.idle = make(chan struct{})
	}
	idle := r.idle
	r.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}

// counts returns the batches in flight and those acknowledged with an error.
func (r *registry) counts() (inflight, undelivered int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight, r.undelivered
}

// stateFile is the offsets file: one record per identity, keyed by fingerprint.
type stateFile struct {
	Version int                   `json:"version"`
	Files   map[string]fileRecord `json:"files"`
}

type fileRecord struct {
	Path           string    `json:"path"`
	Offset         int64     `json:"offset"` // acknowledged: everything before it was delivered
	Size           int64     `json:"size"`   // last size seen
	Seen           time.Time `json:"seen"`   // last time the file was seen
	Fingerprint    string    `json:"fingerprint"`
	FingerprintLen int       `json:"fingerprint_len"`
	Dev            uint64    `json:"dev"`
	Inode          uint64    `json:"inode"`
	// Stream is the entry's id stream; files saved before it existed get
	// the one of the key they were saved under.
	Stream string `json:"stream,omitempty"`
}

const stateVersion = 1

// load reads the offsets file into the registry. A missing or unreadable
// file is reported to the caller, who logs it and starts from start_at; a
// corrupt one is also renamed aside so that it can be inspected.
func (r *registry) load() error {
	b, err := os.ReadFile(r.file)
	if err != nil {
		return err
	}
	entries, err := parseState(b)
	if err != nil {
		aside := r.file + ".corrupt"
		if rerr := os.Rename(r.file, aside); rerr == nil {
			return fmt.Errorf("corrupt (kept as %s): %w", aside, err)
		}
		return fmt.Errorf("corrupt: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range entries {
		r.entries[e] = struct{}{}
	}
	return nil
}

// parseState decodes an offsets file; any bad record makes the whole file bad.
func parseState(b []byte) ([]*entry, error) {
	var sf stateFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, err
	}
	if sf.Version != stateVersion {
		return nil, fmt.Errorf("unknown version %d", sf.Version)
	}
	entries := make([]*entry, 0, len(sf.Files))
	for k, rec := range sf.Files {
		sum, err := hex.DecodeString(rec.Fingerprint)
		if err != nil || len(sum) != sha256.Size || rec.FingerprintLen < 0 || rec.Offset < 0 {
			return nil, fmt.Errorf("bad record %q", k)
		}
		e := &entry{fpLen: rec.FingerprintLen, dev: rec.Dev, ino: rec.Inode, path: rec.Path,
			size: rec.Size, seen: rec.Seen, committed: rec.Offset, readOff: rec.Offset, stream: rec.Stream}
		if e.stream == "" {
			e.stream = k
		}
		copy(e.sum[:], sum)
		entries = append(entries, e)
	}
	return entries, nil
}

// snapshot returns what to save, forgetting deleted files with nothing in
// flight and files nobody has seen for forgetAfter. Two entries with one key
// (two copies of a file) keep the owned or most recently seen one.
func (r *registry) snapshot(forgetAfter time.Duration) (stateFile, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	sf := stateFile{Version: stateVersion, Files: make(map[string]fileRecord, len(r.entries))}
	chosen := map[string]*entry{}
	for e := range r.entries {
		if !e.owned && e.pending == 0 && (e.gone || now.Sub(e.seen) > forgetAfter) {
			delete(r.entries, e)
			continue
		}
		k := r.key(e)
		if c, ok := chosen[k]; ok && (c.owned || (!e.owned && c.seen.After(e.seen))) {
			continue
		}
		chosen[k] = e
		sf.Files[k] = fileRecord{Path: e.path, Offset: e.committed, Size: e.size, Seen: e.seen.UTC(),
			Fingerprint: hex.EncodeToString(e.sum[:]), FingerprintLen: e.fpLen, Dev: e.dev, Inode: e.ino, Stream: e.stream}
	}
	dirty := r.dirty
	r.dirty = false
	return sf, dirty
}

// save writes the offsets file atomically: a temporary file, fsync, rename
// over the old one, fsync of the directory. A crash leaves the old file or
// the new one, never a mix. force saves even when nothing changed.
func (r *registry) save(forgetAfter time.Duration, force bool) error {
	sf, dirty := r.snapshot(forgetAfter)
	if !dirty && !force {
		return nil
	}
	b, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(r.file, b); err != nil {
		r.mu.Lock()
		r.dirty = true // try again next time
		r.mu.Unlock()
		return err
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// dirLock is an exclusive flock on a file in the state directory, so that
// two processes never read and commit the same offsets. The kernel drops
// it when the process dies, so a crash leaves no stale lock.
type dirLock struct{ f *os.File }

func lockDir(dir, file string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, file), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("state_dir %s: %w", dir, err)
	}
	if busy, err := flock.TryLock(f); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if busy {
			pid := string(trimSpace(b[:n]))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("state_dir %s is in use by another siemfwd (pid %s)", dir, pid)
		}
		return nil, fmt.Errorf("state_dir %s: lock: %w", dir, err)
	}
	// Say who holds it, for the message of whoever tries next.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) unlock() error {
	// Closing the descriptor releases the flock. The file stays: removing
	// it would let a second process lock a new file while a third still
	// holds the old one.
	return l.f.Close()
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}
