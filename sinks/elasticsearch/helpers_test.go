package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"siemfwd/internal/corpus"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/process"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// readCorpus reads every Kerio corpus of testdata/kerio.
func readCorpus(t testing.TB) []corpus.Line {
	t.Helper()
	return corpus.Read(t, filepath.Join("..", "..", "testdata", "kerio"), corpus.Files...)
}

// ecsEvents returns n processed events cycling over the corpus, each with a
// distinct receive time and id, in data_stream.namespace ns.
func ecsEvents(t testing.TB, n int, ns string) []*pipeline.Event {
	t.Helper()
	lines := readCorpus(t)
	p := process.NewECSProcessor(process.ProcessOptions{KeepOriginal: true, Namespace: ns,
		AgentName: "siemfwd-test", AgentVersion: "test"}, metrics.New())
	base := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	events := make([]*pipeline.Event, n)
	ids := pipeline.ConnectionScope(pipeline.NewSession(), "test", 0)
	for i := range events {
		ev := lines[i%len(lines)].Event()
		ev.Received = base.Add(time.Duration(i) * time.Microsecond)
		ev.ID = ids.ID(uint64(i))
		p.Process(ev)
		events[i] = ev
	}
	return events
}

// nonKerioEvents returns the processed events of every line of
// testdata/nonkerio (common Linux and network-device lines), each as a
// syslog sender and as a file source would hand it over.
func nonKerioEvents(t testing.TB) []*pipeline.Event {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "nonkerio", "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	p := process.NewECSProcessor(process.ProcessOptions{KeepOriginal: true, Namespace: "default",
		AgentName: "siemfwd-test", AgentVersion: "test"}, metrics.New())
	syslogOrigin := &pipeline.Origin{Source: "syslog", Transport: "tcp", Format: pipeline.FormatSyslog, Location: time.UTC}
	fileOrigin := &pipeline.Origin{Source: "files", Transport: "file", Format: pipeline.FormatLine, Location: time.UTC,
		Log: "messages", FilePath: "/var/log/messages"}
	var events []*pipeline.Event
	for _, name := range files {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		for line := range strings.Lines(string(b)) {
			line = strings.TrimRight(line, "\r\n")
			if strings.TrimSpace(line) == "" {
				continue
			}
			for _, o := range []*pipeline.Origin{syslogOrigin, fileOrigin} {
				ev := &pipeline.Event{Raw: []byte(line), Origin: o, Received: corpus.Received}
				p.Process(ev)
				events = append(events, ev)
			}
		}
	}
	return events
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newTestSink builds a sink for cfg with addresses set to url.
func newTestSink(t testing.TB, url string, edit func(*Config)) *Sink {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addresses = []string{url}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, testLogger(t), metrics.New())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(t.Context()) })
	return s
}

// bulkAction is one action line as the fake server read it.
type bulkAction struct {
	Op, Index, ID string
	Doc           []byte
}

// bulkCall is one _bulk request as the fake server read it.
type bulkCall struct {
	Gzip       bool
	WireBytes  int // as sent
	PlainBytes int // after gunzip
	Actions    []bulkAction
}

// fakeES answers like an Elasticsearch node: GET /, template HEAD/PUT, and
// _bulk with a per-item outcome that tests choose. Documents it accepts are
// kept by _id, so a second create answers 409 like the real thing.
type fakeES struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	calls     []bulkCall
	stored    map[string][]byte
	seen      map[string]int // attempts per _id
	templates map[string][]byte
	puts      []string

	// item decides one item's answer (0 = store it normally); attempt counts from 1.
	item func(a bulkAction, attempt int) (status int, errType, reason string)
	// request decides a whole request's answer (0 = normal) before items are
	// looked at; with store, the documents are stored anyway (an answer lost
	// on the way back).
	request func(n int, c bulkCall) (status int, body string, store bool)
	// putTemplate may refuse a template body.
	putTemplate func(path string, body []byte) (status int, resp string)
	// rootMissing makes GET / answer 405, like the minimal integ-test build.
	rootMissing bool
	// mgetFails makes _mget answer 503.
	mgetFails bool
	mgets     int // _mget requests served
	// inFlight is called with the number of _bulk requests being served, on entry.
	inFlight   func(n int)
	serving    int
	maxServing int
}

func newFakeES(t testing.TB) *fakeES {
	f := &fakeES{t: t, stored: map[string][]byte{}, seen: map[string]int{}, templates: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeES) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/" && r.Method == http.MethodGet && f.rootMissing:
		w.WriteHeader(http.StatusMethodNotAllowed)
		io.WriteString(w, `{"error":"Incorrect HTTP method for uri [/] and method [GET], allowed: [HEAD]","status":405}`)
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		io.WriteString(w, `{"version":{"number":"8.19.0"},"tagline":"You Know, for Search"}`)
	case r.URL.Path == "/_cluster/health":
		io.WriteString(w, `{"status":"yellow"}`)
	case strings.HasPrefix(r.URL.Path, "/_index_template/") || strings.HasPrefix(r.URL.Path, "/_component_template/"):
		f.serveTemplate(w, r)
	case r.URL.Path == "/_bulk" && r.Method == http.MethodPost:
		f.serveBulk(w, r)
	case r.URL.Path == "/_mget" && r.Method == http.MethodPost:
		f.serveMget(w, r)
	default:
		http.Error(w, `{"error":"unexpected request"}`, http.StatusBadRequest)
		f.t.Errorf("fake ES: unexpected %s %s", r.Method, r.URL.Path)
	}
}

