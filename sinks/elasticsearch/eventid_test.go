package elasticsearch

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/process"
)

// identicalEvents returns n events whose raw bytes, receive time and
// document are the same but for their ids: n identical lines of one read.
func identicalEvents(t testing.TB, n int, ns string) []*pipeline.Event {
	t.Helper()
	base := ecsEvents(t, 1, ns)[0]
	ids := pipeline.ConnectionScope(pipeline.NewSession(), "syslog_tcp", 1)
	p := process.NewECSProcessor(process.ProcessOptions{KeepOriginal: true, Namespace: ns}, nil)
	events := make([]*pipeline.Event, n)
	for i := range events {
		ev := &pipeline.Event{Raw: base.Raw, Received: base.Received, Origin: base.Origin, ID: ids.ID(uint64(i))}
		p.Process(ev)
		events[i] = ev
	}
	return events
}

func TestIdenticalEventsAreSeparateDocuments(t *testing.T) {
	f := newFakeES(t)
	events := identicalEvents(t, 10, "default")
	s := newTestSink(t, f.srv.URL, nil)
	require.NoError(t, s.Write(t.Context(), events))
	require.Equal(t, 10, f.Stored(), "ten events, ten documents")
	for i, a := range f.Calls()[0].Actions {
		require.Equal(t, events[i].ID, a.ID, "the _id is the event id")
		var doc struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		require.NoError(t, json.Unmarshal(a.Doc, &doc))
		require.Equal(t, events[i].ID, doc.Event.ID, "the document carries it as event.id")
	}
}

// TestConflictRule checks when a 409 on create is a delivery: only when the
// document holding the _id is this event.
func TestConflictRule(t *testing.T) {
	for _, tt := range []struct {
		name string
		// prepare stores what the node holds before the Write, by _id.
		prepare   func(f *fakeES, events []*pipeline.Event)
		mgetFails bool
		legacy    bool
		want      map[int]bool // item index → permanent
		wantType  string
	}{
		{name: "stored by an earlier attempt", prepare: func(f *fakeES, events []*pipeline.Event) {
			f.stored[events[1].ID] = events[1].JSON
		}, want: map[int]bool{}},
		{name: "held by another event", prepare: func(f *fakeES, events []*pipeline.Event) {
			f.stored[events[1].ID] = events[2].JSON // a document whose event.id is events[2]'s
		}, want: map[int]bool{1: true}, wantType: ErrIDConflict},
		{name: "held by a document without event.id", prepare: func(f *fakeES, events []*pipeline.Event) {
			f.stored[events[1].ID] = []byte(`{"message":"x"}`)
		}, want: map[int]bool{1: true}, wantType: ErrIDConflict},
		{name: "a replayed record from before event ids, stored then", legacy: true, prepare: func(f *fakeES, events []*pipeline.Event) {
			f.stored[events[1].ID] = []byte(`{"message":"x"}`)
		}, want: map[int]bool{}},
		{name: "the document cannot be read", mgetFails: true, prepare: func(f *fakeES, events []*pipeline.Event) {
			f.stored[events[1].ID] = events[1].JSON
		}, want: map[int]bool{1: false}, wantType: "version_conflict_engine_exception"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeES(t)
			events := ecsEvents(t, 3, "default")
			if tt.legacy {
				events[1].Flags |= pipeline.FlagLegacyID
			}
			tt.prepare(f, events)
			f.mgetFails = tt.mgetFails
			s := newTestSink(t, f.srv.URL, nil)
			err := s.Write(t.Context(), events)
			require.Equal(t, 1, f.mgets, "one _mget settles the conflicts")
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.want, itemErrors(t, err))
			var items pipeline.ItemErrors
			require.ErrorAs(t, err, &items)
			var be *BulkError
			require.ErrorAs(t, items[0].Err, &be)
			require.Equal(t, tt.wantType, be.Type)
			require.Equal(t, http.StatusConflict, be.Status)
			require.Equal(t, events[1].ID, be.DocumentID)
		})
	}
}

func TestDeadLettersCarryTheEventID(t *testing.T) {
	f := newFakeES(t)
	events := identicalEvents(t, 3, "default")
	s := newTestSink(t, f.srv.URL, nil)
	dlq := s.DeadLetterQueue()
	require.NoError(t, dlq.DeadLetter(t.Context(), "es", events, pipeline.Permanent(errEmptyOrMultiline)))
	require.Equal(t, 3, f.Stored(), "identical refused events are separate dead letters")
	// A retry of the same dead letters finds them stored: delivered.
	require.NoError(t, dlq.DeadLetter(t.Context(), "es", events, pipeline.Permanent(errEmptyOrMultiline)))
	require.Equal(t, 3, f.Stored())
	for i, a := range f.Calls()[0].Actions {
		var doc deadLetterDoc
		require.NoError(t, json.Unmarshal(a.Doc, &doc))
		require.Equal(t, events[i].ID, doc.Event.ID)
		require.Equal(t, events[i].ID, a.ID)
	}
}

// TestRealNodeStoresIdenticalEventsOnceEach sends ten identical events
// twice: ten documents, and the second Write (a retry whose answers were
// lost) is a delivery, settled by reading the documents back.
func TestRealNodeStoresIdenticalEventsOnceEach(t *testing.T) {
	ns := uniqueNamespace(t)
	cleanup(t, ns)
	s := realSink(t, ns, nil)
	events := identicalEvents(t, 10, ns)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	writeAll(ctx, t, s, events)
	require.NoError(t, s.Write(ctx, events), "the same events again: 409s on documents of these events")
	index := "logs-" + events[0].Routes.Dataset + "-" + ns
	require.Equal(t, 10, esCount(t, index, ""))
	for _, ev := range events {
		require.Equal(t, 1, esCount(t, index, `{"term":{"event.id":"`+ev.ID+`"}}`), "event %s", ev.ID)
	}

	// A document of another writer that holds an event's id is not that
	// event: its create is no delivery.
	other := identicalEvents(t, 1, ns)[0]
	require.Equal(t, 201, esDo(t, "PUT", "/"+index+"/_create/"+other.ID+"?refresh=true",
		`{"@timestamp":"2026-12-07T10:00:00Z","event":{"id":"someone-else"}}`, nil))
	err := s.Write(ctx, []*pipeline.Event{other})
	require.Equal(t, map[int]bool{0: true}, itemErrors(t, err))
	require.ErrorContains(t, err, ErrIDConflict)
	require.Equal(t, 11, esCount(t, index, ""))
}
