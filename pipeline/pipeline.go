package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"siemfwd/pipeline/diskbuf"
	"siemfwd/pipeline/ledger"
	"siemfwd/pipeline/metrics"
)

// Processor turns an event's Raw bytes into its JSON and routing fields. Each
// worker owns one (parsers hold state), so implementations need not be safe
// for concurrent use.
type Processor interface {
	Process(ev *Event)
}

// Reuser is a Processor that encodes events' JSON into memory it writes
// again once no sink reads those events any more. The worker calls EndBatch
// after processing each batch, and the release it returns (when not nil)
// after the batch's Ack has run. It calls release only when nothing reads
// events after their Ack: not when a sink has a disk buffer, whose hand-off
// keeps events after it acknowledges them; the collector reclaims the
// memory then. Sources and sinks take no part: a Sink or DeadLetter reads
// events only until its call returns, as their contracts say.
type Reuser interface {
	Processor
	EndBatch() (release func())
}

// NamedSink is a sink with its name and pipeline settings.
type NamedSink struct {
	Name   string
	Config SinkConfig
	Sink   Sink
	// DeadLetter receives events the sink refused for good; nil counts them
	// as dropped (reason refused).
	DeadLetter DeadLetter
	// Buffer, when not nil, is the sink's disk buffer: batches are stored
	// there (and acknowledged to their source) instead of waiting in memory.
	// The caller opens and closes it.
	Buffer *diskbuf.Buffer
}

// DeadLetter stores events a sink refused permanently, with the reason.
// A nil error means they are stored; the pipeline then treats them as
// handled. ItemErrors name the events it did not store (the others were);
// any other error means none was stored. Events not stored are lost, counted
// as dropped with reason dead_letter_failed. A destination that holds a file
// or connections is also a Component: its owner starts it before the
// pipeline runs and closes it after (one that shares its sink's client
// starts and closes with the sink).
//
// Like Sink.Write, DeadLetter reads the events only until it returns.
type DeadLetter interface {
	DeadLetter(ctx context.Context, sink string, events []*Event, reason error) error
}

// Readiness is implemented by sinks that can tell they are not ready
// although their writes have not failed yet (a destination not reached at
// start). Ready must not block.
type Readiness interface {
	Ready() (bool, string)
}

// Pipeline wires sources, workers and sinks:
//
//	source ─┐                      ┌─ queue ─ sink loop ─ Sink (stdout)
//	source ─┼─ queue ─ N workers ──┼─ queue ─ sink loop ─ Sink (kafka)
//	source ─┘  (bounded)  parse,   └─ queue ─ sink loop ─ Sink (elasticsearch)
//	                      encode,     (bounded per sink, when_full policy)
//	                      route
//
// Every queue is a bounded channel of batches. A batch's Ack fires once every
// sink it was routed to has written it (or dead-lettered it, or dropped it by
// policy); sources use it to move offsets.
type Pipeline struct {
	ledger       *ledger.Ledger // per-sender accounts; nil keeps none
	cfg          Config
	sources      []Source
	sinks        []*sinkLoop
	newProcessor func() Processor
	// reuse: no sink keeps events after their Ack, so a Reuser's memory
	// may be written again then (see Reuser).
	reuse bool
	log   *slog.Logger
	m     *metrics.Metrics

	abort     chan struct{} // closed by Abort
	abortOnce sync.Once
}

// New builds a pipeline. newProcessor is called once per worker. When l is
// not nil the workers account every event in it, per sender: received when
// it enters the workers, then delivered or dropped when its batch is
// acknowledged.
func New(cfg Config, sources []Source, sinks []NamedSink, newProcessor func() Processor, l *ledger.Ledger, log *slog.Logger, m *metrics.Metrics) (*Pipeline, error) {
	if len(sources) == 0 {
		return nil, errors.New("pipeline: no sources")
	}
	if len(sinks) == 0 {
		return nil, errors.New("pipeline: no sinks")
	}
	p := &Pipeline{ledger: l, cfg: cfg, sources: sources, newProcessor: newProcessor, log: log, m: m, abort: make(chan struct{}), reuse: true}
	for _, s := range sinks {
		p.reuse = p.reuse && s.Buffer == nil
		loop := newSinkLoop(s, log.With("component", "sink", "sink", s.Name), m)
		if l != nil {
			loop.undeliver = func(ev *Event, reason string) { l.Undeliver(ev.Peer.Addr(), 1, reason) }
		}
		p.sinks = append(p.sinks, loop)
	}
	return p, nil
}

// errUnroutable is the Ack error of events that no sink's route takes. It
// is ErrDropped too: the operator's routes chose to drop them.
var errUnroutable = fmt.Errorf("%w: no sink route takes the event", ErrDropped)

// ledgerReason names how a batch ended for the ledger.
func ledgerReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errUnroutable):
		return metrics.ReasonUnroutable
	case errors.Is(err, ErrDropped):
		return metrics.ReasonQueueFull
	}
	return metrics.ReasonShutdown
}

