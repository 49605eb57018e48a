package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"siemfwd/pipeline/diskbuf"
	"siemfwd/pipeline/metrics"
)

// sinkLoop owns one sink: its bounded queue, its batching and its retries.
// Only its goroutine calls the sink's Write and Close.
type sinkLoop struct {
	name      string
	cfg       SinkConfig
	route     Route
	sink      Sink
	dlq       DeadLetter
	buf       *diskbuf.Buffer // nil: the in-memory queue is the buffer
	queue     chan Batch
	log       *slog.Logger
	m         *metrics.Metrics
	abandoned int         // events given up at the shutdown deadline; read after run returns
	failing   atomic.Bool // the last write failed; for readiness

	// scratch reused between writes
	pending []Batch
	events  []*Event
}

func newSinkLoop(s NamedSink, log *slog.Logger, m *metrics.Metrics) *sinkLoop {
	m.QueueCapacity.WithLabelValues(s.Name).Set(float64(s.Config.QueueBatches))
	return &sinkLoop{name: s.Name, cfg: s.Config, route: s.Config.Route, sink: s.Sink, dlq: s.DeadLetter, buf: s.Buffer,
		queue: make(chan Batch, s.Config.QueueBatches), log: log, m: m}
}

// enqueue applies the when_full policy. Called by workers.
func (s *sinkLoop) enqueue(hard context.Context, b Batch) {
	if s.buf != nil {
		s.enqueueDisk(hard, b)
		return
	}
	if s.cfg.WhenFull == WhenFullDropNewest {
		select {
		case s.queue <- b:
		default:
			s.m.SinkDropped.WithLabelValues(s.name, metrics.ReasonQueueFull).Add(float64(len(b.Events)))
			b.Done(ErrDropped)
		}
		return
	}
	select {
	case s.queue <- b:
	case <-hard.Done():
		s.m.SinkDropped.WithLabelValues(s.name, metrics.ReasonShutdown).Add(float64(len(b.Events)))
		b.Done(hard.Err())
	}
}

// run writes batches until the queue is closed and empty, then closes the sink.
func (s *sinkLoop) run(hard context.Context) {
	if s.buf != nil {
		s.runDisk(hard)
		return
	}
	defer func() {
		if err := s.sink.Close(hard); err != nil {
			s.log.Error("close failed", "err", err)
		}
	}()
	var linger *time.Timer
	for {
		b, ok := <-s.queue
		if !ok {
			return
		}
		s.pending = append(s.pending[:0], b)
		n := len(b.Events)
		closed := false
		// Take what else is queued, up to MaxEvents; wait up to Linger for more.
		var deadline <-chan time.Time
		if s.cfg.Linger > 0 {
			if linger == nil {
				linger = time.NewTimer(s.cfg.Linger)
			} else {
				linger.Reset(s.cfg.Linger)
			}
			deadline = linger.C
		}
	gather:
		for n < s.cfg.MaxEvents {
			select {
			case b, ok := <-s.queue:
				if !ok {
					closed = true
					break gather
				}
				s.pending = append(s.pending, b)
				n += len(b.Events)
				continue
			default:
			}
			if deadline == nil {
				break
			}
			select {
			case b, ok := <-s.queue:
				if !ok {
					closed = true
					break gather
				}
				s.pending = append(s.pending, b)
				n += len(b.Events)
			case <-deadline:
				deadline = nil
				break gather
			}
		}
		if linger != nil {
			linger.Stop() // since Go 1.23 a stopped timer delivers no stale tick
		}
		s.write(hard)
		if closed {
			return
		}
	}
}

// write delivers the pending batches and acks them.
func (s *sinkLoop) write(hard context.Context) {
	s.events = s.events[:0]
	for _, b := range s.pending {
		s.events = append(s.events, b.Events...)
	}
	err := s.deliver(hard, s.events)
	for _, b := range s.pending {
		b.Done(err)
	}
	clear(s.pending)
	clear(s.events)
}

// deliver writes events, retrying transient failures with jittered
// exponential backoff until success or the shutdown deadline, and
// dead-lettering permanent ones. It returns nil when every event was either
// accepted or dead-lettered, and the last error when some were abandoned at
// the deadline.
func (s *sinkLoop) deliver(hard context.Context, events []*Event) error {
	todo := events
	var ackErr error
	backoff := s.cfg.RetryInitial
	for len(todo) > 0 {
		start := time.Now()
		err := s.sink.Write(hard, todo)
		s.m.SinkRequestDuration.WithLabelValues(s.name).Observe(time.Since(start).Seconds())
		s.failing.Store(err != nil)
		if s.buf != nil {
			s.buf.SetReaderFailing(err != nil) // writers spill to disk instead of waiting for us
		}
		if err == nil {
			s.m.SinkBatches.WithLabelValues(s.name).Inc()
			s.m.SinkEvents.WithLabelValues(s.name, "sent").Add(float64(len(todo)))
			break
		}
		var retry, dead []*Event
		var items ItemErrors
		switch {
		case errors.As(err, &items):
			failed := make(map[int]error, len(items))
			for _, it := range items {
				failed[it.Index] = it.Err
			}
			for i, ev := range todo {
				e, bad := failed[i]
				switch {
				case !bad:
				case IsPermanent(e):
					dead = append(dead, ev)
				default:
					retry = append(retry, ev)
				}
			}
			s.m.SinkEvents.WithLabelValues(s.name, "sent").Add(float64(len(todo) - len(items)))
		case IsPermanent(err):
			dead = todo
		default:
			retry = todo
		}
		if len(dead) > 0 {
			s.deadLetter(hard, dead, err)
		}
		if len(retry) == 0 {
			break
		}
		s.m.SinkEvents.WithLabelValues(s.name, "retried").Add(float64(len(retry)))
		s.log.Warn("write failed; retrying", "events", len(retry), "backoff", backoff, "err", err)
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(wait):
		case <-hard.Done():
			s.abandoned += len(retry)
			s.m.SinkEvents.WithLabelValues(s.name, "failed").Add(float64(len(retry)))
			s.log.Error("abandoning events at shutdown deadline", "events", len(retry), "err", err)
			ackErr = err
			todo = nil
			continue
		}
		backoff = min(backoff*2, s.cfg.RetryMax)
		todo = retry
	}
	return ackErr
}

// deadLetter hands refused events to the dead-letter destination. Without one,
// or when it fails too, they are logged once per batch and counted as failed.
func (s *sinkLoop) deadLetter(ctx context.Context, events []*Event, reason error) {
	s.m.SinkEvents.WithLabelValues(s.name, "dead_lettered").Add(float64(len(events)))
	if s.dlq != nil {
		if err := s.dlq.DeadLetter(ctx, s.name, events, reason); err == nil {
			s.log.Warn("events dead-lettered", "events", len(events), "err", reason)
			return
		} else {
			s.log.Error("dead-letter destination failed", "events", len(events), "err", err)
		}
	}
	s.m.SinkEvents.WithLabelValues(s.name, "failed").Add(float64(len(events)))
	s.log.Error("events refused by sink and not stored", "events", len(events), "err", reason)
}
