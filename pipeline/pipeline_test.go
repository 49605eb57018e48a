package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"siemfwd/internal/poll"
	"siemfwd/pipeline"
	"siemfwd/pipeline/diskbuf"
	"siemfwd/pipeline/ledger"
	"siemfwd/pipeline/metrics"
	"siemfwd/sinks/sinktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeProcessor reads "dataset|kind|text" and uses the text as JSON.
type fakeProcessor struct{}

func (fakeProcessor) Process(ev *pipeline.Event) {
	parts := strings.SplitN(string(ev.Raw), "|", 3)
	ev.Routes.Dataset, ev.Routes.Kind = parts[0], parts[1]
	ev.JSON = []byte(parts[2])
}

// listSource sends its batches, records their acks, then waits for ctx.
type listSource struct {
	batches [][]string
	origin  *pipeline.Origin
	mu      sync.Mutex
	acks    []error
	acked   chan struct{} // receives once per ack
	sent    chan struct{} // closed when every batch is in the pipeline
	gate    chan struct{} // when not nil, the batches after the first wait for it to close
	onAck   func(error)   // when not nil, called by each ack before it is recorded
}

func newListSource(batches ...[]string) *listSource {
	n := len(batches)
	return &listSource{batches: batches, origin: &pipeline.Origin{Source: "src", Location: time.UTC},
		acked: make(chan struct{}, n), sent: make(chan struct{})}
}

func (s *listSource) Name() string { return "src" }

func (s *listSource) Start(context.Context) error { return nil }

func (s *listSource) Close(context.Context) error { return nil }

func (s *listSource) Run(ctx context.Context, out chan<- pipeline.Batch) error {
	for i, lines := range s.batches {
		if i == 1 && s.gate != nil {
			<-s.gate
		}
		var b pipeline.Batch
		for _, l := range lines {
			b.Events = append(b.Events, &pipeline.Event{Raw: []byte(l), Origin: s.origin, Received: time.Now()})
		}
		b.Ack = func(err error) {
			if s.onAck != nil {
				s.onAck(err)
			}
			s.mu.Lock()
			s.acks = append(s.acks, err)
			s.mu.Unlock()
			s.acked <- struct{}{}
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return nil
		}
	}
	close(s.sent)
	<-ctx.Done()
	return nil
}

func (s *listSource) waitAcks(t testing.TB, n int) []error {
	t.Helper()
	for range n {
		select {
		case <-s.acked:
		case <-time.After(30 * time.Second):
			t.Fatalf("ack not received in 30s")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.acks...)
}

func sinkCfg(mod ...func(*pipeline.SinkConfig)) pipeline.SinkConfig {
	c := pipeline.DefaultSinkConfig()
	c.RetryInitial, c.RetryMax = time.Millisecond, 2*time.Millisecond
	for _, f := range mod {
		f(&c)
	}
	return c
}

type harness struct {
	p      *pipeline.Pipeline
	m      *metrics.Metrics
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg pipeline.Config, src pipeline.Source, sinks ...pipeline.NamedSink) *harness {
	t.Helper()
	return startLedger(t, cfg, nil, src, sinks...)
}

// startLedger is start with the pipeline accounting in l (nil: no ledger).
func startLedger(t *testing.T, cfg pipeline.Config, l *ledger.Ledger, src pipeline.Source, sinks ...pipeline.NamedSink) *harness {
	t.Helper()
	return startWith(t, cfg, l, func() pipeline.Processor { return fakeProcessor{} }, src, sinks...)
}

// startWith is startLedger with the workers' processors made by newProcessor.
func startWith(t *testing.T, cfg pipeline.Config, l *ledger.Ledger, newProcessor func() pipeline.Processor,
	src pipeline.Source, sinks ...pipeline.NamedSink) *harness {
	t.Helper()
	m := metrics.New()
	p, err := pipeline.New(cfg, []pipeline.Source{src}, sinks, newProcessor, l, slog.New(slog.DiscardHandler), m)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{p: p, m: m, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- p.Run(ctx) }()
	t.Cleanup(func() { h.stop(t) })
	return h
}

func (h *harness) stop(t testing.TB) error {
	h.cancel()
	select {
	case err, ok := <-h.done:
		if ok {
			close(h.done)
		}
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("pipeline did not stop")
		return nil
	}
}

func jsonOf(events []*pipeline.Event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, string(ev.JSON))
	}
	return out
}

