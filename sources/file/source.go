// Package file tails log files and sends their lines downstream, saving
// only offsets that the pipeline acknowledged, so that nothing is lost
// across a crash or restart (at most what was in flight is read twice).
//
//	scanner (Run's goroutine): every rescan_interval, glob → stat → new file?
//	    │   fingerprint → offsets entry (resume) or start_at → start a tailer
//	    └─ every commit_interval: write the acknowledged offsets atomically
//	tailer (one goroutine per open file, at most max_open_files):
//	    ReadAt 256 KiB → split lines (bytes.IndexByte) → batch → out (blocks: backpressure)
//	    at EOF: poll_interval → truncated? rotated? deleted? grown?
//	ack (sink goroutines, any order): mark the batch's byte range done;
//	    the saved offset is the end of the longest acknowledged prefix.
//
// Files are known by identity, not by name: a SHA-256 of their first
// fingerprint_bytes bytes. A renamed file keeps its open descriptor and is
// read to its end before it is closed; a truncated file (copytruncate) is
// read again from 0; a deleted file is drained and then closed.
package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"siemfwd/internal/fileid"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// Source tails the files that its globs match. Start takes the state
// directory's lock and loads the offsets; Run reads.
type Source struct {
	name string
	cfg  Config
	log  *slog.Logger
	loc  *time.Location
	m    sourceMetrics
	reg  *registry
	wake waker // kicks the scanner and every tailer at once (tests)

	released chan struct{} // a tailer let go of a file: a slot is free, rescan

	// mu guards the fields below. It is never held while calling the registry.
	mu          sync.Mutex
	lock        *dirLock
	opened      bool
	closed      bool
	open        map[fileID]*tailer
	busyWarned  map[fileID]bool
	limitWarned bool
	commitErr   string // the last save error logged, so a full disk is logged once
}

// sourceMetrics are the collectors of one source, curried with its name once.
type sourceMetrics struct {
	received      prometheus.Counter
	receivedBytes prometheus.Counter
	split         prometheus.Counter // pieces of lines longer than max_line_bytes
}

// fileID is a file's device and inode. It tells open files apart (an open
// descriptor pins its inode, so it cannot be reused meanwhile); across
// closes and restarts the fingerprint does that.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	id, _ := fileid.Of(fi)
	return fileID{dev: id.Dev, ino: id.Ino}
}

// New checks cfg and prepares a source called name; it opens nothing.
func New(name string, cfg Config, log *slog.Logger, m *metrics.Metrics) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err) // Validate loaded it already
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stateFile := filepath.Join(cfg.StateDir, safeName(name)+".offsets.json")
	return &Source{
		name: name,
		cfg:  cfg,
		log:  log.With("component", "source", "source", name),
		loc:  loc,
		m: sourceMetrics{
			received:      m.SourceReceived.WithLabelValues(name),
			receivedBytes: m.SourceReceivedBytes.WithLabelValues(name),
			split:         m.SourceTruncated.WithLabelValues(name),
		},
		reg:        newRegistry(stateFile, cfg.FingerprintBytes, time.Now),
		released:   make(chan struct{}, 1),
		open:       map[fileID]*tailer{},
		busyWarned: map[fileID]bool{},
	}, nil
}

// safeName makes a source name usable as a file name.
func safeName(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, name)
}

// Name returns the configured source name.
func (s *Source) Name() string { return s.name }

// Start creates the state directory if needed, locks it against a second
// siemfwd and loads the saved offsets, so that a locked state directory
// fails the start. Calling it again does nothing; Run calls it if nobody
// did. An offsets file that is missing or corrupt is logged, and files then
// start as start_at says.
func (s *Source) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("source closed")
	}
	if s.opened {
		return nil
	}
	if err := os.MkdirAll(s.cfg.StateDir, 0o755); err != nil {
		return fmt.Errorf("state_dir: %w", err)
	}
	lock, err := lockDir(s.cfg.StateDir, safeName(s.name)+".lock")
	if err != nil {
		return err
	}
	if err := s.reg.load(); errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("no offsets file; files start as start_at says", "file", s.reg.file, "start_at", s.cfg.StartAt)
	} else if err != nil {
		s.log.Warn("offsets file unusable; files start as start_at says", "file", s.reg.file, "start_at", s.cfg.StartAt, "err", err)
	}
	s.lock, s.opened = lock, true
	return nil
}

// Close releases the lock: that of a source whose Run was never called
// (another component failed to start). Run releases it itself when it
// ends, so after Run there is nothing left to release.
func (s *Source) Close(context.Context) error { return s.release() }

// release unlocks the state directory; the source cannot start again.
func (s *Source) release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.lock == nil {
		return nil
	}
	err := s.lock.unlock()
	s.lock = nil
	return err
}

// Run reads until ctx is done. Then it stops reading, waits up to
// drain_timeout for the acknowledgements of what it sent, saves the
// acknowledged offsets, releases the lock and returns. It never sends on
// out after it returns. It returns an error only when it could not start or
// could not save the offsets at the end. Run is called once.
func (s *Source) Run(ctx context.Context, out chan<- pipeline.Batch) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer s.release()
	s.log.Info("started", "paths", s.cfg.Paths, "state_file", s.reg.file)

	var tailers sync.WaitGroup
	rescan := time.NewTicker(s.cfg.RescanInterval)
	defer rescan.Stop()
	commit := time.NewTicker(s.cfg.CommitInterval)
	defer commit.Stop()
	first, scan := true, true
