package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"siemfwd/pipeline"
)

// conflict is a create refused because its _id exists: events[at] was to
// be stored in (the backing index) index.
type conflict struct {
	at    int
	index string
	ev    *pipeline.Event
}

// ErrIDConflict is the type of the BulkError of an event whose _id is held
// by a document of another event. Event ids are unique per accepted event,
// so this is a bug (or a foreign writer using our ids); the event is
// dead-lettered with it rather than counted as delivered.
const ErrIDConflict = "event_id_conflict"

// settle decides the conflicts of one _bulk answer with one realtime _mget
// of the documents that hold their ids. A document that is this event (its
// event.id is the event's) means an earlier attempt stored it and only the
// answer was lost: delivered, no item error. A document of another event is
// a permanent ErrIDConflict. A document that cannot be read (gone since, or
// the _mget failed) is a transient error: the retry's create decides anew.
// targets names the data stream or index of each of the Write's events.
func (s *Sink) settle(ctx context.Context, conflicts []conflict, targets []string) []pipeline.ItemError {
	stored, err := s.storedIDs(ctx, conflicts)
	var items []pipeline.ItemError
	mismatched := 0
	for k, c := range conflicts {
		be := &BulkError{Index: targets[c.at], DocumentID: c.ev.ID, Status: http.StatusConflict}
		switch {
		case err != nil:
			be.Type, be.Reason = "version_conflict_engine_exception", "document exists, and reading it failed: "+err.Error()
			items = append(items, pipeline.ItemError{Index: c.at, Err: be})
		case !stored[k].found:
			be.Type, be.Reason = "version_conflict_engine_exception", "document existed and is gone"
			items = append(items, pipeline.ItemError{Index: c.at, Err: be})
		case stored[k].eventID == c.ev.ID, stored[k].eventID == "" && c.ev.Flags&pipeline.FlagLegacyID != 0:
			// Stored by an earlier attempt (of this siemfwd, or of one
			// from before event ids, whose _id was a hash of the content
			// and the receive time: the same event).
		default:
			mismatched++
			be.Type = ErrIDConflict
			be.Reason = fmt.Sprintf("the _id is held by document %s in %s of event.id %q", c.ev.ID, c.index, stored[k].eventID)
			items = append(items, pipeline.ItemError{Index: c.at, Err: pipeline.Permanent(be)})
		}
	}
	if mismatched > 0 {
		s.log.Error("event ids held by other events; dead-lettering them", "events", mismatched,
			"example_id", conflicts[0].ev.ID, "index", conflicts[0].index)
	}
	return items
}

// storedDoc is what _mget says of one document.
type storedDoc struct {
	found   bool
	eventID string
}

// storedIDs reads the event.id of the documents that hold the conflicts'
// ids, in order. _mget is realtime: it sees a document created a moment
// ago, before any refresh (a search would not).
func (s *Sink) storedIDs(ctx context.Context, conflicts []conflict) ([]storedDoc, error) {
	var body bytes.Buffer
	body.WriteString(`{"docs":[`)
	for k, c := range conflicts {
		if k > 0 {
			body.WriteByte(',')
		}
		b := appendJSONString(append(body.AvailableBuffer(), `{"_index":`...), c.index)
		b = appendJSONString(append(b, `,"_id":`...), c.ev.ID)
		body.Write(append(b, '}'))
	}
	body.WriteString(`]}`)
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	res, err := esapi.MgetRequest{Body: &body, SourceIncludes: []string{"event.id"},
		FilterPath: []string{"docs.found", "docs._source.event.id", "docs.error.type"}}.Do(rctx, s.client)
	if err != nil {
		return nil, fmt.Errorf("mget: %w", err)
	}
	rb, err := readBody(res.Body)
	if err != nil {
		return nil, fmt.Errorf("mget: %w", err)
	}
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("mget: elasticsearch answered %d", res.StatusCode)
	}
	var answer struct {
		Docs []struct {
			Found  bool `json:"found"`
			Source struct {
				Event struct {
					ID string `json:"id"`
				} `json:"event"`
			} `json:"_source"`
			Error *esError `json:"error"`
		} `json:"docs"`
	}
	if err := json.Unmarshal(rb, &answer); err != nil {
		return nil, fmt.Errorf("mget: unparseable answer: %w", err)
	}
	if len(answer.Docs) != len(conflicts) {
		return nil, fmt.Errorf("mget: %d documents for %d ids", len(answer.Docs), len(conflicts))
	}
	out := make([]storedDoc, len(conflicts))
	for k, d := range answer.Docs {
		if d.Error != nil {
			return nil, fmt.Errorf("mget: %s", d.Error.Type)
		}
		out[k] = storedDoc{found: d.Found, eventID: d.Source.Event.ID}
	}
	return out, nil
}