func TestEveryEventReachesTheSinkAndTheBatchIsAckedAfterTheWrite(t *testing.T) {
	src := newListSource([]string{"d|event|1", "d|event|2"}, []string{"d|event|3"})
	rec := &sinktest.Recorder{}
	start(t, pipeline.DefaultConfig(), src, pipeline.NamedSink{Name: "rec", Config: sinkCfg(), Sink: rec})

	acks := src.waitAcks(t, 2)
	require.Equal(t, []error{nil, nil}, acks)
	require.ElementsMatch(t, []string{"1", "2", "3"}, jsonOf(rec.Events()))
}

func TestRoutesSplitEventsAndTheAckWaitsForEverySink(t *testing.T) {
	src := newListSource([]string{"mail|event|m1", "fw|alert|f1", "mail|alert|m2"})
	mail := &sinktest.Blocking{Release: make(chan struct{}), Entered: make(chan struct{}, 1)}
	alerts := &sinktest.Recorder{Written: make(chan int, 1)}
	start(t, pipeline.DefaultConfig(), src,
		pipeline.NamedSink{Name: "mail", Sink: mail, Config: sinkCfg(func(c *pipeline.SinkConfig) {
			c.Route.Dataset.Include = []string{"mail"}
		})},
		pipeline.NamedSink{Name: "alerts", Sink: alerts, Config: sinkCfg(func(c *pipeline.SinkConfig) {
			c.Route.Kind.Include = []string{"alert"}
			c.Route.Dataset.Exclude = []string{"nothing"}
		})},
	)
	<-alerts.Written
	<-mail.Entered
	select {
	case <-src.acked:
		t.Fatal("batch acked before the mail sink wrote its part")
	default:
	}
	close(mail.Release)
	require.Equal(t, []error{nil}, src.waitAcks(t, 1))
	require.Equal(t, []string{"m1", "m2"}, jsonOf(mail.Events()))
	require.Equal(t, []string{"f1", "m2"}, jsonOf(alerts.Events()))
}

func TestTransientErrorsAreRetriedUntilTheyPass(t *testing.T) {
	src := newListSource([]string{"d|event|1", "d|event|2"})
	s := &sinktest.Scripted{Errors: []error{errors.New("broker down"), errors.New("still down")}}
	h := start(t, pipeline.DefaultConfig(), src, pipeline.NamedSink{Name: "s", Sink: s, Config: sinkCfg()})

	require.Equal(t, []error{nil}, src.waitAcks(t, 1))
	require.Equal(t, []string{"1", "2"}, jsonOf(s.Events()))
	require.Equal(t, 4.0, testutil.ToFloat64(h.m.SinkEvents.WithLabelValues("s", "retried")))
	require.Equal(t, 2.0, testutil.ToFloat64(h.m.SinkEvents.WithLabelValues("s", "sent")))
}

type recordingDLQ struct {
	mu     sync.Mutex
	events []string
	reason []error
}

func (d *recordingDLQ) DeadLetter(_ context.Context, _ string, events []*pipeline.Event, reason error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, jsonOf(events)...)
	d.reason = append(d.reason, reason)
	return nil
}

func TestPermanentErrorsGoToTheDeadLetterAndAreNotRetried(t *testing.T) {
	src := newListSource([]string{"d|event|1"})
	s := &sinktest.Scripted{Errors: []error{pipeline.Permanent(errors.New("record too large"))}}
	dlq := &recordingDLQ{}
	h := start(t, pipeline.DefaultConfig(), src, pipeline.NamedSink{Name: "s", Sink: s, Config: sinkCfg(), DeadLetter: dlq})

	require.Equal(t, []error{nil}, src.waitAcks(t, 1))
	require.Empty(t, s.Events())
	require.Equal(t, []string{"1"}, dlq.events)
	require.ErrorContains(t, dlq.reason[0], "record too large")
	require.Equal(t, 1.0, testutil.ToFloat64(h.m.SinkEvents.WithLabelValues("s", "dead_lettered")))
	require.Equal(t, 0.0, testutil.ToFloat64(h.m.SinkEvents.WithLabelValues("s", "retried")))
}

