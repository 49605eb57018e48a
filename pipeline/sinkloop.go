package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
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
	abandoned atomic.Int64  // events given up at the shutdown deadline (or at an abort)
	queued    atomic.Int64  // events in queue (memory mode)
	writing   atomic.Int64  // events of the write in progress: what a sink stuck in Write holds
	claim     sync.Mutex    // makes abandonWriting's swap and count one step
	stopped   chan struct{} // closed when run returns
	failing   atomic.Bool   // the last write failed; for readiness
	// deadLetterFailing holds the error of the last dead-letter write while
	// it is the latest one (nil once a dead-letter write succeeds); for readiness.
	deadLetterFailing atomic.Pointer[string]
	// undeliver corrects the ledger for events a disk-buffered sink lost
	// after their batch was acknowledged; nil keeps no ledger.
	undeliver func(ev *Event, reason string)

	// lost collects the events of the current write that were neither
	// stored nor dead-lettered, with their reasons.
	lost        []*Event
	lostReasons []string

	// scratch reused between writes
	pending []Batch
	events  []*Event
}

func newSinkLoop(s NamedSink, log *slog.Logger, m *metrics.Metrics) *sinkLoop {
	m.QueueCapacity.WithLabelValues(s.Name).Set(float64(s.Config.QueueBatches))
	return &sinkLoop{name: s.Name, cfg: s.Config, route: s.Config.Route, sink: s.Sink, dlq: s.DeadLetter, buf: s.Buffer,
		queue: make(chan Batch, s.Config.QueueBatches), stopped: make(chan struct{}), log: log, m: m}
}

// enqueue applies the when_full policy. Called by workers.
func (s *sinkLoop) enqueue(hard context.Context, b Batch) {
	if s.buf != nil {
		s.enqueueDisk(hard, b)
		return
	}
	n := int64(len(b.Events))
	s.queued.Add(n)
	if s.cfg.WhenFull == WhenFullDropNewest {
		select {
		case s.queue <- b:
		default:
			s.queued.Add(-n)
			s.m.SinkDropped.WithLabelValues(s.name, metrics.ReasonQueueFull).Add(float64(n))
			b.Done(ErrDropped)
		}
		return
	}
	select {
	case s.queue <- b:
	case <-hard.Done():
		s.queued.Add(-n)
		s.abandon(len(b.Events))
		b.Done(errAbandoned)
	}
}

// held is what the sink loop holds in memory: queued, and in the write in
// progress. A disk-buffered sink's events are on disk, so it holds none.
func (s *sinkLoop) held() int64 {
	if s.buf != nil {
		return 0
	}
	return s.queued.Load() + s.writing.Load()
}

// abandon counts n events given up at the shutdown deadline: read, and
// neither written nor kept in a disk buffer.
func (s *sinkLoop) abandon(n int) {
	s.abandoned.Add(int64(n))
	s.m.SinkDropped.WithLabelValues(s.name, metrics.ReasonShutdown).Add(float64(n))
}

// abandonWriting counts the events of the write in progress as abandoned.
// The sink loop and leaveStuckSinks may both try; the first one counts them,
// and by the time either returns they are counted.
func (s *sinkLoop) abandonWriting() {
	s.claim.Lock()
	defer s.claim.Unlock()
	s.abandon(int(s.writing.Swap(0)))
}

// abandonQueued gives up what is still in the queue once the sink loop is
// left behind (stuck in a write after the deadline): nobody else takes it.
// The queue is closed by then.
func (s *sinkLoop) abandonQueued() {
	if s.buf == nil {
		s.abandonWriting() // unless the loop itself got to it first
	}
	for b := range s.queue {
		s.queued.Add(-int64(len(b.Events)))
		s.abandon(len(b.Events))
		b.Done(errAbandoned)
	}
}

// run writes batches until the queue is closed and empty. The sink's owner
// closes it once the pipeline has returned.
func (s *sinkLoop) run(hard context.Context) {
	defer close(s.stopped)
	if s.buf != nil {
		s.runDisk(hard)
		return
	}
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
	s.queued.Add(-int64(len(s.events)))
	err := s.deliver(hard, s.events)
	var lostIn map[*Event]string
	if err == nil && len(s.lost) > 0 {
		lostIn = make(map[*Event]string, len(s.lost))
		for i, ev := range s.lost {
			lostIn[ev] = s.lostReasons[i]
		}
	}
	for _, b := range s.pending {
		if lostIn == nil {
			b.Done(err)
			continue
		}
		var lost *Lost
		for _, ev := range b.Events {
			if reason, ok := lostIn[ev]; ok {
				if lost == nil {
					lost = &Lost{}
				}
				lost.Events = append(lost.Events, ev)
				lost.Reasons = append(lost.Reasons, reason)
			}
		}
		if lost != nil {
			b.Done(lost)
		} else {
			b.Done(nil)
		}
	}
	s.resetLost()
	clear(s.pending)
	clear(s.events)
}