func (f *fakeES) serveTemplate(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodHead:
		if _, ok := f.templates[r.URL.Path]; !ok {
			w.WriteHeader(http.StatusNotFound)
		}
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		require.True(f.t, json.Valid(body), "template body is not JSON")
		f.puts = append(f.puts, r.URL.Path)
		if f.putTemplate != nil {
			if st, resp := f.putTemplate(r.URL.Path, body); st != 0 {
				w.WriteHeader(st)
				io.WriteString(w, resp)
				return
			}
		}
		f.templates[r.URL.Path] = body
		io.WriteString(w, `{"acknowledged":true}`)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (f *fakeES) serveBulk(w http.ResponseWriter, r *http.Request) {
	wire, err := io.ReadAll(r.Body)
	require.NoError(f.t, err)
	c := bulkCall{WireBytes: len(wire), Gzip: r.Header.Get("Content-Encoding") == "gzip"}
	plain := wire
	if c.Gzip {
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		require.NoError(f.t, err)
		plain, err = io.ReadAll(zr)
		require.NoError(f.t, err, "gzip body does not decode")
	}
	c.PlainBytes = len(plain)
	lines := bytes.Split(bytes.TrimSuffix(plain, []byte("\n")), []byte("\n"))
	require.Zero(f.t, len(lines)%2, "odd number of NDJSON lines")
	for i := 0; i < len(lines); i += 2 {
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		require.NoError(f.t, json.Unmarshal(lines[i], &action), "action line %q", lines[i])
		require.True(f.t, json.Valid(lines[i+1]), "document line %q", lines[i+1])
		for op, a := range action {
			c.Actions = append(c.Actions, bulkAction{Op: op, Index: a.Index, ID: a.ID, Doc: lines[i+1]})
		}
	}

	f.mu.Lock()
	f.serving++
	f.maxServing = max(f.maxServing, f.serving)
	if f.inFlight != nil {
		n := f.serving
		f.mu.Unlock()
		f.inFlight(n)
		f.mu.Lock()
	}
	defer func() { f.serving--; f.mu.Unlock() }()
	f.calls = append(f.calls, c)
	if f.request != nil {
		if st, body, store := f.request(len(f.calls), c); st != 0 {
			if store {
				for _, a := range c.Actions {
					f.stored[a.ID] = a.Doc
				}
			}
			w.WriteHeader(st)
			io.WriteString(w, body)
			return
		}
	}
	type itemOut struct {
		Status int            `json:"status"`
		Error  map[string]any `json:"error,omitempty"`
	}
	var items []map[string]itemOut
	errorsSeen := false
	for _, a := range c.Actions {
		f.seen[a.ID]++
		out := itemOut{Status: http.StatusCreated}
		st, typ, reason := 0, "", ""
		if f.item != nil {
			st, typ, reason = f.item(a, f.seen[a.ID])
		}
		switch {
		case st != 0:
			out = itemOut{Status: st, Error: map[string]any{"type": typ, "reason": reason}}
		case f.stored[a.ID] != nil && a.Op == "create":
			out = itemOut{Status: http.StatusConflict, Error: map[string]any{"type": "version_conflict_engine_exception",
				"reason": fmt.Sprintf("[%s]: version conflict, document already exists", a.ID), "index": ".ds-" + a.Index}}
		default:
			f.stored[a.ID] = a.Doc
		}
		if out.Status >= 300 {
			errorsSeen = true
		}
		items = append(items, map[string]itemOut{a.Op: out})
	}
	json.NewEncoder(w).Encode(map[string]any{"took": 1, "errors": errorsSeen, "items": items})
}

// serveMget answers a realtime _mget by _id from the stored documents,
// with their event.id, as filtered by the sink's filter_path.
func (f *fakeES) serveMget(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Docs []struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		} `json:"docs"`
	}
	require.NoError(f.t, json.NewDecoder(r.Body).Decode(&req))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mgets++
	if f.mgetFails {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"type":"unavailable_shards_exception"},"status":503}`)
		return
	}
	docs := []map[string]any{}
	for _, d := range req.Docs {
		require.True(f.t, strings.HasPrefix(d.Index, ".ds-"), "the _mget names the backing index of the 409, got %q", d.Index)
		doc, ok := f.stored[d.ID]
		if !ok {
			docs = append(docs, map[string]any{"found": false})
			continue
		}
		var src struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		require.NoError(f.t, json.Unmarshal(doc, &src))
		out := map[string]any{"found": true}
		if src.Event.ID != "" {
			out["_source"] = map[string]any{"event": map[string]any{"id": src.Event.ID}}
		}
		docs = append(docs, out)
	}
	json.NewEncoder(w).Encode(map[string]any{"docs": docs})
}

func (f *fakeES) Calls() []bulkCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bulkCall(nil), f.calls...)
}

func (f *fakeES) Stored() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.stored)
}

func (f *fakeES) MaxInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxServing
}
