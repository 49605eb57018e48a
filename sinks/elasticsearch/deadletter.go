package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"siemfwd/pipeline"
)

// DeadLetter stores the events a sink refused for good as documents of the
// dead-letter index (dead_letter_index, logs-siemfwd.deadletter-default by
// default), so that nothing is lost silently and an operator can fix the
// cause and replay them. One document per refused event:
//
//	{
//	  "@timestamp": "2026-03-14T09:33:02.5Z",         // when it was dead-lettered
//	  "event": {
//	    "kind": "pipeline_error",
//	    "dataset": "siemfwd.deadletter",
//	    "created": "2026-03-14T09:33:01Z",            // when siemfwd received it
//	    "original": "<20>1 2026-03-14T09:33:00Z …"      // the raw message
//	  },
//	  "error": {
//	    "type": "document_parsing_exception",         // ES error type, when ES gave one
//	    "code": "400",                                // the item's HTTP status, when known
//	    "message": "… failed to parse field [source.ip] …"
//	  },
//	  "siemfwd": {
//	    "sink": "elasticsearch",                      // the sink that refused it
//	    "source": "syslog_tls",                       // the configured source it came from
//	    "index": "logs-kerio_connect.security-default",
//	    "document_id": "q1ZC…",                       // its _id there
//	    "document": "{\"@timestamp\":…}"              // the ECS document as a string
//	  }
//	}
//
// The document is a string, mapped keyword with index and doc_values off,
// because it may be the very mapping conflict that got it refused; the
// dead-letter template maps nothing dynamically for the same reason. Each
// dead-letter document has the refused document's _id, so a retried
// dead-lettering does not store it twice.
//
// DeadLetter is safe for concurrent use, so it may serve several sinks.
type DeadLetter struct {
	s     *Sink
	index string
}

// DeadLetterQueue returns the dead-letter destination of this sink's
// cluster, or nil when dead_letter_index is empty. It shares the sink's
// client, so it has no lifecycle of its own: the sink's Start installs its
// template and the sink's Close releases the connections.
func (s *Sink) DeadLetterQueue() pipeline.DeadLetter {
	if s.cfg.DeadLetterIndex == "" {
		return nil
	}
	return &DeadLetter{s: s, index: s.cfg.DeadLetterIndex}
}

// deadLetterMappings map the dead-letter documents; "dynamic": false keeps
// any field we did not plan for in _source only.
var deadLetterMappings = []byte(`{
  "dynamic": false,
  "properties": {
    "@timestamp": {"type": "date"},
    "event": {"properties": {
      "kind": {"type": "keyword"},
      "dataset": {"type": "keyword"},
      "created": {"type": "date"},
      "original": {"type": "keyword", "index": false, "doc_values": false}
    }},
    "error": {"properties": {
      "type": {"type": "keyword"},
      "code": {"type": "keyword"},
      "message": {"type": "text"}
    }},
    "siemfwd": {"properties": {
      "sink": {"type": "keyword"},
      "source": {"type": "keyword"},
      "index": {"type": "keyword"},
      "document_id": {"type": "keyword"},
      "document": {"type": "keyword", "index": false, "doc_values": false}
    }}
  }
}`)

type deadLetterDoc struct {
	Timestamp time.Time `json:"@timestamp"`
	Event     struct {
		ID       string     `json:"id,omitempty"` // the refused event's id, also the _id
		Kind     string     `json:"kind"`
		Dataset  string     `json:"dataset"`
		Created  *time.Time `json:"created,omitempty"`
		Original string     `json:"original,omitempty"`
	} `json:"event"`
	Error struct {
		Type    string `json:"type,omitempty"`
		Code    string `json:"code,omitempty"`
		Message string `json:"message"`
	} `json:"error"`
	Siemfwd struct {
		Sink       string `json:"sink"`
		Source     string `json:"source,omitempty"`
		Index      string `json:"index,omitempty"`
		DocumentID string `json:"document_id"`
		Document   string `json:"document"`
	} `json:"siemfwd"`
}

