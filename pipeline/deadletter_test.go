package pipeline_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/pipeline"
	"siemfwd/pipeline/ledger"
	"siemfwd/pipeline/metrics"
	"siemfwd/sinks/sinktest"
)

// failingDLQ fails every dead-letter write with err while failing is set.
type failingDLQ struct {
	mu      sync.Mutex
	failing bool
	err     error
	stored  int
}

func (d *failingDLQ) DeadLetter(_ context.Context, _ string, events []*pipeline.Event, _ error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failing {
		return d.err
	}
	d.stored += len(events)
	return nil
}

func (d *failingDLQ) set(failing bool) {
	d.mu.Lock()
	d.failing = failing
	d.mu.Unlock()
}

// ledgerTotals adds up every sender of l.
func ledgerTotals(l *ledger.Ledger) (delivered uint64, dropped map[string]uint64) {
	dropped = map[string]uint64{}
	for _, s := range l.Snapshot() {
		delivered += s.Delivered
		for r, n := range s.Dropped {
			dropped[r] += n
		}
	}
	return delivered, dropped
}

func TestAFailedDeadLetterIsADropWithItsReasonNotADeadLetter(t *testing.T) {
	src := newListSource([]string{"d|event|ok", "d|event|bad", "d|event|ok2"}, []string{"d|event|bad2"})
	src.gate = make(chan struct{})
	s := &sinktest.Scripted{Errors: []error{
		pipeline.ItemErrors{{Index: 1, Err: pipeline.Permanent(errors.New("400 mapper_parsing_exception"))}},
		pipeline.Permanent(errors.New("400 mapper_parsing_exception")),
	}}
	dlq := &failingDLQ{failing: true, err: errors.New("dead-letter topic does not exist")}
	l := ledger.New(ledger.DefaultConfig(), nil)
	h := startLedger(t, pipeline.DefaultConfig(), l, src, pipeline.NamedSink{Name: "s", Sink: s, Config: sinkCfg(), DeadLetter: dlq})

	acks := src.waitAcks(t, 1)
	var lost *pipeline.Lost
	require.ErrorAs(t, acks[0], &lost, "the batch hears that one of its events was lost")
	require.ErrorIs(t, acks[0], pipeline.ErrDropped, "sources move past it, as past a when_full drop")
	require.Equal(t, []string{"bad"}, jsonOf(lost.Events))
	require.Equal(t, 0.0, testutil.ToFloat64(h.m.SinkEvents.WithLabelValues("s", "dead_lettered")), "not stored, so not dead-lettered")
	require.Equal(t, 1.0, testutil.ToFloat64(h.m.SinkEvents.WithLabelValues("s", "failed")))
	require.Equal(t, 1.0, testutil.ToFloat64(h.m.SinkDropped.WithLabelValues("s", metrics.ReasonDeadLetterFailed)))
	delivered, dropped := ledgerTotals(l)
	require.EqualValues(t, 2, delivered, "the two stored events of the batch are delivered")
	require.Equal(t, map[string]uint64{metrics.ReasonDeadLetterFailed: 1}, dropped)
	ready, problems := h.p.Ready()
	require.False(t, ready, "not ready while the dead-letter destination fails")
	require.Len(t, problems, 1)
	require.Contains(t, problems[0], "dead-letter topic does not exist")

	// The destination recovers: the next refused event is dead-lettered and
	// readiness comes back.
	dlq.set(false)
	close(src.gate)
	acks = src.waitAcks(t, 1)
	require.NoError(t, acks[1])
	require.Equal(t, 1.0, testutil.ToFloat64(h.m.SinkEvents.WithLabelValues("s", "dead_lettered")))
	ready, _ = h.p.Ready()
	require.True(t, ready)
	delivered, _ = ledgerTotals(l)
	require.EqualValues(t, 3, delivered, "a dead-lettered event counts as delivered")
}

func TestARefusedEventWithoutDeadLetterDestinationIsADrop(t *testing.T) {
	src := newListSource([]string{"d|event|bad"})
	s := &sinktest.Scripted{Errors: []error{pipeline.Permanent(errors.New("record too large"))}}
	l := ledger.New(ledger.DefaultConfig(), nil)
	h := startLedger(t, pipeline.DefaultConfig(), l, src, pipeline.NamedSink{Name: "s", Sink: s, Config: sinkCfg()})

	require.ErrorIs(t, src.waitAcks(t, 1)[0], pipeline.ErrDropped)
	require.Equal(t, 1.0, testutil.ToFloat64(h.m.SinkDropped.WithLabelValues("s", metrics.ReasonRefused)))
	delivered, dropped := ledgerTotals(l)
	require.Zero(t, delivered)
	require.Equal(t, map[string]uint64{metrics.ReasonRefused: 1}, dropped)
}

func TestADiskBufferedSinkCorrectsTheLedgerWhenADeadLetterFails(t *testing.T) {
	src := newListSource([]string{"d|event|ok", "d|event|bad"})
	s := &sinktest.Scripted{Errors: []error{
		pipeline.ItemErrors{{Index: 1, Err: pipeline.Permanent(errors.New("400 mapper_parsing_exception"))}},
	}, Calls: make(chan []*pipeline.Event, 2)}
	dlq := &failingDLQ{failing: true, err: errors.New("dead-letter index is read-only")}
	buf := openBuffer(t, t.TempDir(), 1<<20)
	defer buf.Close()
	l := ledger.New(ledger.DefaultConfig(), nil)
	h := startLedger(t, pipeline.DefaultConfig(), l, src, pipeline.NamedSink{Name: "s", Sink: s, Config: sinkCfg(), DeadLetter: dlq, Buffer: buf})

	require.NoError(t, src.waitAcks(t, 1)[0], "the disk buffer acknowledged the batch when it stored it")
	<-s.Calls
	poll.Until(t, patience, "the failed dead letter counted", func() bool {
		return testutil.ToFloat64(h.m.SinkDropped.WithLabelValues("s", metrics.ReasonDeadLetterFailed)) == 1
	})
	delivered, dropped := ledgerTotals(l)
	require.EqualValues(t, 1, delivered, "the lost event no longer counts as delivered")
	require.Equal(t, map[string]uint64{metrics.ReasonDeadLetterFailed: 1}, dropped)
}

// patience bounds a wait for a condition.
const patience = 30 * time.Second
