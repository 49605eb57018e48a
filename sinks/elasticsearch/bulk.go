package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	gzip "github.com/klauspost/compress/gzip"
	"io"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"siemfwd/pipeline"
)

// BulkError is the refusal of one document by Elasticsearch, as the _bulk
// response reported it. Write returns it inside pipeline.ItemErrors, wrapped
// with pipeline.Permanent when a retry cannot help.
type BulkError struct {
	Index      string // the data stream or index written to
	DocumentID string // the _id sent
	Status     int    // the item's HTTP status
	Type       string // ES error type, e.g. mapper_parsing_exception
	Reason     string // ES reason, with the cause's type and reason when given
}

func (e *BulkError) Error() string {
	return fmt.Sprintf("elasticsearch refused document %s in %s: %d %s: %s", e.DocumentID, e.Index, e.Status, e.Type, e.Reason)
}

// RequestError is a _bulk request that failed as a whole with an HTTP status.
type RequestError struct {
	Status int
	Type   string
	Reason string
}

func (e *RequestError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("elasticsearch answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("elasticsearch answered %d: %s: %s", e.Status, e.Type, e.Reason)
}

// maxResponse bounds how much of a response is read; a _bulk response with
// the filter below is tens of bytes per item.
const maxResponse = 64 << 20

// filterPath trims the _bulk response to what we read; the error fields keep
// the reason of a request-level failure.
var filterPath = []string{
	"errors", "items.*.status", "items.*.error.type", "items.*.error.reason", "items.*.error.index",
	"items.*.error.caused_by.type", "items.*.error.caused_by.reason",
	"error.type", "error.reason", "status",
}

// chunkWriter sends one chunk at a time with buffers it keeps between
// calls. Each of the sink's `concurrency` writers is used by one goroutine
// at a time.
type chunkWriter struct {
	s    *Sink
	body []byte       // the NDJSON request
	gz   *gzip.Writer // compresses body into zbuf
	zbuf bytes.Buffer
	resp bytes.Buffer
	res  bulkResponse
	pos  []int // event index of each action in body
}

func newChunkWriter(s *Sink) *chunkWriter {
	w := &chunkWriter{s: s, body: make([]byte, 0, 64<<10)}
	if s.cfg.Compress {
		w.gz = newGzip()
	}
	return w
}

type bulkResponse struct {
	Errors bool       `json:"errors"`
	Items  []bulkItem `json:"items"`
	Status int        `json:"status"`
	Error  *esError   `json:"error"`
}

type bulkItem struct {
	Create itemResult `json:"create"`
}

type itemResult struct {
	Status int      `json:"status"`
	Error  *esError `json:"error"`
}

type esError struct {
	Type     string `json:"type"`
	Reason   string `json:"reason"`
	Index    string `json:"index"` // of a document: the backing index of a data stream
	CausedBy *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"caused_by"`
}

func (e *esError) reason() string {
	if e == nil {
		return ""
	}
	if e.CausedBy != nil && e.CausedBy.Type != "" {
		return e.Reason + " (caused by " + e.CausedBy.Type + ": " + e.CausedBy.Reason + ")"
	}
	return e.Reason
}

// send builds, compresses and sends one chunk and classifies the answer.
func (w *chunkWriter) send(ctx context.Context, events []*pipeline.Event, c chunk) chunkResult {
	s := w.s
	var items []pipeline.ItemError
	w.body = w.body[:0]
	w.pos = w.pos[:0]
	for j := c.start; j < c.end; j++ {
		ev := events[j]
		// A document that is empty or spans lines would break the NDJSON
		// framing of every document after it.
		if len(ev.JSON) == 0 || bytes.IndexByte(ev.JSON, '\n') >= 0 {
			items = append(items, pipeline.ItemError{Index: j, Err: pipeline.Permanent(errEmptyOrMultiline)})
			continue
		}
		w.body = appendAction(w.body, s.targets[j], ev.ID)
		w.body = append(w.body, ev.JSON...)
		w.body = append(w.body, '\n')
		w.pos = append(w.pos, j)
	}
	if len(w.pos) == 0 {
		return chunkResult{items: items}
	}
	payload := w.body
	header := http.Header{}
	if w.gz != nil {
		w.zbuf.Reset()
		w.gz.Reset(&w.zbuf)
		w.gz.Write(w.body) // writes to a bytes.Buffer cannot fail
		w.gz.Close()
		payload = w.zbuf.Bytes()
		header.Set("Content-Encoding", "gzip")
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	res, err := esapi.BulkRequest{Body: bytes.NewReader(payload), Header: header, FilterPath: filterPath}.Do(rctx, s.client)
	if err != nil {
		return chunkResult{err: fmt.Errorf("bulk request: %w", err)}
	}
	w.resp.Reset()
	_, err = w.resp.ReadFrom(io.LimitReader(res.Body, maxResponse))
	res.Body.Close()
	if err != nil {
		return chunkResult{err: fmt.Errorf("bulk response: %w", err)}
	}
	clear(w.res.Items[:cap(w.res.Items)])
	w.res = bulkResponse{Items: w.res.Items[:0]}
	parseErr := json.Unmarshal(w.resp.Bytes(), &w.res)
	if res.StatusCode >= 300 {
		return chunkResult{err: requestError(res.StatusCode, w.res.Error)}
	}
	if parseErr != nil {
		return chunkResult{err: fmt.Errorf("bulk response: unparseable (%d bytes): %w", w.resp.Len(), parseErr)}
	}
	if len(w.res.Items) != len(w.pos) {
		return chunkResult{err: fmt.Errorf("bulk response: %d items for %d documents", len(w.res.Items), len(w.pos))}
	}
	if !w.res.Errors {
		return chunkResult{items: items}
	}
	var conflicts []conflict
	for k, it := range w.res.Items {
		r := it.Create
		if created(r) {
			continue
		}
		j := w.pos[k]
		ev := events[j]
		if exists(r) && ev.ID != "" {
			conflicts = append(conflicts, conflict{at: j, index: r.Error.Index, ev: ev})
			continue
		}
		be := &BulkError{Index: s.targets[j], DocumentID: ev.ID, Status: r.Status}
		if r.Error != nil {
			be.Type, be.Reason = r.Error.Type, r.Error.reason()
		}
		var err error = be
		if !transientStatus(r.Status) {
			err = pipeline.Permanent(be)
		}
		items = append(items, pipeline.ItemError{Index: j, Err: err})
	}
	if len(conflicts) > 0 {
		items = append(items, s.settle(ctx, conflicts, s.targets)...)
	}
	return chunkResult{items: items}
}

// appendAction appends the create action of a document for index with
// the event's id as its _id; without an id (none was minted, which no
// source does) Elasticsearch makes one up, so that the event is stored
// once rather than confused with another.
func appendAction(dst []byte, index, id string) []byte {
	dst = append(dst, `{"create":{"_index":`...)
	dst = appendJSONString(dst, index)
	if id != "" {
		dst = append(dst, `,"_id":`...)
		dst = appendJSONString(dst, id)
	}
	return append(dst, "}}\n"...)
}

// appendJSONString appends s as a JSON string. Index names and ids are
// plain ASCII, so the quick path copies them; anything else is marshalled.
func appendJSONString(dst []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

var errEmptyOrMultiline = errors.New("event document is empty or contains a raw newline")

// created reports whether an item was stored by this request.
func created(r itemResult) bool { return r.Status >= 200 && r.Status < 300 }

// exists reports whether an item was refused because a document with its
// _id is stored already: an earlier attempt whose answer was lost, or
// (a bug) another event with the same id. settle tells which.
func exists(r itemResult) bool {
	return r.Status == http.StatusConflict && r.Error != nil && r.Error.Type == "version_conflict_engine_exception"
}

// transientStatus reports whether a failed item may succeed if sent again:
// the cluster is overloaded (429), failing (5xx), timed out (408), or a
// conflict other than "already exists".
func transientStatus(st int) bool {
	return st == 0 || st == http.StatusTooManyRequests || st == http.StatusRequestTimeout ||
		st == http.StatusConflict || st >= 500
}

// requestError classifies a request that failed as a whole. 400 (the
// request itself is malformed) and 413 (a body over http.max_content_length)
// are permanent: the same bytes get the same answer. Everything else is
// transient, including 401 and 403: Permanent would dead-letter, that is
// store elsewhere and acknowledge, every event while the credentials or
// privileges are wrong, whereas retrying holds them back (and pushes back on
// the sources) until an operator fixes the cluster side.
func requestError(status int, e *esError) error {
	re := &RequestError{Status: status}
	if e != nil {
		re.Type, re.Reason = e.Type, e.reason()
	}
	if status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge {
		return pipeline.Permanent(re)
	}
	return re
}
