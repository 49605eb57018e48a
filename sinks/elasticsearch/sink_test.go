package elasticsearch

import (
	"errors"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
)

// itemErrors asserts err is ItemErrors and returns index → permanent.
func itemErrors(t *testing.T, err error) map[int]bool {
	t.Helper()
	var items pipeline.ItemErrors
	require.ErrorAs(t, err, &items)
	got := map[int]bool{}
	for _, it := range items {
		got[it.Index] = pipeline.IsPermanent(it.Err)
	}
	return got
}

func TestItem429IsTransientAndOnlyThatItemIsResent(t *testing.T) {
	f := newFakeES(t)
	events := ecsEvents(t, 5, "default")
	busy := events[2].ID
	f.item = func(a bulkAction, attempt int) (int, string, string) {
		if a.ID == busy && attempt == 1 {
			return http.StatusTooManyRequests, "es_rejected_execution_exception", "rejected execution of coordinating operation"
		}
		return 0, "", ""
	}
	s := newTestSink(t, f.srv.URL, nil)

	err := s.Write(t.Context(), events)
	require.Equal(t, map[int]bool{2: false}, itemErrors(t, err))
	require.ErrorContains(t, err, "es_rejected_execution_exception")
	require.Equal(t, 4, f.Stored())

	// The sink loop sends the transient items alone.
	require.NoError(t, s.Write(t.Context(), events[2:3]))
	calls := f.Calls()
	require.Len(t, calls, 2)
	require.Len(t, calls[1].Actions, 1)
	require.Equal(t, busy, calls[1].Actions[0].ID)
	require.Equal(t, 5, f.Stored())
}

func TestMappingErrorIsPermanentWithTypeAndReason(t *testing.T) {
	f := newFakeES(t)
	events := ecsEvents(t, 3, "default")
	bad := events[0].ID
	f.item = func(a bulkAction, _ int) (int, string, string) {
		if a.ID == bad {
			return http.StatusBadRequest, "document_parsing_exception", "[1:20] failed to parse field [source.ip] of type [ip]"
		}
		return 0, "", ""
	}
	s := newTestSink(t, f.srv.URL, nil)
	err := s.Write(t.Context(), events)
	require.Equal(t, map[int]bool{0: true}, itemErrors(t, err))
	var items pipeline.ItemErrors
	require.ErrorAs(t, err, &items)
	var be *BulkError
	require.ErrorAs(t, items[0].Err, &be)
	require.Equal(t, "document_parsing_exception", be.Type)
	require.Equal(t, http.StatusBadRequest, be.Status)
	require.Equal(t, bad, be.DocumentID)
	require.Equal(t, "logs-kerio_connect.security-default", be.Index)
	require.ErrorContains(t, err, "failed to parse field [source.ip]")
}

func TestConflictOnRetriedCreateCountsAsDelivered(t *testing.T) {
	f := newFakeES(t)
	events := ecsEvents(t, 4, "default")
	// The first answer is lost after the node stored everything.
	f.request = func(n int, _ bulkCall) (int, string, bool) {
		if n == 1 {
			return http.StatusGatewayTimeout, `{"error":{"type":"timeout","reason":"lost"},"status":504}`, true
		}
		return 0, "", false
	}
	s := newTestSink(t, f.srv.URL, nil)
	err := s.Write(t.Context(), events)
	require.Error(t, err)
	require.False(t, pipeline.IsPermanent(err))

	require.NoError(t, s.Write(t.Context(), events), "409 on create must count as delivered")
	require.Equal(t, 4, f.Stored())
	require.Len(t, f.Calls(), 2)
}

func TestRequestLevelStatuses(t *testing.T) {
	tests := []struct {
		status    int
		body      string
		permanent bool
	}{
		{http.StatusServiceUnavailable, `{"error":{"type":"unavailable_shards_exception","reason":"no shards"},"status":503}`, false},
		{http.StatusTooManyRequests, `{"error":{"type":"es_rejected_execution_exception","reason":"queue full"},"status":429}`, false},
		{http.StatusUnauthorized, `{"error":{"type":"security_exception","reason":"unable to authenticate"},"status":401}`, false},
		{http.StatusForbidden, `{"error":{"type":"security_exception","reason":"action unauthorized"},"status":403}`, false},
		{http.StatusBadGateway, `<html>proxy error</html>`, false},
		{http.StatusBadRequest, `{"error":{"type":"illegal_argument_exception","reason":"Malformed action/metadata line"},"status":400}`, true},
		{http.StatusRequestEntityTooLarge, ``, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			f := newFakeES(t)
			f.request = func(int, bulkCall) (int, string, bool) { return tt.status, tt.body, false }
			s := newTestSink(t, f.srv.URL, nil)
			err := s.Write(t.Context(), ecsEvents(t, 3, "default"))
			require.Error(t, err)
			var items pipeline.ItemErrors
			require.False(t, errors.As(err, &items), "a whole-request failure is one error, not items")
			require.Equal(t, tt.permanent, pipeline.IsPermanent(err), "%v", err)
			var re *RequestError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tt.status, re.Status)
		})
	}
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	f := newFakeES(t)
	url := f.srv.URL
	f.srv.Close()
	s := newTestSink(t, url, nil)
	err := s.Write(t.Context(), ecsEvents(t, 2, "default"))
	require.Error(t, err)
	require.False(t, pipeline.IsPermanent(err))
}