loop:
	for {
		wake := s.wake.C()
		if scan {
			s.scan(ctx, out, first, &tailers)
			first, scan = false, false
		}
		select {
		case <-ctx.Done():
			break loop
		case <-rescan.C:
			scan = true
		case <-s.released:
			scan = true
		case <-wake:
			scan = true
			s.commit(false)
		case <-commit.C:
			s.commit(false)
		}
	}

	s.log.Info("draining", "timeout", s.cfg.DrainTimeout)
	tailers.Wait()
	if !s.reg.waitIdle(s.cfg.DrainTimeout) {
		inflight, _ := s.reg.counts()
		s.log.Warn("drain timeout: batches not acknowledged; their lines are read again at the next start",
			"batches", inflight)
	}
	err := s.commit(true)
	inflight, undelivered := s.reg.counts()
	s.log.Info("stopped", "unacknowledged_batches", inflight, "undelivered_batches", undelivered)
	return err
}

// commit saves the acknowledged offsets if they changed (always if force).
// A failure is logged when it first happens and retried at the next commit.
func (s *Source) commit(force bool) error {
	err := s.reg.save(s.cfg.ForgetAfter, force)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	s.mu.Lock()
	changed := msg != s.commitErr
	s.commitErr = msg
	s.mu.Unlock()
	switch {
	case err != nil && changed:
		s.log.Warn("saving offsets failed; retrying", "file", s.reg.file, "err", err)
	case err == nil && changed:
		s.log.Info("saving offsets works again", "file", s.reg.file)
	}
	if err != nil {
		return fmt.Errorf("save offsets: %w", err)
	}
	return nil
}

// match returns the paths the globs match, less the excluded ones, sorted.
func (s *Source) match() []string {
	seen := map[string]bool{}
	var paths []string
	for _, g := range s.cfg.Paths {
		ms, _ := filepath.Glob(g) // the only error is a bad pattern, which Validate rejects
		for _, p := range ms {
			if !seen[p] && !s.excluded(p) {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	sort.Strings(paths)
	return paths
}

// excluded reports whether an exclude glob matches p, or its base name when
// the glob has no "/".
func (s *Source) excluded(p string) bool {
	for _, x := range s.cfg.Exclude {
		if ok, _ := filepath.Match(x, p); ok {
			return true
		}
		if !strings.Contains(x, "/") {
			if ok, _ := filepath.Match(x, filepath.Base(p)); ok {
				return true
			}
		}
	}
	return false
}

// scan opens every matched file that is not open yet, up to max_open_files.
func (s *Source) scan(ctx context.Context, out chan<- pipeline.Batch, first bool, tailers *sync.WaitGroup) {
	for _, p := range s.match() {
		if ctx.Err() != nil {
			return
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		id := idOf(fi)
		s.mu.Lock()
		_, isOpen := s.open[id]
		full := len(s.open) >= s.cfg.MaxOpenFiles
		warn := full && !s.limitWarned
		if warn {
			s.limitWarned = true
		}
		s.mu.Unlock()
		if isOpen {
			continue
		}
		if full {
			if warn {
				s.log.Warn("max_open_files reached; more files wait until one is released",
					"max_open_files", s.cfg.MaxOpenFiles)
			}
			return
		}
		s.openFile(ctx, out, p, first, tailers)
	}
}

// openFile opens path, finds or makes its identity and starts its tailer.
func (s *Source) openFile(ctx context.Context, out chan<- pipeline.Batch, path string, first bool, tailers *sync.WaitGroup) {
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("cannot open file", "path", path, "err", err)
		}
		return
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return
	}
	id := idOf(fi)
	s.mu.Lock()
	_, isOpen := s.open[id] // e.g. a symlink to an open file
	s.mu.Unlock()
	if isOpen {
		f.Close()
		return
	}
	head, err := readHead(f, fi.Size(), s.cfg.FingerprintBytes)
	if err != nil {
		s.log.Warn("cannot read file", "path", path, "err", err)
		f.Close()
		return
	}
	e, err := s.reg.claim(head, id.dev, id.ino, fi.Size(), path, first && s.cfg.StartAt == StartAtEnd)
	if err != nil {
		f.Close()
		s.mu.Lock()
		warn := !s.busyWarned[id]
		s.busyWarned[id] = true
		s.mu.Unlock()
		if warn {
			s.log.Warn("file has the same first bytes as another file being read; waiting until that one is released "+
				"(raise fingerprint_bytes if they are different files)", "path", path, "fingerprint_bytes", s.cfg.FingerprintBytes)
		}
		return
	}
	t := s.newTailer(f, path, id, e)
	s.mu.Lock()
	delete(s.busyWarned, id)
	s.open[id] = t
	s.mu.Unlock()
	s.log.Info("reading file", "path", path, "offset", t.off, "size", fi.Size(), "log", t.origin.Log)
	tailers.Go(func() {
		gone, released := t.run(ctx, out)
		f.Close()
		s.mu.Lock()
		delete(s.open, id)
		s.mu.Unlock()
		if released {
			s.reg.release(t.ent, gone)
			select {
			case s.released <- struct{}{}:
			default:
			}
		}
	})
}

// openFiles returns how many files are open (tests).
func (s *Source) openFiles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// readHead reads the first min(size, n) bytes of f: what its fingerprint covers.
func readHead(f *os.File, size int64, n int) ([]byte, error) {
	head := make([]byte, min(size, int64(n)))
	k, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:k], nil // shorter when the file shrank meanwhile
}

// waker wakes every waiter at once: each takes C before it looks for work
// and waits on it after, so a Kick after a change is never missed. The
// scanner and the tailers wait on it beside their tickers; tests kick it
// instead of waiting for an interval.
type waker struct {
	mu sync.Mutex
	ch chan struct{}
}

func (w *waker) C() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *waker) Kick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// Interface guard.
var _ pipeline.Source = (*Source)(nil)