func TestItemErrorsRetryOnlyTheTransientItems(t *testing.T) {
	src := newListSource([]string{"d|event|ok", "d|event|busy", "d|event|bad"})
	s := &sinktest.Scripted{
		Errors: []error{pipeline.ItemErrors{
			{Index: 1, Err: errors.New("429 too many requests")},
			{Index: 2, Err: pipeline.Permanent(errors.New("400 mapper_parsing_exception"))},
		}},
		Calls: make(chan []*pipeline.Event, 4),
	}
	dlq := &recordingDLQ{}
	start(t, pipeline.DefaultConfig(), src, pipeline.NamedSink{Name: "s", Sink: s, Config: sinkCfg(), DeadLetter: dlq})

	require.Equal(t, []error{nil}, src.waitAcks(t, 1))
	require.Equal(t, []string{"ok", "busy", "bad"}, jsonOf(<-s.Calls))
	require.Equal(t, []string{"busy"}, jsonOf(<-s.Calls), "only the 429 item is retried")
	require.Equal(t, []string{"ok", "busy"}, jsonOf(s.Events()))
	require.Equal(t, []string{"bad"}, dlq.events)
}

func TestDropNewestKeepsOtherSinksFlowingAndCountsDrops(t *testing.T) {
	batches := make([][]string, 20)
	for i := range batches {
		batches[i] = []string{"d|event|x"}
	}
	src := newListSource(batches...)
	src.gate = make(chan struct{})
	stuck := &sinktest.Blocking{Release: make(chan struct{}), Entered: make(chan struct{}, len(batches))}
	fast := &sinktest.Recorder{}
	h := start(t, pipeline.DefaultConfig(), src,
		pipeline.NamedSink{Name: "stuck", Sink: stuck, Config: sinkCfg(func(c *pipeline.SinkConfig) {
			c.WhenFull = pipeline.WhenFullDropNewest
			c.QueueBatches = 2
			c.MaxEvents = 1 // one batch per Write
		})},
		pipeline.NamedSink{Name: "fast", Sink: fast, Config: sinkCfg()},
	)
	// The stuck sink holds the first batch in Write and the next two in its
	// queue; the others are dropped for it, so their acks arrive while it is
	// still stuck.
	<-stuck.Entered
	close(src.gate)
	acks := src.waitAcks(t, 17)
	for _, err := range acks {
		require.ErrorIs(t, err, pipeline.ErrDropped)
	}
	require.Equal(t, 17.0, testutil.ToFloat64(h.m.SinkDropped.WithLabelValues("stuck", metrics.ReasonQueueFull)))
	close(stuck.Release)
	acks = src.waitAcks(t, 3)
	require.Len(t, fast.Events(), 20)
	require.Len(t, acks, 20)
}

func TestShutdownDrainsWhatWasQueued(t *testing.T) {
	src := newListSource([]string{"d|event|1", "d|event|2"}, []string{"d|event|3"})
	rec := &sinktest.Recorder{}
	h := start(t, pipeline.DefaultConfig(), src, pipeline.NamedSink{Name: "rec", Config: sinkCfg(func(c *pipeline.SinkConfig) {
		c.Linger = time.Hour // only the drain can flush it
		c.MaxEvents = 1000
	}), Sink: rec})
	<-src.sent
	require.NoError(t, h.stop(t))
	require.Len(t, rec.Events(), 3)
	require.False(t, rec.Closed(), "the pipeline does not close a sink: the one that started it does")
}

func TestShutdownDeadlineAbandonsAStuckSinkAndSaysSo(t *testing.T) {
	src := newListSource([]string{"d|event|1"})
	stuck := &sinktest.Blocking{Release: make(chan struct{}), Entered: make(chan struct{}, 1)}
	cfg := pipeline.DefaultConfig()
	cfg.ShutdownTimeout = 50 * time.Millisecond
	h := start(t, cfg, src, pipeline.NamedSink{Name: "stuck", Sink: stuck, Config: sinkCfg()})
	<-stuck.Entered
	err := h.stop(t)
	require.ErrorContains(t, err, "1 events abandoned")
	require.Len(t, src.waitAcks(t, 1), 1)
	require.Equal(t, 1.0, testutil.ToFloat64(h.m.SinkDropped.WithLabelValues("stuck", metrics.ReasonShutdown)))
	require.EqualValues(t, 1, h.p.Abandoned())
}

