package process

import (
	"context"
	"log/slog"
	"time"

	"siemfwd/ecs"
	"siemfwd/pipeline"
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
	origin *pipeline.Origin
	ids    *pipeline.IDSequence
	now    func() time.Time
}

// NewSilenceAlerts watches l every interval.
func NewSilenceAlerts(l *ledger.Ledger, every time.Duration, log *slog.Logger) *SilenceAlerts {
	const name = "siemfwd_ledger"
	return &SilenceAlerts{ledger: l, every: every, log: log, now: time.Now, ids: pipeline.NewIDSequence(name),
		origin: &pipeline.Origin{Source: name, Transport: "internal", Format: pipeline.FormatECS, Location: time.UTC}}
}

// Name is the source name the alerts carry.
func (a *SilenceAlerts) Name() string { return a.origin.Source }

// Start acquires nothing: the alerts read the ledger, which is in memory.
func (a *SilenceAlerts) Start(context.Context) error { return nil }

// Close releases nothing: Run holds nothing after it returns.
func (a *SilenceAlerts) Close(context.Context) error { return nil }

// Run watches until ctx ends.
func (a *SilenceAlerts) Run(ctx context.Context, out chan<- pipeline.Batch) error {
	a.ledger.Watch(ctx, a.every, func(s ledger.Sender) {
		ev, err := a.alert(s)
		if err != nil {
			a.log.Error("silence alert not built", "err", err)
			return
		}
		a.log.Warn("sender silent", "address", s.Address.String(), "hostname", s.Hostname,
			"last_seen", s.LastSeen, "interval", s.Interval)
		select {
		case out <- pipeline.Batch{Events: []*pipeline.Event{ev}}:
		case <-ctx.Done():
		}
	})
	return nil
}

// alert builds the ECS document of one silence.
func (a *SilenceAlerts) alert(s ledger.Sender) (*pipeline.Event, error) {
	now := a.now()
	id := a.ids.Next()
	var d ecs.Document
	d.SetTime(alertKeys.timestamp, now)
	d.SetTime(alertKeys.eventCreated, now)
	d.SetString(alertKeys.eventID, id)
	d.SetString(alertKeys.eventKind, "alert")
	d.SetStrings(alertKeys.eventCategory, "host")
	d.SetStrings(alertKeys.eventType, "info")
	d.SetString(alertKeys.eventAction, "sender-silent")
	d.SetString(alertKeys.eventDataset, "siemfwd.ledger")
	d.SetString(alertKeys.eventModule, "siemfwd")
	d.SetInt(alertKeys.eventDuration, int64(now.Sub(s.LastSeen)))
	d.SetString(alertKeys.message, "no events from "+senderName(s)+" for longer than "+s.Interval.String())
	if s.Address.IsValid() {
		d.SetString(alertKeys.observerIP, s.Address.String())
		d.SetStrings(alertKeys.relatedIP, s.Address.String())
	}
	d.SetStringNonEmpty(alertKeys.observerHostname, s.Hostname)
	if !s.LastSeen.IsZero() {
		d.SetTime(alertKeys.labelsLastSeen, s.LastSeen) // labels are keywords; an RFC 3339 string
	}
	d.SetString(alertKeys.labelsExpectedInterval, s.Interval.String())
	d.SetString(alertKeys.eCSVersion, ecs.Version)
	d.SetString(alertKeys.agentType, "siemfwd")
	d.SetString(alertKeys.dataStreamType, "logs")
	d.SetString(alertKeys.dataStreamDataset, "siemfwd.ledger")
	raw, err := new(ecs.Encoder).Append(nil, &d)
	if err != nil {
		return nil, err
	}
	return &pipeline.Event{Raw: raw, Received: now, Origin: a.origin, ID: id,
		Routes: pipeline.Routes{Dataset: "siemfwd.ledger", Kind: "alert", Categories: []string{"host"}, Hostname: s.Hostname, Module: "siemfwd"}}, nil
}

func senderName(s ledger.Sender) string {
	if s.Hostname != "" {
		return s.Hostname + " (" + s.Address.String() + ")"
	}
	return s.Address.String()
}

// alertKeys are the fields of a silence alert.
var alertKeys = struct {
	agentType              ecs.Key
	dataStreamDataset      ecs.Key
	dataStreamType         ecs.Key
	eCSVersion             ecs.Key
	eventAction            ecs.Key
	eventCategory          ecs.Key
	eventCreated           ecs.Key
	eventDataset           ecs.Key
	eventDuration          ecs.Key
	eventID                ecs.Key
	eventKind              ecs.Key
	eventModule            ecs.Key
	eventType              ecs.Key
	labelsExpectedInterval ecs.Key
	labelsLastSeen         ecs.Key
	message                ecs.Key
	observerHostname       ecs.Key
	observerIP             ecs.Key
	relatedIP              ecs.Key
	timestamp              ecs.Key
}{
	agentType:              ecs.NewKey("agent.type"),
	dataStreamDataset:      ecs.NewKey("data_stream.dataset"),
	dataStreamType:         ecs.NewKey("data_stream.type"),
	eCSVersion:             ecs.NewKey("ecs.version"),
	eventAction:            ecs.NewKey("event.action"),
	eventCategory:          ecs.NewKey("event.category"),
	eventCreated:           ecs.NewKey("event.created"),
	eventDataset:           ecs.NewKey("event.dataset"),
	eventDuration:          ecs.NewKey("event.duration"),
	eventID:                ecs.NewKey("event.id"),
	eventKind:              ecs.NewKey("event.kind"),
	eventModule:            ecs.NewKey("event.module"),
	eventType:              ecs.NewKey("event.type"),
	labelsExpectedInterval: ecs.NewKey("labels.expected_interval"),
	labelsLastSeen:         ecs.NewKey("labels.last_seen"),
	message:                ecs.NewKey("message"),
	observerHostname:       ecs.NewKey("observer.hostname"),
	observerIP:             ecs.NewKey("observer.ip"),
	relatedIP:              ecs.NewKey("related.ip"),
	timestamp:              ecs.NewKey("@timestamp"),
}
