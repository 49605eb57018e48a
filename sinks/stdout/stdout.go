// Package stdout writes events as NDJSON (one ECS JSON document per line) to
// an io.Writer, normally the process's standard output.
package stdout

import (
	"context"
	"fmt"
	"io"
	"os"

	"siemfwd/pipeline"
)

// Config of the stdout sink. It has no keys of its own beyond the common sink keys.
type Config struct{}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{} }

// Validate reports problems; there are none to find.
func (Config) Validate() error { return nil }

// Chunk sizes: a write of at most pipeChunk bytes to a pipe is atomic
// (POSIX PIPE_BUF, 4096 on Linux), so it is all there or not at all when
// the process exits while it blocks; other writers get larger chunks.
const (
	pipeChunk = 4096
	fileChunk = 256 << 10
)

// Sink writes NDJSON in chunks of whole lines, so an acknowledged event has
// reached the writer, and a line is never half-written: into a pipe whose
// reader is stuck, siemfwd may have to exit at the shutdown deadline while
// a write blocks, and what reached the pipe by then ends at a line's end
// (a single line longer than a chunk goes alone, and only it could be cut).
type Sink struct {
	out   io.Writer
	chunk int
	buf   []byte
}

// New returns a sink writing to w.
func New(w io.Writer) *Sink {
	chunk := fileChunk
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
			chunk = pipeChunk
		}
	}
	return &Sink{out: w, chunk: chunk}
}

// Write writes one line per event. Events not written (a failed write, or
// ctx ended between chunks: the shutdown deadline) are reported by index,
// so that those already out count as sent and only the rest is retried or
// abandoned.
func (s *Sink) Write(ctx context.Context, events []*pipeline.Event) error {
	first := 0 // the first event in s.buf
	for i, ev := range events {
		if len(s.buf) > 0 && len(s.buf)+len(ev.JSON)+1 > s.chunk {
			if err := s.flush(ctx); err != nil {
				return unwritten(events, first, err)
			}
			first = i
		}
		s.buf = append(s.buf, ev.JSON...)
		s.buf = append(s.buf, '\n')
	}
	if err := s.flush(ctx); err != nil {
		return unwritten(events, first, err)
	}
	return nil
}

// flush writes s.buf, unless ctx has ended, and empties it.
func (s *Sink) flush(ctx context.Context) error {
	defer func() {
		if cap(s.buf) > 4*s.chunk {
			s.buf = nil // a rare huge line must not pin its buffer
		} else {
			s.buf = s.buf[:0]
		}
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := s.out.Write(s.buf); err != nil {
		// A full disk may be freed, so the error is transient.
		return fmt.Errorf("stdout: %w", err)
	}
	return nil
}

// unwritten reports events[from:] as not written.
func unwritten(events []*pipeline.Event, from int, err error) pipeline.ItemErrors {
	items := make(pipeline.ItemErrors, 0, len(events)-from)
	for i := from; i < len(events); i++ {
		items = append(items, pipeline.ItemError{Index: i, Err: err})
	}
	return items
}

// Start acquires nothing: the writer is open already (the process's stdout).
func (s *Sink) Start(context.Context) error { return nil }

// Close has nothing to flush or release: every Write writes everything it
// takes, and the writer belongs to whoever passed it to New.
func (s *Sink) Close(context.Context) error { return nil }

var _ pipeline.Sink = (*Sink)(nil)