// TestAbortAbandonsAtOnceAndCounts: a second SIGTERM (Abort) does not wait
// for the shutdown timeout; what was not written is counted as abandoned.
func TestAbortAbandonsAtOnceAndCounts(t *testing.T) {
	src := newListSource([]string{"d|event|1", "d|event|2"}, []string{"d|event|3"})
	stuck := &sinktest.Blocking{Release: make(chan struct{}), Entered: make(chan struct{}, 2)}
	cfg := pipeline.DefaultConfig()
	cfg.ShutdownTimeout = time.Hour
	h := start(t, cfg, src, pipeline.NamedSink{Name: "stuck", Sink: stuck, Config: sinkCfg(func(c *pipeline.SinkConfig) {
		c.MaxEvents = 2 // the first batch in Write, the second queued
	})})
	<-src.sent
	<-stuck.Entered
	h.cancel()
	h.p.Abort()
	err := h.stop(t)
	require.ErrorContains(t, err, "3 events abandoned at shutdown")
	require.Len(t, src.waitAcks(t, 2), 2)
	require.Equal(t, 3.0, testutil.ToFloat64(h.m.SinkDropped.WithLabelValues("stuck", metrics.ReasonShutdown)))
}

// deafSink blocks in Write until released, whatever its context says, as a
// write to a pipe that nobody reads does.
type deafSink struct{ entered, release chan struct{} }

func (d deafSink) Write(context.Context, []*pipeline.Event) error {
	d.entered <- struct{}{}
	<-d.release
	return nil
}
func (deafSink) Start(context.Context) error { return nil }

func (deafSink) Close(context.Context) error { return nil }

func TestShutdownReturnsWithinTheTimeoutWhenASinkNeverReturns(t *testing.T) {
	src := newListSource([]string{"d|event|1"})
	deaf := deafSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(deaf.release) // after the test: let the goroutine end for the leak check
	cfg := pipeline.DefaultConfig()
	cfg.ShutdownTimeout = 100 * time.Millisecond
	h := start(t, cfg, src, pipeline.NamedSink{Name: "deaf", Sink: deaf, Config: sinkCfg()})
	<-deaf.entered
	require.ErrorContains(t, h.stop(t), "sink deaf did not stop after the shutdown deadline; the 1 events it held are abandoned")
	require.Equal(t, 1.0, testutil.ToFloat64(h.m.SinkDropped.WithLabelValues("deaf", metrics.ReasonShutdown)))
}

