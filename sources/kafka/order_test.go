package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/sinks/sinktest"
)

// TestOneWorkerKeepsAPartitionsOrder: one partition (one sender's records,
// keyed by the edge) read by an indexer with one worker reaches the sink in
// the partition's order, across many source batches and sink writes. With
// more workers, batches may pass each other (docs/scaling.md, "Order").
func TestOneWorkerKeepsAPartitionsOrder(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	createTopic(t, brokers, topic, 1)
	const n = 3000
	produce(t, brokers, topic, 0, n)

	m, km := metrics.New(), NewMetrics()
	require.NoError(t, km.Register(m.Registry))
	cfg := testConfig(brokers, topic, group)
	cfg.BatchEvents = 64 // dozens of source batches
	src, err := New("indexer_kafka", cfg, testLogger(t), m, km)
	require.NoError(t, err)
	rec := &sinktest.Recorder{}
	pcfg := pipeline.DefaultConfig()
	pcfg.Workers, pcfg.ShutdownTimeout = 1, 30*time.Second
	scfg := pipeline.DefaultSinkConfig()
	scfg.MaxEvents = 200 // and of sink writes
	opts := pipeline.ProcessOptions{Namespace: "default"}
	p, err := pipeline.New(pcfg, []pipeline.Source{src}, []pipeline.NamedSink{{Name: "rec", Config: scfg, Sink: rec}},
		func() pipeline.Processor { return pipeline.NewECSProcessor(opts, m) }, nil, testLogger(t), m)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	poll.Until(t, 60*time.Second, fmt.Sprintf("%d documents", n), func() bool { return len(rec.Events()) >= n })
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("the pipeline did not stop")
	}
	evs := rec.Events()
	require.Len(t, evs, n)
	for i, ev := range evs {
		require.Equal(t, i, lineNumber(t, ev.Raw), "event %d of the partition arrived out of order", i)
	}
}
