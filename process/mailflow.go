package process

import (
	"context"
	"time"

	"siemfwd/ecs"
	"siemfwd/enrich/geoip"
	"siemfwd/enrich/mailflow"
	"siemfwd/pipeline"
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
	origin  *pipeline.Origin
	ids     *pipeline.IDSequence
	m       *metrics.Metrics
}

// NewMailFlowSummaries makes the source for t. every is how often it
// expires open messages.
func NewMailFlowSummaries(t *mailflow.Tracker, geo *geoip.Enricher, every time.Duration, opts ProcessOptions, m *metrics.Metrics) *MailFlowSummaries {
	const name = "mail_flow"
	return &MailFlowSummaries{tracker: t, geo: geo, pending: make(chan mailflow.Summary, 4096), every: every, opts: opts, m: m,
		ids: pipeline.NewIDSequence(name), origin: &pipeline.Origin{Source: name, Transport: "internal", Format: pipeline.FormatECS, Location: time.UTC}}
}

// Name is the source name of the summaries.
func (s *MailFlowSummaries) Name() string { return s.origin.Source }

// Start acquires nothing: the summaries come from the workers, in memory.
func (s *MailFlowSummaries) Start(context.Context) error { return nil }

// Close releases nothing: Run holds nothing after it returns.
func (s *MailFlowSummaries) Close(context.Context) error { return nil }

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
func (s *MailFlowSummaries) Run(ctx context.Context, out chan<- pipeline.Batch) error {
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	send := func(sums []mailflow.Summary) {
		if len(sums) == 0 {
			return
		}
		b := pipeline.Batch{Events: s.events(sums)}
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
				b := pipeline.Batch{Events: s.events(rest)}
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

// events builds the summaries' events, leaving out (counted as a parse
// failure, format ecs_keys) one whose document cannot be encoded.
func (s *MailFlowSummaries) events(sums []mailflow.Summary) []*pipeline.Event {
	events := make([]*pipeline.Event, 0, len(sums))
	for i := range sums {
		ev, err := s.event(&sums[i])
		if err != nil {
			s.m.ParseFailures.WithLabelValues(s.origin.Source, formatECSKeys).Inc()
			continue
		}
		events = append(events, ev)
	}
	return events
}

// event builds the summary's ECS document.
func (s *MailFlowSummaries) event(sum *mailflow.Summary) (*pipeline.Event, error) {
	now := time.Now()
	id := s.ids.Next()
	var d ecs.Document
	sum.Fill(&d)
	d.SetTime(summaryKeys.eventCreated, now)
	d.SetString(summaryKeys.eventID, id)
	d.SetString(summaryKeys.eCSVersion, ecs.Version)
	d.SetString(summaryKeys.agentType, "siemfwd")
	d.SetStringNonEmpty(summaryKeys.agentName, s.opts.AgentName)
	d.SetStringNonEmpty(summaryKeys.agentVersion, s.opts.AgentVersion)
	d.SetString(summaryKeys.dataStreamType, "logs")
	d.SetString(summaryKeys.dataStreamDataset, "kerio_connect.mail")
	d.SetString(summaryKeys.dataStreamNamespace, s.opts.Namespace)
	if s.geo != nil {
		s.geo.Enrich(&d)
	}
	raw, err := new(ecs.Encoder).Append(nil, &d)
	if err != nil {
		return nil, err
	}
	return &pipeline.Event{Raw: raw, Received: now, Origin: s.origin, ID: id, Routes: pipeline.Routes{Dataset: "kerio_connect.mail", Kind: "event",
		Categories: []string{"email"}, Hostname: sum.Observer, SourceIP: sum.ClientIP, Module: "kerio_connect", Namespace: s.opts.Namespace}}, nil
}

// summaryKeys are the fields a mail-flow summary adds to those of mailflow.Summary.Fill.
var summaryKeys = struct {
	agentName           ecs.Key
	agentType           ecs.Key
	agentVersion        ecs.Key
	dataStreamDataset   ecs.Key
	dataStreamNamespace ecs.Key
	dataStreamType      ecs.Key
	eCSVersion          ecs.Key
	eventCreated        ecs.Key
	eventID             ecs.Key
}{
	agentName:           ecs.NewKey("agent.name"),
	agentType:           ecs.NewKey("agent.type"),
	agentVersion:        ecs.NewKey("agent.version"),
	dataStreamDataset:   ecs.NewKey("data_stream.dataset"),
	dataStreamNamespace: ecs.NewKey("data_stream.namespace"),
	dataStreamType:      ecs.NewKey("data_stream.type"),
	eCSVersion:          ecs.NewKey("ecs.version"),
	eventCreated:        ecs.NewKey("event.created"),
	eventID:             ecs.NewKey("event.id"),
}
