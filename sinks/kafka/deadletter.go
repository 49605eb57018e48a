package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// deadLetterRetryFor bounds how long DeadLetter retries transient failures
// before it reports the events as not stored. The sink loop blocks
// meanwhile, which is the backpressure we want while the dead-letter topic's
// broker recovers, but not forever.
const deadLetterRetryFor = time.Minute

// DeadLetter stores events that a sink refused for good in a Kafka topic, as
// one JSON record per event:
//
//	{
//	  "@timestamp": "2026-01-02T03:04:05.678Z",       // when it was dead-lettered
//	  "siemfwd": {
//	    "sink":     "elasticsearch",                   // the sink that refused it
//	    "source":   "syslog_tcp",                      // the source that read it
//	    "error":    "…",                               // why
//	    "received": "2026-01-02T03:04:05.600Z"         // when the source read it
//	  },
//	  "event":    {"id": "…", "original": "<13>Jan  2 …"}, // its event.id; the raw bytes, as text
//	  "document": { … }                                // the ECS document the sink refused
//	}
//
// "document" is the event's JSON as an object, so the record can be fixed
// and replayed; it is left out when the event has no valid JSON. The topic
// and key templates and the headers (event.id among them) are those of a
// Sink with the same Config, so dead letters can be split by dataset
// ("dlq-{event.dataset}").
type DeadLetter struct {
	mu   sync.Mutex // serialises calls: Sink.Write is not safe for concurrent use
	sink *Sink
	log  *slog.Logger
}

// NewDeadLetter builds a dead-letter destination writing to cfg.Topic.
func NewDeadLetter(cfg Config, log *slog.Logger, m *metrics.Metrics) (*DeadLetter, error) {
	s, err := New(cfg, log, m)
	if err != nil {
		return nil, err
	}
	return &DeadLetter{sink: s, log: log}, nil
}

// deadLetterRecord is the JSON shape documented on DeadLetter.
type deadLetterRecord struct {
	Timestamp string          `json:"@timestamp"`
	Siemfwd   deadLetterMeta  `json:"siemfwd"`
	Event     deadLetterEvent `json:"event"`
	Document  json.RawMessage `json:"document,omitempty"`
}

type deadLetterMeta struct {
	Sink     string `json:"sink"`
	Source   string `json:"source,omitempty"`
	Error    string `json:"error"`
	Received string `json:"received,omitempty"`
}

type deadLetterEvent struct {
	ID       string `json:"id,omitempty"`
	Original string `json:"original"`
}

// DeadLetter writes events with the reason the sink named sink refused
// them. It returns nil once every record is acked; it retries transient
// failures with backoff for up to a minute, or until ctx ends. Records that
// cannot be stored are named by pipeline.ItemErrors when others were
// stored; an error of another kind means none was. The pipeline's sink loop calls
// it from the sink's goroutine; distinct sinks may call it concurrently, so
// calls are serialised.
func (d *DeadLetter) DeadLetter(ctx context.Context, sink string, events []*pipeline.Event, reason error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now().UTC()
	why := "unknown"
	if reason != nil {
		why = reason.Error()
	}
	todo := make([]*pipeline.Event, len(events))
	for i, ev := range events {
		rec := deadLetterRecord{
			Timestamp: now.Format(time.RFC3339Nano),
			Siemfwd:   deadLetterMeta{Sink: sink, Error: why},
			Event:     deadLetterEvent{ID: ev.ID, Original: string(ev.Raw)},
		}
		if ev.Origin != nil {
			rec.Siemfwd.Source = ev.Origin.Source
		}
		if !ev.Received.IsZero() {
			rec.Siemfwd.Received = ev.Received.UTC().Format(time.RFC3339Nano)
		}
		if json.Valid(ev.JSON) {
			rec.Document = ev.JSON
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("kafka dead letter: encode: %w", err)
		}
		c := *ev
		c.JSON = b
		todo[i] = &c
	}
	deadline := time.Now().Add(deadLetterRetryFor)
	backoff := 100 * time.Millisecond
	idx := make([]int, len(todo)) // idx[i] is todo[i]'s index in events
	for i := range idx {
		idx[i] = i
	}
	var refused pipeline.ItemErrors // records that cannot be stored
	for {
		err := d.sink.Write(ctx, todo)
		if err == nil {
			return refusedOrNil(refused, len(events))
		}
		var retry []*pipeline.Event
		var retryIdx []int
		var items pipeline.ItemErrors
		switch {
		case errors.As(err, &items):
			for _, it := range items {
				if pipeline.IsPermanent(it.Err) {
					refused = append(refused, pipeline.ItemError{Index: idx[it.Index], Err: fmt.Errorf("kafka dead letter: %w", it.Err)})
					continue
				}
				retry, retryIdx = append(retry, todo[it.Index]), append(retryIdx, idx[it.Index])
			}
		case pipeline.IsPermanent(err):
			return fmt.Errorf("kafka dead letter: %w", err)
		default:
			retry, retryIdx = todo, idx
		}
		if len(retry) == 0 {
			return refusedOrNil(refused, len(events))
		}
		var gaveUp error
		if time.Now().Add(backoff).After(deadline) {
			gaveUp = fmt.Errorf("kafka dead letter: gave up after %s: %w", deadLetterRetryFor, err)
		} else {
			d.log.Warn("dead-letter write failed; retrying", "events", len(retry), "backoff", backoff, "err", err)
			select {
			case <-time.After(backoff/2 + rand.N(backoff/2+1)):
			case <-ctx.Done():
				gaveUp = fmt.Errorf("kafka dead letter: %w (last error: %w)", ctx.Err(), err)
			}
		}
		if gaveUp != nil {
			for _, i := range retryIdx {
				refused = append(refused, pipeline.ItemError{Index: i, Err: gaveUp})
			}
			return refusedOrNil(refused, len(events))
		}
		backoff = min(2*backoff, 5*time.Second)
		todo, idx = retry, retryIdx
	}
}

// refusedOrNil returns nil when no record was refused, the first refusal
// when all n were, else the refused records.
func refusedOrNil(refused pipeline.ItemErrors, n int) error {
	switch len(refused) {
	case 0:
		return nil
	case n:
		return refused[0].Err
	}
	return refused
}

// Close releases the connections (every DeadLetter call waited for its
// records to be stored).
func (d *DeadLetter) Close(ctx context.Context) error {
	return d.sink.Close(ctx)
}

// Start checks (with create_topics, creates) the dead-letter topic, like Sink.Start.
func (d *DeadLetter) Start(ctx context.Context) error { return d.sink.Start(ctx) }

var (
	_ pipeline.DeadLetter = (*DeadLetter)(nil)
	_ pipeline.Component  = (*DeadLetter)(nil)
)
