package pipeline

import (
	"context"
	"log/slog"
	"time"

	"siemfwd/ecs"
	"siemfwd/pipeline/ledger"
)

// SilenceAlerts is a source of alert events: when a sender the ledger
// expects has been silent longer than its interval, it emits one ECS event
// (event.kind alert, event.action sender-silent) through the normal sinks,
// and logs it. It runs until ctx ends.
type SilenceAlerts struct {
	ledger *ledger.Ledger
	every  time.Duration
	log    *slog.Logger
	origin *Origin
	ids    *IDSequence
	now    func() time.Time
}

// NewSilenceAlerts watches l every interval.
func NewSilenceAlerts(l *ledger.Ledger, every time.Duration, log *slog.Logger) *SilenceAlerts {
	const name = "siemfwd_ledger"
	return &SilenceAlerts{ledger: l, every: every, log: log, now: time.Now, ids: NewIDSequence(name),
		origin: &Origin{Source: name, Transport: "internal", Format: FormatECS, Location: time.UTC}}
}

// Name is the source name the alerts carry.
func (a *SilenceAlerts) Name() string { return a.origin.Source }

// Run watches until ctx ends.
func (a *SilenceAlerts) Run(ctx context.Context, out chan<- Batch) error {
	a.ledger.Watch(ctx, a.every, func(s ledger.Sender) {
		ev := a.alert(s)
		a.log.Warn("sender silent", "address", s.Address.String(), "hostname", s.Hostname,
			"last_seen", s.LastSeen, "interval", s.Interval)
		select {
		case out <- Batch{Events: []*Event{ev}}:
		case <-ctx.Done():
		}
	})
	return nil
}

// alert builds the ECS document of one silence.
func (a *SilenceAlerts) alert(s ledger.Sender) *Event {
	now := a.now()
	id := a.ids.Next()
	var d ecs.Document
	d.SetTime("@timestamp", now)
	d.SetTime("event.created", now)
	d.SetString("event.id", id)
	d.SetString("event.kind", "alert")
	d.SetStrings("event.category", "host")
	d.SetStrings("event.type", "info")
	d.SetString("event.action", "sender-silent")
	d.SetString("event.dataset", "siemfwd.ledger")
	d.SetString("event.module", "siemfwd")
	d.SetInt("event.duration", int64(now.Sub(s.LastSeen)))
	d.SetString("message", "no events from "+senderName(s)+" for longer than "+s.Interval.String())
	if s.Address.IsValid() {
		d.SetString("observer.ip", s.Address.String())
		d.SetStrings("related.ip", s.Address.String())
	}
	d.SetStringNonEmpty("observer.hostname", s.Hostname)
	if !s.LastSeen.IsZero() {
		d.SetTime("labels.last_seen", s.LastSeen) // labels are keywords; an RFC 3339 string
	}
	d.SetString("labels.expected_interval", s.Interval.String())
	d.SetString("ecs.version", ecs.Version)
	d.SetString("agent.type", "siemfwd")
	d.SetString("data_stream.type", "logs")
	d.SetString("data_stream.dataset", "siemfwd.ledger")
	raw := new(ecs.Encoder).Append(nil, &d)
	return &Event{Raw: raw, Received: now, Origin: a.origin, ID: id,
		Routes: Routes{Dataset: "siemfwd.ledger", Kind: "alert", Categories: []string{"host"}, Hostname: s.Hostname, Module: "siemfwd"}}
}

func senderName(s ledger.Sender) string {
	if s.Hostname != "" {
		return s.Hostname + " (" + s.Address.String() + ")"
	}
	return s.Address.String()
}
