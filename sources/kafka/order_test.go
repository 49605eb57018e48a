package kafka

import (
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
)

// TestOneWorkerKeepsAPartitionsOrder: one partition (one sender's records,
// keyed by the edge) read by an indexer with one worker reaches the sink in
// the partition's order, across many source batches and sink writes. With
// more workers, batches may pass each other (docs/scaling.md, "Order").
func TestOneWorkerKeepsAPartitionsOrder(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	testservice.CreateTopic(t, brokers, topic, 1)
	const n = 3000
	produce(t, brokers, topic, 0, n)

	cfg := testConfig(brokers, topic, group)
	cfg.BatchEvents = 64 // dozens of source batches
	pcfg := pipeline.DefaultConfig()
	pcfg.Workers = 1
	scfg := pipeline.DefaultSinkConfig()
	scfg.MaxEvents = 200 // and of sink writes
	rec := runUnderPipeline(t, cfg, pcfg, scfg, n, nil)
	evs := rec.Events()
	require.Len(t, evs, n)
	for i, ev := range evs {
		require.Equal(t, i, lineNumber(t, ev.Raw), "event %d of the partition arrived out of order", i)
	}
}
