package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
)

func TestDeadLetterStoresEachEventWithItsOwnReason(t *testing.T) {
	f := newFakeES(t)
	events := ecsEvents(t, 3, "default")
	badIP := events[0].ID
	f.item = func(a bulkAction, _ int) (int, string, string) {
		if a.ID == badIP && a.Index != "logs-siemfwd.deadletter-default" {
			return http.StatusBadRequest, "document_parsing_exception", "failed to parse field [source.ip] of type [ip]"
		}
		return 0, "", ""
	}
	s := newTestSink(t, f.srv.URL, nil)
	dlq := s.DeadLetterQueue()
	require.NotNil(t, dlq)

	// What the sink loop does: Write, then dead-letter the permanent items
	// with the error Write returned.
	err := s.Write(t.Context(), events[:2])
	require.Equal(t, map[int]bool{0: true}, itemErrors(t, err))
	require.NoError(t, dlq.DeadLetter(t.Context(), "es_main", events[:1], err))
	// A whole-batch reason applies to every event.
	require.NoError(t, dlq.DeadLetter(t.Context(), "kafka", events[2:3], pipeline.Permanent(errors.New("message too large"))))

	calls := f.Calls()
	require.Len(t, calls, 3)
	var docs []deadLetterDoc
	for _, c := range calls[1:] {
		for _, a := range c.Actions {
			require.Equal(t, "create", a.Op)
			require.Equal(t, "logs-siemfwd.deadletter-default", a.Index)
			var d deadLetterDoc
			require.NoError(t, json.Unmarshal(a.Doc, &d))
			require.Equal(t, d.Siemfwd.DocumentID, a.ID, "the dead-letter _id is the refused document's, so a retry dedupes")
			docs = append(docs, d)
		}
	}
	require.Len(t, docs, 2)
	d := docs[0]
	require.Equal(t, "pipeline_error", d.Event.Kind)
	require.Equal(t, string(events[0].Raw), d.Event.Original)
	require.Equal(t, string(events[0].JSON), d.Siemfwd.Document, "the document is kept verbatim as a string")
	require.Equal(t, "es_main", d.Siemfwd.Sink)
	require.Equal(t, "test", d.Siemfwd.Source)
	require.Equal(t, badIP, d.Siemfwd.DocumentID)
	require.Equal(t, "logs-kerio_connect.security-default", d.Siemfwd.Index)
	require.Equal(t, "document_parsing_exception", d.Error.Type)
	require.Equal(t, "400", d.Error.Code)
	require.Contains(t, d.Error.Message, "source.ip")
	require.True(t, d.Event.Created.Equal(events[0].Received))

	require.Equal(t, "kafka", docs[1].Siemfwd.Sink)
	require.Contains(t, docs[1].Error.Message, "message too large")
	require.Empty(t, docs[1].Error.Type)
}

func TestDeadLetterReportsRefusals(t *testing.T) {
	f := newFakeES(t)
	items := 0 // the fake answers the items of a request in order, under its lock
	f.item = func(bulkAction, int) (int, string, string) {
		items++
		if items == 2 {
			return 0, "", "" // stored
		}
		return http.StatusBadRequest, "mapper_parsing_exception", "no"
	}
	s := newTestSink(t, f.srv.URL, nil)
	err := s.DeadLetterQueue().DeadLetter(t.Context(), "x", ecsEvents(t, 3, "default"), errors.New("why"))
	var refused pipeline.ItemErrors
	require.ErrorAs(t, err, &refused, "per item: the pipeline counts only the refused documents as lost")
	require.Len(t, refused, 2)
	require.Equal(t, []int{0, 2}, []int{refused[0].Index, refused[1].Index})
	require.ErrorContains(t, refused[0].Err, "mapper_parsing_exception")

	f.item = nil
	f.request = func(int, bulkCall) (int, string, bool) { return http.StatusBadRequest, "", false }
	require.Error(t, s.DeadLetterQueue().DeadLetter(t.Context(), "x", ecsEvents(t, 1, "default"), errors.New("why")))
}

func TestDeadLetterRetriesABusyNode(t *testing.T) {
	f := newFakeES(t)
	f.request = func(call int, _ bulkCall) (int, string, bool) {
		if call <= 2 {
			return http.StatusTooManyRequests, `{"error":{"type":"circuit_breaking_exception"}}`, false
		}
		return 0, "", false
	}
	s := newTestSink(t, f.srv.URL, nil)
	require.NoError(t, s.DeadLetterQueue().DeadLetter(t.Context(), "x", ecsEvents(t, 2, "default"), errors.New("why")),
		"a 429 is asked again, not a lost dead letter")

	// A node that stays busy: the caller's context bounds the wait.
	f.request = func(int, bulkCall) (int, string, bool) { return http.StatusServiceUnavailable, "", false }
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.DeadLetterQueue().DeadLetter(ctx, "x", ecsEvents(t, 1, "default"), errors.New("why")), context.DeadlineExceeded)
}

func TestNoDeadLetterQueueWithoutIndex(t *testing.T) {
	s := newTestSink(t, "http://127.0.0.1:1", func(c *Config) { c.DeadLetterIndex = "" })
	require.Nil(t, s.DeadLetterQueue())
}