func (s *sinkLoop) resetLost() {
	clear(s.lost)
	s.lost, s.lostReasons = s.lost[:0], s.lostReasons[:0]
}

// deliver writes events, retrying transient failures with jittered
// exponential backoff until success or the shutdown deadline, and
// dead-lettering permanent ones. It returns nil when every event was
// accepted, dead-lettered or lost (refused and not dead-lettered: those are
// in s.lost), and the last error when some were abandoned at the deadline.
func (s *sinkLoop) deliver(hard context.Context, events []*Event) error {
	todo := events
	var ackErr error
	backoff := s.cfg.RetryInitial
	s.writing.Store(int64(len(todo)))
	defer s.writing.Store(0)
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
		// Not a Store: leaveStuckSinks may have claimed (zeroed) the count.
		s.writing.CompareAndSwap(int64(len(todo)), int64(len(retry)))
		s.m.SinkEvents.WithLabelValues(s.name, "retried").Add(float64(len(retry)))
		s.log.Warn("write failed; retrying", "events", len(retry), "backoff", backoff, "err", err)
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(wait):
		case <-hard.Done():
			if s.buf != nil {
				s.log.Warn("shutdown deadline: events left in the disk buffer for the next start", "events", len(retry), "err", err)
			} else {
				s.abandonWriting() // unless leaveStuckSinks got to it first
				s.log.Error("abandoning events at shutdown deadline", "events", len(retry), "err", err)
			}
			ackErr = errors.Join(errAbandoned, err)
			todo = nil
			continue
		}
		backoff = min(backoff*2, s.cfg.RetryMax)
		todo = retry
	}
	return ackErr
}

// deadLetter hands refused events to the dead-letter destination. The
// events it stores count as dead_lettered; the others (all of them without a
// destination) are lost: counted as failed and as dropped with their reason
// (refused, or dead_letter_failed), and collected in s.lost.
func (s *sinkLoop) deadLetter(ctx context.Context, events []*Event, reason error) {
	if s.dlq == nil {
		s.lose(events, metrics.ReasonRefused)
		s.log.Error("events refused by sink and not stored (no dead_letter destination)", "events", len(events), "err", reason)
		return
	}
	err := s.dlq.DeadLetter(ctx, s.name, events, reason)
	if err == nil {
		s.deadLetterFailing.Store(nil)
		s.m.SinkEvents.WithLabelValues(s.name, "dead_lettered").Add(float64(len(events)))
		s.log.Warn("events dead-lettered", "events", len(events), "err", reason)
		return
	}
	msg := err.Error()
	s.deadLetterFailing.Store(&msg)
	failed := events
	var items ItemErrors
	if errors.As(err, &items) {
		failed = make([]*Event, 0, len(items))
		for _, it := range items {
			failed = append(failed, events[it.Index])
		}
	}
	s.m.SinkEvents.WithLabelValues(s.name, "dead_lettered").Add(float64(len(events) - len(failed)))
	s.lose(failed, metrics.ReasonDeadLetterFailed)
	s.log.Error("dead-letter destination failed; events refused by sink and not stored",
		"events", len(failed), "err", err, "refused_because", reason)
}

// lose counts events that are neither stored nor dead-lettered, and
// settles them: in memory mode with their batch's ack (see write), in disk
// mode (whose batches were acknowledged when stored) with a ledger correction.
func (s *sinkLoop) lose(events []*Event, reason string) {
	for _, ev := range events {
		switch {
		case s.buf == nil:
			s.lost = append(s.lost, ev)
			s.lostReasons = append(s.lostReasons, reason)
		case s.undeliver != nil:
			s.undeliver(ev, reason)
		}
	}
	s.m.SinkEvents.WithLabelValues(s.name, "failed").Add(float64(len(events)))
	s.m.SinkDropped.WithLabelValues(s.name, reason).Add(float64(len(events)))
}
