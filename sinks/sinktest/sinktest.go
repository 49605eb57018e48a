// Package sinktest provides sinks for tests: one that records what it was
// given, one that fails as told, one that blocks until released.
package sinktest

import (
	"bytes"
	"context"
	"sync"

	"siemfwd/pipeline"
)

// Recorder keeps a copy of every event written to it: like any sink, it
// may read the events it is given only until Write returns (pipeline.Sink).
type Recorder struct {
	mu      sync.Mutex
	events  []*pipeline.Event
	writes  int
	started bool
	closed  bool
	// Written receives the running total of events after each Write, when not nil
	// (buffered by the caller, or read by the test), so tests wait without sleeping.
	Written chan int
}

// Write records events.
func (r *Recorder) Write(_ context.Context, events []*pipeline.Event) error {
	r.mu.Lock()
	r.events = append(r.events, copies(events)...)
	r.writes++
	n := len(r.events)
	r.mu.Unlock()
	if r.Written != nil {
		r.Written <- n
	}
	return nil
}

// Start marks the recorder started.
func (r *Recorder) Start(context.Context) error {
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	return nil
}

// Close marks the recorder closed.
func (r *Recorder) Close(context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// Events returns a copy of what was written.
func (r *Recorder) Events() []*pipeline.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*pipeline.Event(nil), r.events...)
}

// Writes is the number of Write calls.
func (r *Recorder) Writes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes
}

// Started reports whether Start was called.
func (r *Recorder) Started() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started
}

// Closed reports whether Close was called.
func (r *Recorder) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Scripted answers each Write with the next error of Errors (nil when they run
// out) and records the events of the calls that succeeded, fully or partly.
type Scripted struct {
	Recorder
	mu     sync.Mutex
	Errors []error
	// Calls receives the events of every Write call, when not nil.
	Calls chan []*pipeline.Event
}

// Write returns the next scripted error.
func (s *Scripted) Write(ctx context.Context, events []*pipeline.Event) error {
	if s.Calls != nil {
		s.Calls <- copies(events)
	}
	s.mu.Lock()
	var err error
	if len(s.Errors) > 0 {
		err, s.Errors = s.Errors[0], s.Errors[1:]
	}
	s.mu.Unlock()
	if err == nil {
		return s.Recorder.Write(ctx, events)
	}
	if items, ok := err.(pipeline.ItemErrors); ok {
		failed := map[int]bool{}
		for _, it := range items {
			failed[it.Index] = true
		}
		var ok []*pipeline.Event
		for i, ev := range events {
			if !failed[i] {
				ok = append(ok, ev)
			}
		}
		s.Recorder.Write(ctx, ok)
	}
	return err
}

// Blocking blocks every Write until Release is closed or ctx ends.
type Blocking struct {
	Recorder
	Release chan struct{}
	// Entered receives once per Write call, when not nil.
	Entered chan struct{}
}

// Write waits for Release.
func (b *Blocking) Write(ctx context.Context, events []*pipeline.Event) error {
	if b.Entered != nil {
		b.Entered <- struct{}{}
	}
	select {
	case <-b.Release:
		return b.Recorder.Write(ctx, events)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// copies returns copies of events that stay valid after Write returns: an
// event's JSON is written again once its batch is acknowledged.
func copies(events []*pipeline.Event) []*pipeline.Event {
	out := make([]*pipeline.Event, len(events))
	for i, ev := range events {
		c := *ev
		c.JSON = bytes.Clone(ev.JSON)
		out[i] = &c
	}
	return out
}

var (
	_ pipeline.Sink = (*Recorder)(nil)
	_ pipeline.Sink = (*Scripted)(nil)
	_ pipeline.Sink = (*Blocking)(nil)
)