// losses lists a Lost's events for the ledger, each once (two sinks may
// lose the same event).
func losses(l *Lost) []ledger.Loss {
	out := make([]ledger.Loss, 0, len(l.Events))
	seen := make(map[*Event]bool, len(l.Events))
	for i, ev := range l.Events {
		if !seen[ev] {
			seen[ev] = true
			out = append(out, ledger.Loss{Addr: ev.Peer.Addr(), Reason: l.Reasons[i]})
		}
	}
	return out
}

// Ready reports whether every sink is keeping up: a sink whose last write
// failed and whose queue is full (so that sources are blocked or dropping)
// is a problem. It never blocks.
func (p *Pipeline) Ready() (bool, []string) {
	var problems []string
	for _, s := range p.sinks {
		if r, ok := s.sink.(Readiness); ok {
			if ready, why := r.Ready(); !ready {
				problems = append(problems, fmt.Sprintf("sink %s: %s", s.name, why))
			}
		}
		if msg := s.deadLetterFailing.Load(); msg != nil {
			problems = append(problems, fmt.Sprintf("sink %s: dead-letter destination failing, refused events are lost: %s", s.name, *msg))
		}
		if s.failing.Load() && len(s.queue) == cap(s.queue) {
			problems = append(problems, fmt.Sprintf("sink %s: failing and its queue is full", s.name))
		}
		if s.buf != nil && s.failing.Load() {
			if st := s.buf.Stats(); st.UnackedBytes > s.cfg.Buffer.MaxBytes*9/10 {
				problems = append(problems, fmt.Sprintf("sink %s: failing and its disk buffer is %d%% full", s.name, st.UnackedBytes*100/s.cfg.Buffer.MaxBytes))
			}
		}
	}
	return len(problems) == 0, problems
}

// maxShutdownGrace bounds the part of ShutdownTimeout kept back for sinks
// to stop after the drain is cut off.
const maxShutdownGrace = 5 * time.Second

// errAbandoned is the Ack error of events given up at the shutdown deadline
// or at an abort.
var errAbandoned = errors.New("abandoned at shutdown")

// Abort cuts the drain short: what is not written yet is abandoned (and
// counted) at once, and Run returns without waiting for stuck sinks. It is
// the second SIGTERM. Safe to call at any time, more than once.
func (p *Pipeline) Abort() { p.abortOnce.Do(func() { close(p.abort) }) }

// Abandoned is the number of events given up at shutdown so far, per sink
// (an event routed to two sinks and written by neither counts twice). Events
// left in a disk buffer are not abandoned: the next start delivers them.
func (p *Pipeline) Abandoned() int64 {
	var n int64
	for _, s := range p.sinks {
		n += s.abandoned.Load()
	}
	return n
}

// Held is the number of events the sinks hold in memory right now: queued,
// or in a write in progress.
func (p *Pipeline) Held() int64 {
	var n int64
	for _, s := range p.sinks {
		n += s.held()
	}
	return n
}

// Run runs until ctx is done, then drains: sources stop reading and pass on
// what they have read, the workers process it, the sinks write it and close.
// The drain is bounded by ShutdownTimeout (or cut short by Abort); what is
// left after it is abandoned, counted and logged. Run returns an error when a
// source failed or events were abandoned.
func (p *Pipeline) Run(ctx context.Context) error {
	// hard is cancelled when the drain deadline passes; sinks stop retrying then.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()

	in := make(chan Batch, p.cfg.QueueBatches)
	p.m.QueueCapacity.WithLabelValues("input").Set(float64(p.cfg.QueueBatches))

	var sinkWG sync.WaitGroup
	for _, s := range p.sinks {
		sinkWG.Add(1)
		go func() {
			defer sinkWG.Done()
			s.run(hard)
		}()
	}

	workers := p.cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var workerWG sync.WaitGroup
	for range workers {
		workerWG.Add(1)
		go func() {
			defer workerWG.Done()
			p.work(hard, in)
		}()
	}

	srcErrs := make([]error, len(p.sources))
	var srcWG sync.WaitGroup
	for i, src := range p.sources {
		srcWG.Add(1)
		go func() {
			defer srcWG.Done()
			if err := src.Run(ctx, in); err != nil {
				srcErrs[i] = fmt.Errorf("source %s: %w", src.Name(), err)
			}
		}()
	}
	queueDepth := time.NewTicker(time.Second)
	defer queueDepth.Stop()
	stopGauges := make(chan struct{})
	go func() {
		for {
			select {
			case <-queueDepth.C:
				p.m.QueueEvents.WithLabelValues("input").Set(float64(len(in)))
				for _, s := range p.sinks {
					p.m.QueueEvents.WithLabelValues(s.name).Set(float64(len(s.queue)))
				}
			case <-stopGauges:
				return
			}
		}
	}()
	defer close(stopGauges)

	select {
	case <-ctx.Done():
	case <-p.abort:
	}
	p.log.Info("draining", "timeout", p.cfg.ShutdownTimeout)
	// The drain stops at the hard deadline; the rest of ShutdownTimeout is
	// the grace for sinks to notice. A sink stuck in a write that never
	// returns (stdout into a pipe nobody reads) is left behind after it.
	grace := min(p.cfg.ShutdownTimeout/4, maxShutdownGrace)
	deadline := time.NewTimer(p.cfg.ShutdownTimeout - grace)
	defer deadline.Stop()
	drained := make(chan struct{})
	defer close(drained)
	go func() {
		select {
		case <-deadline.C:
			p.log.Warn("shutdown deadline passed; abandoning what is not written yet",
				"held_events", p.Held(), "input_batches", len(in))
		case <-p.abort:
			p.log.Warn("shutdown aborted; abandoning what is not written yet",
				"held_events", p.Held(), "input_batches", len(in))
		case <-drained:
			return
		}
		cancelHard()
	}()

	srcWG.Wait()
	close(in)
	workerWG.Wait()
	for _, s := range p.sinks {
		close(s.queue)
	}
	sinksDone := make(chan struct{})
	go func() {
		sinkWG.Wait()
		close(sinksDone)
	}()
	var stuck error
	select {
	case <-sinksDone:
	case <-hard.Done():
		select {
		case <-sinksDone:
		case <-p.abort:
			stuck = p.leaveStuckSinks()
		case <-time.After(grace):
			stuck = p.leaveStuckSinks()
		}
	}

	err := errors.Join(append(srcErrs, stuck)...)
	if abandoned := p.Abandoned(); abandoned > 0 {
		p.log.Warn("stopped with abandoned events", "abandoned", abandoned)
		err = errors.Join(err, fmt.Errorf("%d events abandoned at shutdown", abandoned))
	} else {
		p.log.Info("stopped")
	}
	return err
}

