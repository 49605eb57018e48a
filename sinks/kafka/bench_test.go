package kafka

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline/metrics"
)

// BenchmarkWriteRealBroker measures Write against the real test broker:
// acks=all, 1 KB values, 2048 events per Write (the sink loop's default
// max_events), five keys over the topic's partitions. It reports events/s.
// Settings can be varied without editing: SIEMFWD_BENCH_COMPRESSION,
// SIEMFWD_BENCH_BATCH_TIMEOUT, SIEMFWD_BENCH_PARTITIONS.
func BenchmarkWriteRealBroker(b *testing.B) {
	brokers := realBrokers(b)
	cfg := testConfig(brokers, "")
	cfg.Compression = envOr("SIEMFWD_BENCH_COMPRESSION", "lz4")
	if v := os.Getenv("SIEMFWD_BENCH_BATCH_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(b, err)
		cfg.BatchTimeout = d
	}
	partitions, err := strconv.Atoi(envOr("SIEMFWD_BENCH_PARTITIONS", "3"))
	require.NoError(b, err)
	cfg.Topic = uniqueTopic(b)
	createTopic(b, brokers, cfg.Topic, partitions)
	s, err := New(cfg, slog.New(slog.DiscardHandler), metrics.New())
	require.NoError(b, err)
	defer s.Close(context.Background())

	const batch = 2048
	evs := events(batch, "kerio_control.security", 1024)
	ctx := context.Background()
	require.NoError(b, s.Write(ctx, evs)) // connect and cache metadata first

	b.SetBytes(int64(batch * 1024))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if err := s.Write(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
	b.Logf("compression=%s batch_timeout=%s partitions=%d", cfg.Compression, cfg.BatchTimeout, partitions)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