func TestUnparseableOrShortResponseIsTransient(t *testing.T) {
	for name, body := range map[string]string{
		"garbage":     `{"took":1,"errors":fals`,
		"short items": `{"took":1,"errors":false,"items":[{"create":{"status":201}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeES(t)
			f.request = func(int, bulkCall) (int, string, bool) { return http.StatusOK, body, false }
			s := newTestSink(t, f.srv.URL, nil)
			err := s.Write(t.Context(), ecsEvents(t, 3, "default"))
			require.Error(t, err)
			require.False(t, pipeline.IsPermanent(err))
		})
	}
}

func TestBodyIsGzipNDJSONWithCreateIndexAndID(t *testing.T) {
	f := newFakeES(t)
	events := ecsEvents(t, 50, "prod")
	s := newTestSink(t, f.srv.URL, nil)
	require.NoError(t, s.Write(t.Context(), events))
	calls := f.Calls()
	require.Len(t, calls, 1)
	c := calls[0]
	require.True(t, c.Gzip, "Content-Encoding: gzip expected")
	require.Less(t, c.WireBytes*2, c.PlainBytes, "body should be well compressed: %d of %d bytes", c.WireBytes, c.PlainBytes)
	require.Len(t, c.Actions, len(events))
	for i, a := range c.Actions {
		require.Equal(t, "create", a.Op)
		require.Equal(t, events[i].ID, a.ID)
		require.Equal(t, "logs-"+events[i].Routes.Dataset+"-prod", a.Index)
		require.JSONEq(t, string(events[i].JSON), string(a.Doc))
	}

	plain := newFakeES(t)
	s2 := newTestSink(t, plain.srv.URL, func(c *Config) { c.Compress = false })
	require.NoError(t, s2.Write(t.Context(), events))
	require.False(t, plain.Calls()[0].Gzip)
	require.Equal(t, c.PlainBytes, plain.Calls()[0].WireBytes)
}

func TestChunksRunConcurrentlyAndItemIndicesMapToTheWrite(t *testing.T) {
	f := newFakeES(t)
	events := ecsEvents(t, 35, "default")
	fail := map[string]int{
		events[3].ID:  http.StatusTooManyRequests,
		events[17].ID: http.StatusBadRequest,
		events[34].ID: http.StatusInternalServerError,
		events[20].ID: http.StatusBadRequest,
	}
	f.item = func(a bulkAction, _ int) (int, string, string) {
		if st := fail[a.ID]; st != 0 {
			return st, "some_exception", "no"
		}
		return 0, "", ""
	}
	// The first two requests wait for each other: only concurrent sending
	// lets both through, and a third never arrives while two are in flight.
	both := make(chan struct{})
	var once sync.Once
	f.inFlight = func(n int) {
		if n == 2 {
			once.Do(func() { close(both) })
		}
		select {
		case <-both:
		case <-time.After(30 * time.Second): // a deadlock guard, not a synchronisation
			t.Error("the second request never came while the first was in flight")
		}
	}
	s := newTestSink(t, f.srv.URL, func(c *Config) { c.MaxEventsPerRequest = 10; c.Concurrency = 2 })
	err := s.Write(t.Context(), events)
	require.Equal(t, map[int]bool{3: false, 17: true, 20: true, 34: false}, itemErrors(t, err))
	require.Equal(t, 2, f.MaxInFlight())
	var sizes []int
	seen := map[string]bool{}
	for _, c := range f.Calls() {
		sizes = append(sizes, len(c.Actions))
		for _, a := range c.Actions {
			seen[a.ID] = true
		}
	}
	sort.Ints(sizes)
	require.Equal(t, []int{5, 10, 10, 10}, sizes)
	require.Len(t, seen, 35)
	require.Equal(t, 31, f.Stored())
}

func TestChunksAreBoundedByBytes(t *testing.T) {
	f := newFakeES(t)
	events := ecsEvents(t, 40, "default")
	s := newTestSink(t, f.srv.URL, func(c *Config) { c.MaxBytesPerRequest = 4096; c.Compress = false })
	require.NoError(t, s.Write(t.Context(), events))
	calls := f.Calls()
	require.Greater(t, len(calls), 3)
	total := 0
	for _, c := range calls {
		total += len(c.Actions)
		if len(c.Actions) > 1 {
			require.LessOrEqual(t, c.PlainBytes, 4096)
		}
	}
	require.Equal(t, 40, total)
}

func TestAnEventWithoutDocumentIsPermanentAndTheOthersAreSent(t *testing.T) {
	f := newFakeES(t)
	events := ecsEvents(t, 3, "default")
	broken := *events[1]
	broken.JSON = nil
	multi := *events[2]
	multi.JSON = []byte("{\"a\":\n1}")
	err := newTestSink(t, f.srv.URL, nil).Write(t.Context(), []*pipeline.Event{events[0], &broken, &multi})
	require.Equal(t, map[int]bool{1: true, 2: true}, itemErrors(t, err))
	require.Equal(t, 1, f.Stored())
}

func TestAllFailedChunksStillReportEveryEvent(t *testing.T) {
	f := newFakeES(t)
	f.request = func(n int, _ bulkCall) (int, string, bool) {
		if n == 1 {
			return http.StatusServiceUnavailable, "", false
		}
		return 0, "", false
	}
	s := newTestSink(t, f.srv.URL, func(c *Config) { c.MaxEventsPerRequest = 2; c.Concurrency = 1 })
	err := s.Write(t.Context(), ecsEvents(t, 5, "default"))
	require.Equal(t, map[int]bool{0: false, 1: false}, itemErrors(t, err))
	require.Equal(t, 3, f.Stored())
}
