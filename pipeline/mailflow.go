package pipeline

import (
	"context"
	"time"

	"siemfwd/ecs"
	"siemfwd/enrich/geoip"
	"siemfwd/enrich/mailflow"
	"siemfwd/pipeline/metrics"
)

// MailFlowSummaries is the source of the mail-flow summary events: workers
// offer the summaries their events complete (never blocking), and a ticker
// expires messages whose delivery never came. Summaries enter the pipeline
// as events of their own, so the individual events are never held back.
type MailFlowSummaries struct {
	tracker *mailflow.Tracker
	geo     *geoip.Enricher // may be nil
	pending chan mailflow.Summary
	every   time.Duration
	opts    ProcessOptions
	origin  *Origin
	ids     *IDSequence
	m       *metrics.Metrics
}

// NewMailFlowSummaries makes the source for t. every is how often it
// expires open messages.
func NewMailFlowSummaries(t *mailflow.Tracker, geo *geoip.Enricher, every time.Duration, opts ProcessOptions, m *metrics.Metrics) *MailFlowSummaries {
	const name = "mail_flow"
	return &MailFlowSummaries{tracker: t, geo: geo, pending: make(chan mailflow.Summary, 4096), every: every, opts: opts, m: m,
		ids: NewIDSequence(name), origin: &Origin{Source: name, Transport: "internal", Format: FormatECS, Location: time.UTC}}
}

// Name is the source name of the summaries.
func (s *MailFlowSummaries) Name() string { return s.origin.Source }

// Offer queues a summary without blocking: a worker must never wait on a
// source, which may itself wait on the workers. A full queue drops the
// summary (counted); the individual events are unaffected.
func (s *MailFlowSummaries) Offer(sum mailflow.Summary) {
	select {
	case s.pending <- sum:
	default:
		s.m.SourceDropped.WithLabelValues(s.origin.Source, metrics.ReasonQueueFull).Inc()
	}
}

// Run sends summaries until ctx ends, then flushes the open messages as
// timed-out summaries so they are not lost at shutdown.
func (s *MailFlowSummaries) Run(ctx context.Context, out chan<- Batch) error {
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	send := func(sums []mailflow.Summary) {
		if len(sums) == 0 {
			return
		}
		b := Batch{}
		for i := range sums {
			b.Events = append(b.Events, s.event(&sums[i]))
		}
		select {
		case out <- b:
		case <-ctx.Done():
		}
	}
	for {
		select {
		case <-ctx.Done():
			rest := s.tracker.Flush()
			for len(s.pending) > 0 {
				rest = append(rest, <-s.pending)
			}
			// The pipeline still drains after ctx ended, so a last send may wait briefly.
			if len(rest) > 0 {
				b := Batch{}
				for i := range rest {
					b.Events = append(b.Events, s.event(&rest[i]))
				}
				select {
				case out <- b:
				case <-time.After(time.Second):
					s.m.SourceDropped.WithLabelValues(s.origin.Source, metrics.ReasonShutdown).Add(float64(len(b.Events)))
				}
			}
			return nil
		case sum := <-s.pending:
			batch := []mailflow.Summary{sum}
			for len(batch) < 256 && len(s.pending) > 0 {
				batch = append(batch, <-s.pending)
			}
			send(batch)
		case now := <-tick.C:
			send(s.tracker.Expire(now))
		}
	}
}

// event builds the summary's ECS document.
func (s *MailFlowSummaries) event(sum *mailflow.Summary) *Event {
	now := time.Now()
	id := s.ids.Next()
	var d ecs.Document
	sum.Fill(&d)
	d.SetTime("event.created", now)
	d.SetString("event.id", id)
	d.SetString("ecs.version", ecs.Version)
	d.SetString("agent.type", "siemfwd")
	d.SetStringNonEmpty("agent.name", s.opts.AgentName)
	d.SetStringNonEmpty("agent.version", s.opts.AgentVersion)
	d.SetString("data_stream.type", "logs")
	d.SetString("data_stream.dataset", "kerio_connect.mail")
	d.SetString("data_stream.namespace", s.opts.Namespace)
	if s.geo != nil {
		s.geo.Enrich(&d)
	}
	raw := new(ecs.Encoder).Append(nil, &d)
	return &Event{Raw: raw, Received: now, Origin: s.origin, ID: id, Routes: Routes{Dataset: "kerio_connect.mail", Kind: "event",
		Categories: []string{"email"}, Hostname: sum.Observer, SourceIP: sum.ClientIP, Module: "kerio_connect", Namespace: s.opts.Namespace}}
}