func openBuffer(t *testing.T, dir string, maxBytes int64) *diskbuf.Buffer {
	t.Helper()
	cfg := diskbuf.DefaultConfig()
	cfg.MaxBytes, cfg.SegmentBytes, cfg.Sync = maxBytes, 4096, diskbuf.SyncBatch
	buf, err := diskbuf.Open(dir, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return buf
}

func TestDiskBufferAcksSourcesOnceStoredAndReplaysAfterRestart(t *testing.T) {
	dir := t.TempDir()
	src := newListSource([]string{"d|event|1", "d|event|2"}, []string{"d|event|3"})
	down := &sinktest.Blocking{Release: make(chan struct{}), Entered: make(chan struct{}, 10)}
	buf := openBuffer(t, dir, 1<<20)
	cfg := pipeline.DefaultConfig()
	cfg.ShutdownTimeout = 100 * time.Millisecond
	h := start(t, cfg, src, pipeline.NamedSink{Name: "es", Sink: down, Config: sinkCfg(), Buffer: buf})

	// The sink is down, yet the source hears that its batches are safe.
	require.Equal(t, []error{nil, nil}, src.waitAcks(t, 2))
	<-down.Entered
	require.NoError(t, h.stop(t), "the write in progress stays in the buffer at the deadline: nothing is abandoned")
	require.Zero(t, testutil.ToFloat64(h.m.SinkDropped.WithLabelValues("es", metrics.ReasonShutdown)))
	require.EqualValues(t, 3, buf.Stats().UnackedRecords)
	require.NoError(t, buf.Close())
	require.Empty(t, down.Events())

	// Next start: what the sink never acknowledged is delivered from disk.
	buf = openBuffer(t, dir, 1<<20)
	defer buf.Close()
	rec := &sinktest.Recorder{Written: make(chan int, 10)}
	h = start(t, pipeline.DefaultConfig(), newListSource(), pipeline.NamedSink{Name: "es", Sink: rec, Config: sinkCfg(), Buffer: buf})
	for n := 0; n < 3; n = <-rec.Written {
	}
	require.ElementsMatch(t, []string{"1", "2", "3"}, jsonOf(rec.Events()))
	require.Equal(t, "d", rec.Events()[0].Routes.Dataset, "routing fields survive the disk")
	require.NoError(t, h.stop(t))
	require.Zero(t, buf.Stats().UnackedRecords)
}

func TestFullDiskBufferDropsNewestWhenToldTo(t *testing.T) {
	batches := make([][]string, 50)
	for i := range batches {
		batches[i] = []string{"d|event|" + strings.Repeat("x", 400)}
	}
	src := newListSource(batches...)
	down := &sinktest.Blocking{Release: make(chan struct{}), Entered: make(chan struct{}, 100)}
	buf := openBuffer(t, t.TempDir(), 8192)
	defer buf.Close()
	h := start(t, pipeline.DefaultConfig(), src, pipeline.NamedSink{Name: "es", Sink: down, Buffer: buf,
		Config: sinkCfg(func(c *pipeline.SinkConfig) { c.WhenFull = pipeline.WhenFullDropNewest })})
	acks := src.waitAcks(t, 50)
	dropped := 0
	for _, err := range acks {
		if errors.Is(err, pipeline.ErrDropped) {
			dropped++
		} else {
			require.NoError(t, err)
		}
	}
	require.Positive(t, dropped)
	require.Less(t, dropped, 50)
	require.Equal(t, float64(dropped), testutil.ToFloat64(h.m.SinkDropped.WithLabelValues("es", metrics.ReasonQueueFull)))
	close(down.Release)
}

// TestDiskBufferedSinkGetsWholeBatches: events that wait in a disk buffer
// reach the sink in writes as large as max_events allows, not one write per
// source batch (finding 8 of issue 13).
func TestDiskBufferedSinkGetsWholeBatches(t *testing.T) {
	batches := make([][]string, 50)
	for i := range batches {
		batches[i] = []string{fmt.Sprintf("d|event|%d", i)}
	}
	src := newListSource(batches...)
	slow := &sinktest.Blocking{Release: make(chan struct{}), Entered: make(chan struct{}, 50)}
	buf := openBuffer(t, t.TempDir(), 1<<20)
	defer buf.Close()
	start(t, pipeline.DefaultConfig(), src, pipeline.NamedSink{Name: "kafka", Sink: slow, Buffer: buf, Config: sinkCfg()})
	<-slow.Entered // the first write holds the first batch
	require.Len(t, src.waitAcks(t, 50), 50, "the rest is stored")
	close(slow.Release)
	poll.Until(t, 30*time.Second, "50 events at the slow sink", func() bool { return len(slow.Events()) == 50 })
	require.Equal(t, 2, slow.Writes(), "the 49 stored batches go out in one write")
}

// TestDiskBufferIsDrainedAtShutdown: at shutdown, a disk-buffered sink
// delivers what its buffer holds before it stops, as a memory queue does.
func TestDiskBufferIsDrainedAtShutdown(t *testing.T) {
	batches := make([][]string, 20)
	for i := range batches {
		batches[i] = []string{fmt.Sprintf("d|event|%d", i)}
	}
	src := newListSource(batches...)
	slow := &sinktest.Blocking{Release: make(chan struct{}), Entered: make(chan struct{}, 20)}
	buf := openBuffer(t, t.TempDir(), 1<<20)
	defer buf.Close()
	h := start(t, pipeline.DefaultConfig(), src, pipeline.NamedSink{Name: "kafka", Sink: slow, Buffer: buf, Config: sinkCfg()})
	<-slow.Entered
	require.Len(t, src.waitAcks(t, 20), 20)
	h.cancel() // the drain starts while the sink still holds its first write
	close(slow.Release)
	require.NoError(t, h.stop(t))
	require.Len(t, slow.Events(), 20)
	require.Zero(t, buf.Stats().UnackedRecords)
}
