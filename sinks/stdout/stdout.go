// Package stdout writes events as NDJSON (one ECS JSON document per line) to
// an io.Writer, normally the process's standard output.
package stdout

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"siemfwd/pipeline"
)

// Config of the stdout sink. It has no keys of its own beyond the common sink keys.
type Config struct{}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{} }

// Validate reports problems; there are none to find.
func (Config) Validate() error { return nil }

// Sink writes NDJSON through a buffer that is flushed at the end of every
// Write, so an acknowledged event has reached the writer. Under load a Write
// carries many events, so this is still one system call per batch; when idle
// nothing waits in the buffer.
type Sink struct {
	out io.Writer
	w   *bufio.Writer
}

// New returns a sink writing to w.
func New(w io.Writer) *Sink {
	return &Sink{out: w, w: bufio.NewWriterSize(w, 256<<10)}
}

// Write writes one line per event and flushes.
func (s *Sink) Write(_ context.Context, events []*pipeline.Event) error {
	for _, ev := range events {
		s.w.Write(ev.JSON)
		s.w.WriteByte('\n')
	}
	if err := s.w.Flush(); err != nil {
		// A full disk may be freed, so the error is transient and the whole
		// batch is written again; bufio keeps its first error, so start afresh.
		s.w.Reset(s.out)
		return fmt.Errorf("stdout: %w", err)
	}
	return nil
}

// RetainsNoEvents: Write copies events into its buffer (pipeline.NonRetaining).
func (*Sink) RetainsNoEvents() {}

var _ pipeline.NonRetaining = (*Sink)(nil)

// Close flushes what is buffered.
func (s *Sink) Close(context.Context) error {
	if err := s.w.Flush(); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("stdout: %w", err)
	}
	return nil
}

var _ pipeline.Sink = (*Sink)(nil)
