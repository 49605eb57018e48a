package kafka

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the collectors only Kafka sources have. One Metrics serves
// every Kafka source of the process (their names are a label); run creates
// it and registers it on the process registry once.
type Metrics struct {
	// Lag is, for every partition of the source's topics, the records
	// between the partition's end and the group's committed offset: what
	// the group still has to deliver, whether this member, another or none
	// holds the partition. Every member exports the whole group's lag, so
	// a dashboard takes the max over members, not the sum. Partitions are a
	// bounded label: the topics' partition counts.
	Lag *prometheus.GaugeVec // source, topic, partition
	// PartitionsAssigned is the partitions this member holds in the
	// current generation; 0 while it joins or rebalances.
	PartitionsAssigned *prometheus.GaugeVec // source
	// Rebalances counts the generations this member joined.
	Rebalances *prometheus.CounterVec // source
	// CommitFailures counts offset commits the coordinator refused or that
	// did not reach it; the next commit retries.
	CommitFailures *prometheus.CounterVec // source
	// InFlight is the batches sent downstream and not yet acknowledged.
	InFlight *prometheus.GaugeVec // source
	// OffsetResets counts partitions whose position was out of range (the
	// records were deleted by retention) and restarted at start_offset.
	OffsetResets *prometheus.CounterVec // source
}

// NewMetrics creates the collectors; Register adds them to a registry.
func NewMetrics() *Metrics {
	return &Metrics{
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "siemfwd_kafka_consumer_lag_messages",
			Help: "Records between a partition's end and the group's committed offset, for every partition of the topics, held or not.",
		}, []string{"source", "topic", "partition"}),
		PartitionsAssigned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "siemfwd_kafka_partitions_assigned", Help: "Partitions this consumer group member holds in the current generation.",
		}, []string{"source"}),
		Rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_kafka_rebalances_total", Help: "Consumer group generations this member joined.",
		}, []string{"source"}),
		CommitFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_kafka_commit_failures_total", Help: "Offset commits that failed; the next commit retries.",
		}, []string{"source"}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "siemfwd_kafka_in_flight_batches", Help: "Batches sent downstream and not yet acknowledged.",
		}, []string{"source"}),
		OffsetResets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_kafka_offset_resets_total", Help: "Partitions whose position was out of range and restarted at start_offset.",
		}, []string{"source"}),
	}
}

// Register adds the collectors to reg. Call it once per registry.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.Lag, m.PartitionsAssigned, m.Rebalances, m.CommitFailures, m.InFlight, m.OffsetResets} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
