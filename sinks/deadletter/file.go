// Package deadletter stores events that a sink refused for good (a mapping
// conflict, a record over the size limit), with the reason, so that nothing a
// sink rejects is lost silently. The file destination lives here; the Kafka
// and Elasticsearch sinks bring their own.
package deadletter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unsafe"

	"siemfwd/ecs"
	"siemfwd/internal/confcheck"
	"siemfwd/pipeline"
)

// Config of a dead-letter file.
type Config struct {
	// Path of the NDJSON file; created with its directory when missing, appended to otherwise.
	Path string `mapstructure:"path"`
	// MaxBytes bounds the file; once it is reached further dead letters fail
	// (and are logged and counted as failed by the sink loop) instead of filling the disk.
	MaxBytes int64 `mapstructure:"max_bytes"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{MaxBytes: 1 << 30} }

// Validate reports every problem with its key.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if c.Path == "" {
		errs.Add("path", "required")
	}
	if c.MaxBytes <= 0 {
		errs.Add("max_bytes", "must be > 0, got %d", c.MaxBytes)
	}
	return errs.Err()
}

// File appends one JSON line per refused event:
//
//	{"@timestamp":"…","siemfwd":{"sink":"es","error":"…"},"event":{"original":"…"},"document":{…}}
//
// document is the ECS document the sink refused, as it was encoded.
// Lines are written and synced before DeadLetter returns.
type File struct {
	cfg  Config
	now  func() time.Time
	mu   sync.Mutex
	f    *os.File
	size int64
	buf  []byte
}

// NewFile prepares the dead-letter file; Start opens it.
func NewFile(cfg Config) *File {
	return &File{cfg: cfg, now: time.Now}
}

// Start opens (or creates) the file, and its directory, for appending.
func (d *File) Start(context.Context) error {
	if err := os.MkdirAll(filepath.Dir(d.cfg.Path), 0o750); err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	f, err := os.OpenFile(d.cfg.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("dead-letter file: %w", err)
	}
	d.mu.Lock()
	d.f, d.size = f, st.Size()
	d.mu.Unlock()
	return nil
}

// ErrFull is returned once the file reached MaxBytes.
var ErrFull = errors.New("dead-letter file is full")

// DeadLetter appends the events and syncs the file.
func (d *File) DeadLetter(_ context.Context, sink string, events []*pipeline.Event, reason error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := bufio.NewWriter(d.f)
	var n int64
	now := d.now()
	for _, ev := range events {
		d.buf = d.entry(d.buf[:0], now, sink, ev, reason)
		if d.size+n+int64(len(d.buf)) > d.cfg.MaxBytes {
			w.Flush()
			d.size += n
			return fmt.Errorf("%w (%s, max_bytes %d)", ErrFull, d.cfg.Path, d.cfg.MaxBytes)
		}
		w.Write(d.buf)
		n += int64(len(d.buf))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	d.size += n
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	return nil
}

func (d *File) entry(dst []byte, now time.Time, sink string, ev *pipeline.Event, reason error) []byte {
	dst = append(dst, `{"@timestamp":"`...)
	dst = ecs.AppendTime(dst, now)
	dst = append(dst, `","siemfwd":{"sink":`...)
	dst = ecs.AppendString(dst, sink)
	dst = append(dst, `,"error":`...)
	dst = ecs.AppendString(dst, reason.Error())
	dst = append(dst, `},"event":{"original":`...)
	dst = ecs.AppendString(dst, unsafe.String(unsafe.SliceData(ev.Raw), len(ev.Raw)))
	dst = append(dst, '}')
	if len(ev.JSON) > 0 {
		dst = append(dst, `,"document":`...)
		dst = append(dst, ev.JSON...)
	}
	return append(dst, '}', '\n')
}

// Close closes the file (every DeadLetter call synced what it wrote).
func (d *File) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	return d.f.Close()
}

var (
	_ pipeline.DeadLetter = (*File)(nil)
	_ pipeline.Component  = (*File)(nil)
)
