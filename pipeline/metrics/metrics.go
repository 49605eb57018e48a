// Package metrics holds every Prometheus collector siemfwd exports. One
// Metrics is created per process in run and passed down; there is no global
// registry. Labels stay bounded: configured names, reasons and outcomes,
// never a peer address or hostname.
//
// It is engine support: it imports only the Prometheus client, so the engine,
// the domain packages, sources and sinks may all import it.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Reasons for dropping an event. They are the values of the "reason" label.
const (
	ReasonQueueFull    = "queue_full" // the pipeline or a sink queue was full and the policy dropped
	ReasonOversize     = "oversize"   // a frame longer than the maximum was cut (counted, still forwarded)
	ReasonBadFrame     = "bad_frame"  // framing not believed: an octet count out of range, or one that lied (the frame was cut where the stream resynchronised)
	ReasonConnLimit    = "connection_limit"
	ReasonShutdown     = "shutdown"      // abandoned at the shutdown deadline
	ReasonDeadLettered = "dead_lettered" // a sink refused the event for good
	ReasonNotAllowed   = "not_allowed"   // sender outside the allow-list
	ReasonTLSHandshake = "tls_handshake" // a TLS handshake failed: wrong CA, expired certificate, plain TCP on a TLS port
	ReasonRateLimited  = "rate_limited"
	ReasonReadError    = "read_error"
	ReasonUnroutable   = "unroutable" // no sink route took the event
	// ReasonRefused: a sink refused the event for good and it has no dead-letter destination.
	ReasonRefused = "refused"
	// ReasonDeadLetterFailed: a sink refused the event for good and the dead-letter write failed too.
	ReasonDeadLetterFailed = "dead_letter_failed"
)

// Metrics is the set of collectors. Every field is safe for concurrent use.
type Metrics struct {
	Registry *prometheus.Registry

	SourceReceived      *prometheus.CounterVec   // source
	SourceReceivedBytes *prometheus.CounterVec   // source
	SourceDropped       *prometheus.CounterVec   // source, reason
	SourceConnections   *prometheus.GaugeVec     // source
	SourceTruncated     *prometheus.CounterVec   // source
	ParseFailures       *prometheus.CounterVec   // source, format
	ClockSkew           *prometheus.CounterVec   // source
	QueueEvents         *prometheus.GaugeVec     // queue
	QueueCapacity       *prometheus.GaugeVec     // queue
	SinkEvents          *prometheus.CounterVec   // sink, outcome
	SinkBatches         *prometheus.CounterVec   // sink
	SinkDropped         *prometheus.CounterVec   // sink, reason
	SinkRequestDuration *prometheus.HistogramVec // sink
	BuildInfo           *prometheus.GaugeVec     // version, goversion
}

// New creates the collectors and registers them, with the Go runtime and
// process collectors, on a new registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		SourceReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_source_received_events_total", Help: "Events received by a source, before any drop.",
		}, []string{"source"}),
		SourceReceivedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_source_received_bytes_total", Help: "Bytes of event payload received by a source.",
		}, []string{"source"}),
		SourceDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_source_dropped_events_total", Help: "Events a source received but could not pass on, by reason.",
		}, []string{"source", "reason"}),
		SourceConnections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "siemfwd_source_connections", Help: "Open stream connections of a source.",
		}, []string{"source"}),
		SourceTruncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_source_truncated_events_total", Help: "Events cut at the maximum message size and tagged _truncated.",
		}, []string{"source"}),
		ParseFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_parse_failures_total", Help: "Events whose header or payload could not be parsed; they are still forwarded, tagged.",
		}, []string{"source", "format"}),
		ClockSkew: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_clock_skew_events_total", Help: "Events whose own time was further from the receive time than their sender profile allows; tagged _clock_skew.",
		}, []string{"source"}),
		QueueEvents: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "siemfwd_queue_batches", Help: "Batches waiting in a queue.",
		}, []string{"queue"}),
		QueueCapacity: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "siemfwd_queue_capacity_batches", Help: "Capacity of a queue in batches.",
		}, []string{"queue"}),
		SinkEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_sink_events_total", Help: "Events handled by a sink, by outcome: sent, retried, dead_lettered (stored by the dead-letter destination), failed (neither stored nor dead-lettered).",
		}, []string{"sink", "outcome"}),
		SinkBatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_sink_batches_total", Help: "Write calls a sink completed successfully.",
		}, []string{"sink"}),
		SinkDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siemfwd_sink_dropped_events_total", Help: "Events a sink lost, by reason: queue_full (its when_full policy), refused (refused for good, no dead-letter destination), dead_letter_failed (refused, and the dead-letter write failed).",
		}, []string{"sink", "reason"}),
		SinkRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "siemfwd_sink_request_duration_seconds", Help: "Duration of one sink write.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"sink"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "siemfwd_build_info", Help: "Always 1; labels carry the version.",
		}, []string{"version", "goversion"}),
	}
	reg.MustRegister(m.SourceReceived, m.SourceReceivedBytes, m.SourceDropped, m.SourceConnections,
		m.SourceTruncated, m.ParseFailures, m.ClockSkew, m.QueueEvents, m.QueueCapacity, m.SinkEvents, m.SinkBatches,
		m.SinkDropped, m.SinkRequestDuration, m.BuildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// InitSource creates a configured source's series at zero, so that they
// exist from the first scrape: rate() and absent() alerts need no event
// first. Reasons that only some source types have appear when counted.
func (m *Metrics) InitSource(name string) {
	m.SourceReceived.WithLabelValues(name)
	m.SourceReceivedBytes.WithLabelValues(name)
	m.SourceTruncated.WithLabelValues(name)
	m.ClockSkew.WithLabelValues(name)
	for _, reason := range []string{ReasonQueueFull, ReasonShutdown, ReasonUnroutable} {
		m.SourceDropped.WithLabelValues(name, reason)
	}
}

// InitSink creates a configured sink's series at zero, as InitSource does.
func (m *Metrics) InitSink(name string) {
	for _, outcome := range []string{"sent", "retried", "dead_lettered", "failed"} {
		m.SinkEvents.WithLabelValues(name, outcome)
	}
	m.SinkBatches.WithLabelValues(name)
	for _, reason := range []string{ReasonQueueFull, ReasonShutdown} {
		m.SinkDropped.WithLabelValues(name, reason)
	}
	m.SinkRequestDuration.WithLabelValues(name)
	m.QueueEvents.WithLabelValues(name)
}
