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
	var bound int64
	// The events themselves go along as memos: a caught-up sink loop takes
	// them instead of reading their records back (events are read-only
	// after fan-out, so sharing them is safe).
	memos := make([]any, len(b.Events))
	for i, ev := range b.Events {
		bound += int64(recordBound(ev))
		memos[i] = ev
	}
	err := s.buf.AppendBatch(hard, diskbuf.Batch{
		Len:    len(b.Events),
		Bound:  bound,
		Encode: func(dst []byte, i int) []byte { return appendRecord(dst, b.Events[i]) },
		Memos:  memos,
	}, s.cfg.WhenFull != WhenFullDropNewest)
	if errors.Is(err, diskbuf.ErrFull) {
		s.m.SinkDropped.WithLabelValues(s.name, metrics.ReasonQueueFull).Add(float64(len(b.Events)))
		b.Done(ErrDropped)
		return
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
// from the buffer only once the sink accepted it (or dead-lettered it). Each
// write takes as much as MaxEvents allows, waiting up to Linger for more, as
// the in-memory loop does. When the pipeline closes the sink's queue (the
// drain), it goes on delivering what the buffer holds until it has none left
// or the shutdown deadline passes; what is left then stays on disk for the
// next start.
func (s *sinkLoop) runDisk(hard context.Context) {
	defer s.buf.SetReaderFailing(true) // no more reading: writers must not wait for it
	// draining ends when the queue is closed: from then on, Next returns only
	// what the buffer already holds.
	draining, drain := context.WithCancel(hard)
	defer drain()
	go func() {
		for range s.queue { // workers never send here in disk mode; closing is the stop signal
		}
		drain()
	}()
	var orig origins
	for hard.Err() == nil {
		pos, err := s.gatherDisk(draining, &orig)
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, diskbuf.ErrClosed) {
				s.log.Error("disk buffer read failed", "err", err)
			}
			return
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

// gatherDisk reads the next events into s.events: whatever the buffer has,
// up to MaxEvents, and more as it comes within Linger. It returns the
// position to acknowledge once they are delivered, or the error of the
// first read (ctx ended with nothing available, the buffer closed or failed).
func (s *sinkLoop) gatherDisk(ctx context.Context, orig *origins) (diskbuf.Position, error) {
	s.events = s.events[:0]
	pos, err := s.readDisk(ctx, orig)
	if err != nil || len(s.events) >= s.cfg.MaxEvents || s.cfg.Linger <= 0 || ctx.Err() != nil {
		return pos, err
	}
	linger, cancel := context.WithTimeout(ctx, s.cfg.Linger)
	defer cancel()
	for len(s.events) < s.cfg.MaxEvents {
		more, err := s.readDisk(linger, orig)
		if err != nil {
			break // the linger ended; a read error shows again at the next read
		}
		pos = more
	}
	return pos, nil
}

// readDisk appends what one Next returns to s.events: records read back
// from the file first, decoded, then events handed over in memory.
func (s *sinkLoop) readDisk(ctx context.Context, orig *origins) (diskbuf.Position, error) {
	recs, memos, pos, err := s.buf.Next(ctx, s.cfg.MaxEvents-len(s.events), maxReadBytes)
	if err != nil {
		return pos, err
	}
	decoded := make([]Event, len(recs))
	for i, rec := range recs {
		if err := decodeRecord(rec, &decoded[i], orig); err != nil {
			s.m.SinkEvents.WithLabelValues(s.name, "failed").Inc()
			s.log.Error("unreadable disk-buffer record skipped", "err", err)
			continue
		}
		s.events = append(s.events, &decoded[i])
	}
	for _, m := range memos {
		s.events = append(s.events, m.(*Event))
	}
	return pos, nil
}
