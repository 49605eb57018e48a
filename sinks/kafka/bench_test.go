package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// BenchmarkWriteRealBroker measures Write against the real test broker:
// acks=all, 1 KB values, 2048 events per Write (the sink loop's default
// max_events), five keys over the topic's partitions, values that compress
// like real documents. It reports events/s.
// Settings can be varied without editing: SIEMFWD_BENCH_COMPRESSION,
// SIEMFWD_BENCH_PARTITIONS.
func BenchmarkWriteRealBroker(b *testing.B) {
	brokers := realBrokers(b)
	cfg := testConfig(brokers, "")
	cfg.Compression = envOr("SIEMFWD_BENCH_COMPRESSION", "lz4")
	partitions, err := strconv.Atoi(envOr("SIEMFWD_BENCH_PARTITIONS", "3"))
	require.NoError(b, err)
	cfg.Topic = uniqueTopic(b)
	testservice.CreateTopic(b, brokers, cfg.Topic, partitions)
	s, err := New(cfg, slog.New(slog.DiscardHandler), metrics.New())
	require.NoError(b, err)
	defer s.Close(context.Background())

	const batch = 2048
	evs := events(batch, "kerio_control.security", 0)
	rng := rand.New(rand.NewPCG(1, 2))
	for i, ev := range evs {
		ev.JSON = realisticDoc(rng, i, 1024)
	}
	ctx := context.Background()
	// Connect and cache metadata first; a topic just created may not have
	// its leader yet, which the sink reports as a transient error.
	poll.Until(b, patience, "a first write that succeeds", func() bool {
		err := s.Write(ctx, evs)
		require.False(b, pipeline.IsPermanent(err), "first write: %v", err)
		return err == nil
	})

	b.SetBytes(int64(batch * 1024))
	b.ReportAllocs()
	start, cpu0 := time.Now(), cpuTime(b)
	for b.Loop() {
		if err := s.Write(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N*batch), "cpu-ns/event")
	b.Logf("compression=%s partitions=%d", cfg.Compression, partitions)
}

// realisticDoc makes a 1 KB ECS-like document that compresses about as
// well as real ones (field names and common values repeat; addresses, ids
// and times do not), so compression figures are not flattered by padding.
func realisticDoc(rng *rand.Rand, seq, size int) []byte {
	words := []string{"connection", "allowed", "denied", "mail", "delivered", "queue", "smtp", "http", "GET", "POST",
		"user", "admin", "login", "failed", "kerio", "control", "firewall", "rule", "nat", "tcp", "udp", "dns"}
	ip := func() string {
		return fmt.Sprintf("%d.%d.%d.%d", rng.IntN(223)+1, rng.IntN(256), rng.IntN(256), rng.IntN(256))
	}
	doc := fmt.Sprintf(`{"@timestamp":"2026-01-02T03:%02d:%02d.%03dZ","event":{"dataset":"kerio_control.security","kind":"event",`+
		`"module":"kerio","id":"%016x","seq":%d},"source":{"ip":"%s","port":%d},"destination":{"ip":"%s","port":%d},`+
		`"log":{"syslog":{"hostname":"fw%02d.example.org","priority":%d}},"message":"`,
		rng.IntN(60), rng.IntN(60), rng.IntN(1000), rng.Uint64(), seq, ip(), rng.IntN(65536), ip(), rng.IntN(65536),
		rng.IntN(20), rng.IntN(192))
	for len(doc) < size-2 {
		if rng.IntN(4) == 0 {
			doc += fmt.Sprintf("%x ", rng.Uint32())
		} else {
			doc += words[rng.IntN(len(words))] + " "
		}
	}
	return []byte(doc[:size-2] + `"}`)
}

// cpuTime is the CPU time (user and system) this process has used: the
// sink's own cost, without the broker's, which shares the machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