// leaveStuckSinks gives up the sinks whose loop has not returned (stuck in a
// write after the deadline): what they hold is counted as abandoned.
func (p *Pipeline) leaveStuckSinks() error {
	var errs []error
	for _, s := range p.sinks {
		select {
		case <-s.stopped:
			continue
		default:
		}
		held := s.held()
		s.abandonQueued()
		errs = append(errs, fmt.Errorf("sink %s did not stop after the shutdown deadline; the %d events it held are abandoned", s.name, held))
	}
	return errors.Join(errs...)
}

// work processes batches from in and hands each to the sinks that route it.
func (p *Pipeline) work(hard context.Context, in <-chan Batch) {
	proc := p.newProcessor()
	reuser, _ := proc.(Reuser)
	for b := range in {
		for _, ev := range b.Events {
			proc.Process(ev)
		}
		if reuser != nil {
			// Called whatever reuse says: it also ends the processor's
			// bookkeeping of the batch.
			if release := reuser.EndBatch(); release != nil && p.reuse {
				b.Ack = thenRelease(b.Ack, release)
			}
		}
		if p.ledger != nil {
			tally := &ledger.Tally{}
			for _, ev := range b.Events {
				tally.Add(ev.Peer.Addr(), ev.Routes.Hostname)
			}
			p.ledger.ReceivedTally(tally)
			ack := b.Ack
			b.Ack = func(err error) {
				if lost := (*Lost)(nil); errors.As(err, &lost) {
					p.ledger.DoneTallyLosing(tally, losses(lost))
				} else {
					p.ledger.DoneTally(tally, ledgerReason(err))
				}
				if ack != nil {
					ack(err)
				}
			}
		}
		p.fanOut(hard, b)
	}
}

// thenRelease returns an Ack that runs ack, then release.
func thenRelease(ack func(error), release func()) func(error) {
	return func(err error) {
		if ack != nil {
			ack(err)
		}
		release()
	}
}

// fanOut sends b to every sink whose route takes some of its events, with an
// Ack countdown over those sinks.
func (p *Pipeline) fanOut(hard context.Context, b Batch) {
	if len(p.sinks) == 1 && p.sinks[0].route.All() {
		p.sinks[0].enqueue(hard, b)
		return
	}
	parts := make([][]*Event, len(p.sinks))
	targets := 0
	for i, s := range p.sinks {
		if s.route.All() {
			parts[i] = b.Events
		} else {
			for _, ev := range b.Events {
				if s.route.accepts(ev) {
					parts[i] = append(parts[i], ev)
				}
			}
		}
		if len(parts[i]) > 0 {
			targets++
		}
	}
	if targets == 0 {
		if len(b.Events) > 0 {
			p.m.SourceDropped.WithLabelValues(b.Events[0].Origin.Source, metrics.ReasonUnroutable).Add(float64(len(b.Events)))
		}
		b.Done(errUnroutable)
		return
	}
	cd := newCountdown(targets, b.Ack)
	for i, s := range p.sinks {
		if len(parts[i]) > 0 {
			s.enqueue(hard, Batch{Events: parts[i], Ack: cd.done})
		}
	}
}
