package pipeline

import (
	"context"
	"errors"

	"siemfwd/pipeline/diskbuf"
	"siemfwd/pipeline/metrics"
)

// maxReadBytes bounds one read from a disk buffer, so memory stays flat
// however much is buffered.
const maxReadBytes = 16 << 20

// enqueueDisk stores a batch in the sink's disk buffer and acknowledges it to
// its source at once: from here on the buffer owns the events, and a crash
// replays them. A full buffer applies the when_full policy.
func (s *sinkLoop) enqueueDisk(hard context.Context, b Batch) {
	size := 0
	for _, ev := range b.Events {
		size += len(ev.Raw) + len(ev.JSON) + 128
	}
	arena := make([]byte, 0, size)
	recs := make([][]byte, len(b.Events))
	for i, ev := range b.Events {
		start := len(arena)
		arena = appendRecord(arena, ev)
		recs[i] = arena[start:len(arena):len(arena)]
	}
	var err error
	if s.cfg.WhenFull == WhenFullDropNewest {
		err = s.buf.Append(recs)
		if errors.Is(err, diskbuf.ErrFull) {
			s.m.SinkDropped.WithLabelValues(s.name, metrics.ReasonQueueFull).Add(float64(len(b.Events)))
			b.Done(ErrDropped)
			return
		}
	} else {
		err = s.buf.AppendWait(hard, recs)
	}
	if err != nil {
		// Not stored: the source hears about it (a file source keeps its offset
		// and reads the lines again after a restart).
		s.m.SinkDropped.WithLabelValues(s.name, "buffer_error").Add(float64(len(b.Events)))
		s.log.Error("disk buffer refused a batch", "events", len(b.Events), "err", err)
		b.Done(err)
		return
	}
	b.Done(nil)
}

// runDisk delivers what the disk buffer holds, oldest first, and removes it
// from the buffer only once the sink accepted it (or dead-lettered it). It
// stops when the pipeline closes the sink's queue, leaving whatever is still
// buffered for the next start.
func (s *sinkLoop) runDisk(hard context.Context) {
	defer func() {
		if err := s.sink.Close(hard); err != nil {
			s.log.Error("close failed", "err", err)
		}
	}()
	stop, cancel := context.WithCancel(hard)
	defer cancel()
	go func() {
		for range s.queue { // workers never send here in disk mode; closing is the stop signal
		}
		cancel()
	}()
	origins := map[[6]string]*Origin{}
	for stop.Err() == nil {
		recs, pos, err := s.buf.Next(stop, s.cfg.MaxEvents, maxReadBytes)
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, diskbuf.ErrClosed) {
				s.log.Error("disk buffer read failed", "err", err)
			}
			return
		}
		s.events = s.events[:0]
		for _, rec := range recs {
			ev, err := decodeRecord(rec, origins)
			if err != nil {
				s.m.SinkEvents.WithLabelValues(s.name, "failed").Inc()
				s.log.Error("unreadable disk-buffer record skipped", "err", err)
				continue
			}
			s.events = append(s.events, ev)
		}
		if err := s.deliver(hard, s.events); err != nil {
			return // abandoned at the deadline: still in the buffer, replayed at the next start
		}
		clear(s.events)
		if err := s.buf.Ack(pos); err != nil {
			s.log.Error("disk buffer ack failed", "err", err)
		}
	}
}
