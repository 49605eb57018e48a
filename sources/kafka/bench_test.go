package kafka

import (
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"siemfwd/internal/testservice"
	"siemfwd/kafka/kafkaedge"
)

// BenchmarkConsumeRealBroker measures the raw-mode source alone: it reads a
// 6-partition topic of Kerio syslog lines from the local broker into a
// channel that a goroutine drains and acks at once, with the default
// settings (512-record batches, 1 MiB fetches, 64 batches in flight). Each
// iteration is a new group reading the whole topic. The records are plain
// lines, lines with edge headers, and lines with edge headers in lz4
// batches, as edge siemfwds send them. It reports events/s
// (wall clock: noisy on a shared machine) and the CPU time of this process
// per event (the broker runs in its own process and is not counted).
func BenchmarkConsumeRealBroker(b *testing.B) {
	for _, tc := range []struct {
		name    string
		headers bool
		codec   kafkago.Compression
	}{{"plain", false, 0}, {"edge_headers", true, 0}, {"edge_headers_lz4", true, kafkago.Lz4}} {
		b.Run(tc.name, func(b *testing.B) {
			brokers := realBrokers(b)
			const records = 100_000
			topic := uniqueName(b, "topic")
			testservice.CreateTopic(b, brokers, topic, 6)
			var hs []kafkago.Header
			if tc.headers {
				hs = kafkaedge.Headers(edgeEvent(readCorpus(b)[130], mustZone(b, "Europe/Prague")))
			}
			produceCompressed(b, brokers, topic, 0, records, tc.codec, hs...)

			var wall time.Duration
			total := 0
			cpu0 := processCPU()
			for i := 0; b.Loop(); i++ {
				cfg := testConfig(brokers, topic, fmt.Sprintf("%s-%d", uniqueName(b, "group"), i))
				cfg.BatchEvents, cfg.FetchMaxBytes, cfg.MaxInFlightBatches = DefaultConfig().BatchEvents,
					DefaultConfig().FetchMaxBytes, DefaultConfig().MaxInFlightBatches
				t0 := time.Now()
				r := start(b, "bench", cfg, 64)
				n := 0
				for n < records {
					batch := <-r.out
					n += len(batch.Events)
					batch.Done(nil)
				}
				wall += time.Since(t0)
				total += n
				r.Stop(b)
			}
			b.ReportMetric(float64(total)/wall.Seconds(), "events/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(total), "cpu-ns/event")
			b.ReportMetric(0, "ns/op") // an iteration is a whole topic: ns/op says nothing
		})
	}
}