// DeadLetter indexes one document per event with the reason it was
// refused. reason is what the sink returned: when it holds BulkErrors
// (inside pipeline.ItemErrors), each event gets its own ES error type and
// reason; otherwise every event gets reason's text. A nil return means all
// are stored; pipeline.ItemErrors name the documents the index refused (the
// others are stored); any other error means none is.
func (d *DeadLetter) DeadLetter(ctx context.Context, sink string, events []*pipeline.Event, reason error) error {
	if len(events) == 0 {
		return nil
	}
	byID := map[string]*BulkError{}
	var items pipeline.ItemErrors
	if errors.As(reason, &items) {
		for _, it := range items {
			var be *BulkError
			if errors.As(it.Err, &be) {
				byID[be.DocumentID] = be
			}
		}
	}
	var one *BulkError
	if errors.As(reason, &one) && len(items) == 0 {
		byID[one.DocumentID] = one
	}
	now := time.Now().UTC()
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	for _, ev := range events {
		id := ev.ID
		var doc deadLetterDoc
		doc.Timestamp = now
		doc.Event.ID = id
		doc.Event.Kind, doc.Event.Dataset = "pipeline_error", "siemfwd.deadletter"
		if !ev.Received.IsZero() {
			t := ev.Received.UTC()
			doc.Event.Created = &t
		}
		doc.Event.Original = string(ev.Raw)
		doc.Siemfwd.Sink, doc.Siemfwd.DocumentID, doc.Siemfwd.Document = sink, id, string(ev.JSON)
		if ev.Origin != nil {
			doc.Siemfwd.Source = ev.Origin.Source
		}
		doc.Siemfwd.Index = d.s.cfg.IndexName(ev)
		if be := byID[id]; be != nil {
			doc.Error.Type, doc.Error.Message = be.Type, be.Reason
			doc.Error.Code = strconv.Itoa(be.Status)
		} else if reason != nil {
			doc.Error.Message = reason.Error()
		}
		body.Write(appendAction(body.AvailableBuffer(), d.index, id))
		if err := enc.Encode(&doc); err != nil {
			return fmt.Errorf("dead letter: %w", err)
		}
	}
	// A node that does not answer, or answers 429/5xx, is asked again with
	// backoff for up to deadLetterRetryFor (or until ctx ends): the sink
	// loop waits meanwhile, which is the backpressure we want.
	deadline := time.Now().Add(deadLetterRetryFor)
	backoff := 100 * time.Millisecond
	var br bulkResponse
	for {
		err := d.bulk(ctx, body.Bytes(), &br)
		if err == nil {
			break
		}
		if !unavailable(err) || time.Now().Add(backoff).After(deadline) {
			return fmt.Errorf("dead letter: %w", err)
		}
		d.s.log.Warn("dead-letter write failed; retrying", "events", len(events), "backoff", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("dead letter: %w (last error: %w)", ctx.Err(), err)
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	if len(br.Items) != len(events) {
		return fmt.Errorf("dead letter: %d items for %d documents", len(br.Items), len(events))
	}
	var failed pipeline.ItemErrors
	var conflicts []conflict
	for i, it := range br.Items {
		switch {
		case created(it.Create):
		case exists(it.Create) && events[i].ID != "":
			conflicts = append(conflicts, conflict{at: i, index: it.Create.Error.Index, ev: events[i]})
		default:
			failed = append(failed, pipeline.ItemError{Index: i, Err: fmt.Errorf("dead letter: refused by %s: %d %s: %s",
				d.index, it.Create.Status, it.Create.Error.typ(), it.Create.Error.reason())})
		}
	}
	if len(conflicts) > 0 {
		targets := make([]string, len(events))
		for i := range targets {
			targets[i] = d.index
		}
		// An existing dead letter of this event was stored by an earlier
		// attempt; anything else is a failure of this one.
		for _, it := range d.s.settle(ctx, conflicts, targets) {
			failed = append(failed, pipeline.ItemError{Index: it.Index, Err: fmt.Errorf("dead letter: %w", it.Err)})
		}
	}
	if len(failed) > 0 {
		return failed
	}
	return nil
}

// deadLetterRetryFor bounds how long DeadLetter retries a node that does
// not answer before it reports the events as not stored.
const deadLetterRetryFor = time.Minute

// bulk sends one _bulk request and decodes its answer into br; a request
// that fails as a whole is an error.
func (d *DeadLetter) bulk(ctx context.Context, body []byte, br *bulkResponse) error {
	ctx, cancel := context.WithTimeout(ctx, d.s.cfg.RequestTimeout)
	defer cancel()
	res, err := esapi.BulkRequest{Body: bytes.NewReader(body), FilterPath: filterPath}.Do(ctx, d.s.client)
	if err != nil {
		return err
	}
	rb, err := readBody(res.Body)
	if err != nil {
		return err
	}
	*br = bulkResponse{}
	perr := json.Unmarshal(rb, br)
	if res.StatusCode >= 300 {
		return requestError(res.StatusCode, br.Error)
	}
	if perr != nil {
		return fmt.Errorf("unparseable response: %w", perr)
	}
	return nil
}

func (e *esError) typ() string {
	if e == nil {
		return "no error type"
	}
	return e.Type
}

var _ pipeline.DeadLetter = (*DeadLetter)(nil)
