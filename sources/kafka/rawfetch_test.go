package kafka

import (
	"context"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/kafka/kafkabatch"
	"siemfwd/kafka/kafkaedge"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// lz4Batch returns an lz4 batch of lines at offsets base, base+1, ...
func lz4Batch(t *testing.T, base int64, lines ...string) []byte {
	t.Helper()
	msgs := make([]kafkago.Message, len(lines))
	order := make([]int, len(lines))
	for i, l := range lines {
		msgs[i], order[i] = kafkago.Message{Value: []byte(l), Time: time.UnixMilli(1_700_000_000_000)}, i
	}
	rd, err := kafkabatch.NewEncoder(kafkago.Lz4).Encode(msgs, order)
	require.NoError(t, err)
	b, err := io.ReadAll(rd)
	require.NoError(t, err)
	b = b[4:] // the size prefix
	binary.BigEndian.PutUint64(b, uint64(base))
	return b
}

// A batch that fails its CRC is counted and returned as an error after the
// records before it were sent; the next fetch starts at it again.
func TestCorruptBatchIsCountedAndFetchedAgain(t *testing.T) {
	m, km := metrics.New(), NewMetrics()
	src, err := New("k", testConfig([]string{"127.0.0.1:1"}, "t", "g"), nil, m, km)
	require.NoError(t, err)
	out := make(chan pipeline.Batch, 4)
	p := &partition{topic: "t", tr: newTracker(0)}
	f := fetcher{s: src, p: p, out: out, gs: &genState{idle: make(chan struct{}, 1)}, stop: context.Background(),
		edge: kafkaedge.NewDecoder(src.raw)}
	bad := lz4Batch(t, 2, "c", "d")
	bad[len(bad)-1] ^= 1
	set := append(lz4Batch(t, 0, "a", "b"), bad...)

	next, ok, err := f.records(set, 0)
	require.True(t, ok)
	require.ErrorIs(t, err, kafkabatch.ErrCorrupt)
	assert.Equal(t, int64(2), next)
	assert.EqualValues(t, 1, testutil.ToFloat64(m.ParseFailures.WithLabelValues("k", failureBatch)))
	b := <-out
	require.Len(t, b.Events, 2)
	assert.Equal(t, "a", string(b.Events[0].Raw))
	assert.Equal(t, "b", string(b.Events[1].Raw))
	b.Done(nil)
	assert.Equal(t, int64(2), p.tr.position())
}
