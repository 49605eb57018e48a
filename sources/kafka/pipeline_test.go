package kafka

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/process"
	"siemfwd/sinks/sinktest"
)

// TestUnderTheRealPipeline wires the source the way run.go will: the real
// pipeline with its workers and the ECS processor, and a recording sink.
// Every record becomes a document, the acks the sink loop sends back move
// the committed offsets to the end, and the pipeline's drain stops it.
func TestUnderTheRealPipeline(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	testservice.CreateTopic(t, brokers, topic, 3)
	const n = 3000
	produce(t, brokers, topic, 0, n)

	cfg := testConfig(brokers, topic, group)
	cfg.Product = "kerio_connect" // the hint reaches the parser
	pcfg := pipeline.DefaultConfig()
	pcfg.Workers = 2
	rec := runUnderPipeline(t, cfg, pcfg, pipeline.DefaultSinkConfig(), n, func() {
		poll.Until(t, 30*time.Second, "all committed",
			func() bool { sum, _ := committed(t, brokers, group, topic, 3); return sum == n })
	})
	evs := rec.Events()
	assert.Len(t, evs, n, "each record once")
	for _, ev := range evs[:10] {
		assert.Contains(t, string(ev.JSON), `"dataset":"kerio_connect.security"`)
		assert.Equal(t, "kerio_connect.security", ev.Routes.Dataset)
		assert.NotEmpty(t, ev.ID)
	}
	assert.False(t, rec.Closed(), "the pipeline leaves closing the sink to its owner")
}

// runUnderPipeline runs a source of cfg under the real pipeline (the ECS
// processor, one recording sink) until the sink holds n events and then,
// after before returns, drains it; it returns the recorder.
func runUnderPipeline(t *testing.T, cfg Config, pcfg pipeline.Config, scfg pipeline.SinkConfig, n int, before func()) *sinktest.Recorder {
	t.Helper()
	m, km := metrics.New(), NewMetrics()
	require.NoError(t, km.Register(m.Registry))
	src, err := New("indexer_kafka", cfg, testLogger(t), m, km)
	require.NoError(t, err)
	rec := &sinktest.Recorder{}
	pcfg.ShutdownTimeout = 30 * time.Second
	opts := process.ProcessOptions{KeepOriginal: true, Namespace: "default"}
	p, err := pipeline.New(pcfg, []pipeline.Source{src}, []pipeline.NamedSink{{Name: "rec", Config: scfg, Sink: rec}},
		func() pipeline.Processor { return process.NewECSProcessor(opts, m) }, nil, testLogger(t), m)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	poll.Until(t, 60*time.Second, fmt.Sprintf("%d documents", n), func() bool { return len(rec.Events()) >= n })
	if before != nil {
		before()
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("the pipeline did not stop")
	}
	return rec
}

func TestRunStopsPromptlyWithoutABroker(t *testing.T) {
	cfg := validConfig()
	cfg.Brokers = []string{"127.0.0.1:1"} // nothing listens on port 1
	cfg.DialTimeout = time.Second
	logs := &syncBuffer{}
	src, err := New("nobroker", cfg, slog.New(slog.NewTextHandler(logs, nil)), metrics.New(), NewMetrics())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, make(chan pipeline.Batch)) }()
	poll.Until(t, 30*time.Second, "the source tried and failed to reach the broker",
		func() bool { return strings.Contains(logs.String(), "cannot list topics") })
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
