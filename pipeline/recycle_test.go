package pipeline_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/sinks/sinktest"
)

// processBatch runs n corpus lines through p, cycling from first, as one batch.
func processBatch(p *pipeline.ECSProcessor, events []*pipeline.Event, first, n int) []*pipeline.Event {
	out := make([]*pipeline.Event, n)
	for i := range n {
		ev := *events[(first+i)%len(events)]
		p.Process(&ev)
		out[i] = &ev
	}
	return out
}

func jsonStarts(events []*pipeline.Event) map[*byte]bool {
	starts := map[*byte]bool{}
	for _, ev := range events {
		starts[unsafe.SliceData(ev.JSON)] = true
	}
	return starts
}

func TestEncodedJSONIsWrittenOverOnlyAfterItsBatchIsReleased(t *testing.T) {
	var lines []*pipeline.Event
	for _, l := range readCorpus(t, "dev.jsonl") {
		lines = append(lines, l.Event())
	}
	p := newProcessor()

	// Each batch spans several blocks (a corpus event's JSON is ~1 KiB).
	a := processBatch(p, lines, 0, 200)
	wantA := jsonOf(a)
	releaseA := p.EndBatch()
	require.NotNil(t, releaseA)

	b := processBatch(p, lines, 200, 200)
	wantB := jsonOf(b)
	releaseB := p.EndBatch()
	require.Equal(t, wantA, jsonOf(a), "an unreleased batch's JSON was written over")

	releaseA()
	c := processBatch(p, lines, 400, 200)
	require.Equal(t, wantB, jsonOf(b), "an unreleased batch's JSON was written over")
	reused := 0
	for start := range jsonStarts(c) {
		if jsonStarts(a)[start] {
			reused++
		}
	}
	require.Positive(t, reused, "the released batch's blocks were not reused")
	for start := range jsonStarts(c) {
		require.False(t, jsonStarts(b)[start], "a block of the unreleased batch was reused")
	}
	releaseB()
	_ = p.EndBatch()
}

func TestEncodedJSONIsNeverWrittenOverWithoutRelease(t *testing.T) {
	var lines []*pipeline.Event
	for _, l := range readCorpus(t, "dev.jsonl") {
		lines = append(lines, l.Event())
	}
	p := newProcessor()
	var kept []*pipeline.Event
	var want []string
	for i := range 10 {
		batch := processBatch(p, lines, i*100, 100)
		kept = append(kept, batch...)
		want = append(want, jsonOf(batch)...)
		_ = p.EndBatch() // dropped: as when a sink keeps events past its Ack
	}
	require.Equal(t, want, jsonOf(kept))
}

// recyclingProcessor is a fakeProcessor that logs when its batches are
// acknowledged and released, in order.
type recyclingProcessor struct {
	fakeProcessor
	log     *eventLog
	batches int
}

func (r *recyclingProcessor) EndBatch() func() {
	n := r.batches
	r.batches++
	return func() { r.log.add(fmt.Sprintf("release %d", n)) }
}

type eventLog struct {
	mu    sync.Mutex
	lines []string
	acks  int
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

// addAck logs the next batch's ack.
func (l *eventLog) addAck() {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf("ack %d", l.acks))
	l.acks++
	l.mu.Unlock()
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// nonRetaining is a recorder that promises to keep nothing (it keeps the
// events only to count them, and the test reads no bytes after release).
type nonRetaining struct{ sinktest.Recorder }

func (*nonRetaining) RetainsNoEvents() {}

type nonRetainingDeadLetter struct{}

func (nonRetainingDeadLetter) DeadLetter(context.Context, string, []*pipeline.Event, error) error {
	return nil
}
func (nonRetainingDeadLetter) RetainsNoEvents() {}

type retainingDeadLetter struct{}

func (retainingDeadLetter) DeadLetter(context.Context, string, []*pipeline.Event, error) error {
	return nil
}

// runRecycling sends three batches through a pipeline with a single worker
// and sinks, waits for their acks, stops it and returns the log.
func runRecycling(t *testing.T, sinks ...pipeline.NamedSink) []string {
	t.Helper()
	log := &eventLog{}
	src := newListSource([]string{"d|event|{}"}, []string{"d|event|{}", "d|event|{}"}, []string{"d|event|{}"})
	src.onAck = func(error) { log.addAck() }
	cfg := pipeline.DefaultConfig()
	cfg.Workers = 1
	p, err := pipeline.New(cfg, []pipeline.Source{src}, sinks,
		func() pipeline.Processor { return &recyclingProcessor{log: log} }, slog.New(slog.DiscardHandler), metrics.New())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	src.waitAcks(t, 3)
	cancel()
	require.NoError(t, <-done)
	return log.get()
}

func TestBatchMemoryIsReleasedAfterItsAckWhenNoSinkRetainsEvents(t *testing.T) {
	got := runRecycling(t,
		pipeline.NamedSink{Name: "a", Sink: &nonRetaining{}, Config: sinkCfg(), DeadLetter: nonRetainingDeadLetter{}},
		pipeline.NamedSink{Name: "b", Sink: &nonRetaining{}, Config: sinkCfg()})
	require.Equal(t, []string{"ack 0", "release 0", "ack 1", "release 1", "ack 2", "release 2"}, got)
}

func TestBatchMemoryIsNeverReleasedWhenASinkMayRetainEvents(t *testing.T) {
	for name, sinks := range map[string][]pipeline.NamedSink{
		"a sink without the promise": {
			{Name: "a", Sink: &nonRetaining{}, Config: sinkCfg()},
			{Name: "b", Sink: &sinktest.Recorder{}, Config: sinkCfg()},
		},
		"a dead-letter destination without the promise": {
			{Name: "a", Sink: &nonRetaining{}, Config: sinkCfg(), DeadLetter: retainingDeadLetter{}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, []string{"ack 0", "ack 1", "ack 2"}, runRecycling(t, sinks...))
		})
	}
	t.Run("a disk buffer (it hands stored events on in memory)", func(t *testing.T) {
		buf := openBuffer(t, t.TempDir(), 1<<20)
		got := runRecycling(t, pipeline.NamedSink{Name: "a", Sink: &nonRetaining{}, Config: sinkCfg(), Buffer: buf})
		require.NoError(t, buf.Close())
		require.Equal(t, []string{"ack 0", "ack 1", "ack 2"}, got)
	})
}

func TestAProfilesLabelsAndObserverCostNoAllocationPerEvent(t *testing.T) {
	line := readCorpus(t, "dev.jsonl")[0]
	origin := *line.Event().Origin
	origin.Profile = "branch"
	origin.Observer = pipeline.Observer{Name: "mx1", Vendor: "Kerio", Product: "Kerio Connect", Type: "mail-server"}
	origin.Labels = []pipeline.Label{{Key: "env", Value: "prod"}, {Key: "site", Value: "brno"}}
	p := newProcessor()
	process := func() *pipeline.Event {
		ev := line.Event()
		ev.Origin = &origin
		p.Process(ev)
		return ev
	}
	got := flatten(t, process().JSON)
	require.Equal(t, "prod", got["labels.env"])
	require.Equal(t, "brno", got["labels.site"])
	require.Equal(t, "branch", got["labels.siemfwd_profile"])
	require.Equal(t, "mx1", got["observer.name"])

	ev := line.Event()
	ev.Origin = &origin
	allocs := testing.AllocsPerRun(200, func() {
		e := *ev
		p.Process(&e)
	})
	require.Zero(t, allocs)
}
