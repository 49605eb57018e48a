package elasticsearch

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
)

// esAddress returns the test node's URL (see testservice). Only tests named
// *RealNode* may talk to the node: scripts/test.sh runs those a second time
// against Elasticsearch 9.x, and a test named otherwise would miss that run.
func esAddress(t testing.TB) string {
	t.Helper()
	require.Contains(t, t.Name(), "RealNode", "a test that talks to the node is named TestRealNode*: scripts/test.sh runs those against 8.19 and 9.x")
	return testservice.Elasticsearch(t)
}

// testenvService names the scripts/testenv service (es for 8.19, es9 for
// 9.x) whose address is url, as scripts/testenv/env prints them for the
// current SIEMFWD_TESTENV_* settings; "" when neither is.
func testenvService(t testing.TB, url string) string {
	t.Helper()
	out, err := exec.Command("../../scripts/testenv/env").Output()
	require.NoError(t, err)
	services := map[string]string{"SIEMFWD_TEST_ES": "es", "SIEMFWD_TEST_ES9": "es9"}
	for line := range strings.Lines(string(out)) {
		name, value, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "export ")), "=")
		if svc, ok := services[name]; ok && strings.TrimSuffix(value, "/") == strings.TrimSuffix(url, "/") {
			return svc
		}
	}
	return ""
}

// uniqueNamespace keeps each test's data streams apart.
func uniqueNamespace(t testing.TB) string {
	var b [5]byte
	rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// realSink starts a sink against the real node with fresh templates.
func realSink(t testing.TB, ns string, edit func(*Config)) *Sink {
	t.Helper()
	s := newTestSink(t, esAddress(t), func(c *Config) {
		c.OverwriteTemplate = true
		c.DeadLetterIndex = "logs-siemfwd.deadletter-" + ns
		c.RequestTimeout = 20 * time.Second
		if edit != nil {
			edit(c)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, s.Start(ctx))
	return s
}

// writeAll does what the sink loop does: retry transient failures (only the
// failed items for ItemErrors) until every event is stored, within ctx.
// A permanent failure fails the test.
func writeAll(ctx context.Context, t testing.TB, s *Sink, events []*pipeline.Event) (retries int) {
	t.Helper()
	todo := events
	backoff := 50 * time.Millisecond
	for {
		err := s.Write(ctx, todo)
		if err == nil {
			return retries
		}
		require.False(t, pipeline.IsPermanent(err), "permanent: %v", err)
		var items pipeline.ItemErrors
		if errors.As(err, &items) {
			var next []*pipeline.Event
			for _, it := range items {
				require.False(t, pipeline.IsPermanent(it.Err), "permanent item: %v", it.Err)
				next = append(next, todo[it.Index])
			}
			todo = next
		}
		retries++
		select {
		case <-ctx.Done():
			t.Fatalf("gave up after %d retries: %v", retries, err)
		case <-time.After(backoff): // retry backoff, as the sink loop does; not a synchronisation
		}
		backoff = min(backoff*2, time.Second)
	}
}

// esDo sends a JSON request to the real node and decodes the answer into out.
func esDo(t testing.TB, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, esAddress(t)+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := oneShotClient().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if out != nil && res.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(b, out), "%s", b)
	}
	return res.StatusCode
}

// oneShotClient keeps no idle connection behind, so goleak finds no
// connection goroutines after the tests.
func oneShotClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func esCount(t testing.TB, index, query string) int {
	t.Helper()
	require.Equal(t, 200, esDo(t, "POST", "/"+index+"/_refresh?ignore_unavailable=true&allow_no_indices=true", "", nil))
	var r struct {
		Count int `json:"count"`
	}
	body := ""
	if query != "" {
		body = `{"query":` + query + `}`
	}
	require.Equal(t, 200, esDo(t, "POST", "/"+index+"/_count?ignore_unavailable=true&allow_no_indices=true", body, &r))
	return r.Count
}

func cleanup(t testing.TB, ns string) {
	t.Cleanup(func() {
		// The minimal test build has no data stream API; then the data
		// stays, in names no other test uses.
		for _, pattern := range []string{"logs-*-" + ns, "logs-siemfwd.deadletter-" + ns} {
			req, _ := http.NewRequest("DELETE", esAddress(t)+"/_data_stream/"+pattern, nil)
			if res, err := oneShotClient().Do(req); err == nil {
				res.Body.Close()
			}
		}
	})
}

func TestRealNodeStoresSearchableECS(t *testing.T) {
	ns := uniqueNamespace(t)
	cleanup(t, ns)
	s := realSink(t, ns, func(c *Config) { c.MaxEventsPerRequest = 50 })
	events := ecsEvents(t, len(readCorpus(t)), ns)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	writeAll(ctx, t, s, events)
	require.Equal(t, len(events), esCount(t, "logs-*-"+ns, ""))

	// Sending everything again stores nothing twice: each create answers 409.
	require.NoError(t, s.Write(ctx, events))
	require.Equal(t, len(events), esCount(t, "logs-*-"+ns, ""))

	// What the documents say, to compare with what ES finds.
	actions := map[string]int{}
	inNet := 0
	cidr := netip.MustParsePrefix("203.0.113.0/24")
	for _, ev := range events {
		var d struct {
			Event  struct{ Action string } `json:"event"`
			Source struct{ IP string }     `json:"source"`
		}
		require.NoError(t, json.Unmarshal(ev.JSON, &d))
		actions[d.Event.Action]++
		if ip, err := netip.ParseAddr(d.Source.IP); err == nil && cidr.Contains(ip) {
			inNet++
		}
	}
	require.Positive(t, inNet, "the corpus has sources in 203.0.113.0/24")
	require.Equal(t, inNet, esCount(t, "logs-*-"+ns, `{"term":{"source.ip":"203.0.113.0/24"}}`), "CIDR query on source.ip")
	for action, n := range map[string]int{"virus-detected": actions["virus-detected"], "dnsbl-rejected": actions["dnsbl-rejected"]} {
		require.Positive(t, n, action)
		q, _ := json.Marshal(map[string]any{"term": map[string]string{"event.action": action}})
		require.Equal(t, n, esCount(t, "logs-*-"+ns, string(q)), action)
	}

	// The data stream exists with the template's mappings.
	stream := "logs-kerio_connect.security-" + ns
	var mapping map[string]struct {
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	require.Equal(t, 200, esDo(t, "GET", "/"+stream+"/_mapping", "", &mapping))
	require.Len(t, mapping, 1)
	for backing, m := range mapping {
		require.True(t, strings.HasPrefix(backing, ".ds-"+stream+"-"), "backing index %s of a data stream", backing)
		require.JSONEq(t, `{"type":"date"}`, string(m.Mappings.Properties["@timestamp"]))
		var src struct {
			Properties map[string]map[string]any `json:"properties"`
		}
		require.NoError(t, json.Unmarshal(m.Mappings.Properties["source"], &src))
		require.Equal(t, "ip", src.Properties["ip"]["type"])
	}
	var ds struct {
		DataStreams []struct {
			Name     string `json:"name"`
			Template string `json:"template"`
		} `json:"data_streams"`
	}
	switch st := esDo(t, "GET", "/_data_stream/"+stream, "", &ds); st {
	case 200:
		require.Len(t, ds.DataStreams, 1)
		require.Equal(t, "siemfwd-kerio", ds.DataStreams[0].Template)
	default:
		t.Logf("GET _data_stream answered %d: this build has no data stream API; the .ds- backing index shows the stream", st)
	}
}

func TestRealNodeMappingConflictIsPermanentAndDeadLettered(t *testing.T) {
	ns := uniqueNamespace(t)
	cleanup(t, ns)
	s := realSink(t, ns, nil)
	good := ecsEvents(t, 2, ns)
	bad := *good[1]
	bad.Received = bad.Received.Add(time.Hour) // another _id
	bad.JSON = []byte(`{"@timestamp":"2026-03-14T09:33:00Z","source":{"ip":"not-an-address"},"message":"x"}`)
	events := []*pipeline.Event{good[0], &bad}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := s.Write(ctx, events)
	var items pipeline.ItemErrors
	require.ErrorAs(t, err, &items, "%v", err)
	require.Len(t, items, 1)
	require.Equal(t, 1, items[0].Index)
	require.True(t, pipeline.IsPermanent(items[0].Err))
	var be *BulkError
	require.ErrorAs(t, items[0].Err, &be)
	require.Equal(t, 400, be.Status)
	require.Contains(t, be.Reason, "source.ip")

	require.NoError(t, s.DeadLetterQueue().DeadLetter(ctx, "es_test", []*pipeline.Event{&bad}, err))
	dlq := "logs-siemfwd.deadletter-" + ns
	require.Equal(t, 1, esCount(t, dlq, `{"term":{"siemfwd.document_id":"`+be.DocumentID+`"}}`))
	var hits struct {
		Hits struct {
			Hits []struct {
				Source deadLetterDoc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	require.Equal(t, 200, esDo(t, "POST", "/"+dlq+"/_search", `{"query":{"term":{"error.type":"`+be.Type+`"}}}`, &hits))
	require.Len(t, hits.Hits.Hits, 1)
	require.Equal(t, string(bad.JSON), hits.Hits.Hits[0].Source.Siemfwd.Document)
	require.Equal(t, string(bad.Raw), hits.Hits.Hits[0].Source.Event.Original)
}

// TestRealNodeRestartLosesAndDuplicatesNothing writes while the node
// restarts and checks the count is exactly what was sent.
func TestRealNodeRestartLosesAndDuplicatesNothing(t *testing.T) {
	ns := uniqueNamespace(t)
	cleanup(t, ns)
	s := realSink(t, ns, func(c *Config) { c.RequestTimeout = 10 * time.Second; c.MaxEventsPerRequest = 100 })
	// An upper bound only: a loaded machine takes a minute or more to stop and
	// start the node.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	// Restart the node under test: the 8.19 or the 9.x one.
	svc := testenvService(t, esAddress(t))
	if svc == "" {
		why := esAddress(t) + " is not a node of scripts/testenv (its env prints neither address), so it cannot be restarted here"
		if os.Getenv("SIEMFWD_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	restart := exec.CommandContext(ctx, "../../scripts/testenv/restart", svc)
	var out bytes.Buffer
	restart.Stdout, restart.Stderr = &out, &out
	done := make(chan error, 1)
	batch, sent, retries := 0, 0, 0
	write := func() {
		events := ecsEvents(t, 200, ns)
		for _, ev := range events {
			ev.Received = ev.Received.Add(time.Duration(batch) * time.Second) // unique ids per batch
		}
		batch++
		retries += writeAll(ctx, t, s, events)
		sent += len(events)
	}
	write() // the stream exists before the restart
	require.NoError(t, restart.Start())
	go func() { done <- restart.Wait() }()
	var restartErr error
loop:
	for {
		select {
		case restartErr = <-done:
			break loop
		default:
			write()
		}
	}
	if restartErr != nil && strings.Contains(out.String(), "not running as started by scripts/testenv/up") {
		t.Skipf("the node was not started by scripts/testenv/up, so it cannot be restarted here: %s", out.String())
	}
	require.NoError(t, restartErr, "restart: %s", out.String())
	write() // and after it
	write()
	t.Logf("sent %d events in %d batches; %d retries across the restart", sent, batch, retries)
	require.Positive(t, retries, "the restart should have made some writes fail and retry")
	require.Equal(t, sent, esCount(t, "logs-*-"+ns, ""))
}

// BenchmarkBulkRealNode compares Write with a minimal _bulk loader sending
// the same documents, ids and batch sizes, two requests in flight, no
// compression: the node's ceiling on this machine.
func BenchmarkBulkRealNode(b *testing.B) {
	addr := esAddress(b)
	const batch = 1000
	ns := uniqueNamespace(b)
	base := ecsEvents(b, batch, ns)
	round := 0
	// next returns a fresh batch: same documents, new receive times, so new ids.
	next := func() []*pipeline.Event {
		round++
		events := make([]*pipeline.Event, batch)
		for i, ev := range base {
			c := *ev
			c.Received = c.Received.Add(time.Duration(round) * time.Hour)
			events[i] = &c
		}
		return events
	}
	bytesPer := 0
	for _, ev := range base {
		bytesPer += len(ev.JSON)
	}
	// Create the data streams first, so no variant pays for their creation.
	warm := realSink(b, ns, nil)
	writeAll(b.Context(), b, warm, base)
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("siemfwd/compress=%v", compress), func(b *testing.B) {
			s := realSink(b, ns, func(c *Config) { c.Compress = compress; c.MaxEventsPerRequest = batch / 2; c.Concurrency = 2 })
			b.SetBytes(int64(bytesPer))
			for b.Loop() {
				if err := s.Write(b.Context(), next()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
	b.Run("plain_loader", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		defer client.CloseIdleConnections()
		b.SetBytes(int64(bytesPer))
		send := func(events []*pipeline.Event) error {
			var body bytes.Buffer
			for _, ev := range events {
				fmt.Fprintf(&body, `{"create":{"_index":"logs-%s-%s","_id":"%s"}}`+"\n", ev.Routes.Dataset, ns, ev.ID)
				body.Write(ev.JSON)
				body.WriteByte('\n')
			}
			res, err := client.Post(addr+"/_bulk?filter_path=errors", "application/x-ndjson", &body)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			rb, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || !bytes.Contains(rb, []byte(`"errors":false`)) {
				return fmt.Errorf("%d %s", res.StatusCode, rb)
			}
			return nil
		}
		for b.Loop() {
			events := next()
			errs := make(chan error, 2)
			go func() { errs <- send(events[:batch/2]) }()
			go func() { errs <- send(events[batch/2:]) }()
			for range 2 {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	})
}

// TestRealNodeCountsMappedFieldsAsTheTemplateTestDoes creates indices with
// the mappings the sink installed (as the node accepted them) and
// index.mapping.total_fields.limit at the count mappedFieldCount gives, and
// one below: the node accepts the first and refuses the second, so the
// count that TestFieldCountStaysWithinTheDefaultLimit holds under 1000 is
// the node's own.
func TestRealNodeCountsMappedFieldsAsTheTemplateTestDoes(t *testing.T) {
	ns := uniqueNamespace(t)
	cleanup(t, ns)
	s := realSink(t, ns, nil)
	var got struct {
		ComponentTemplates []struct {
			ComponentTemplate struct {
				Template struct {
					Mappings json.RawMessage `json:"mappings"`
				} `json:"template"`
			} `json:"component_template"`
		} `json:"component_templates"`
	}
	require.Equal(t, 200, esDo(t, "GET", "/_component_template/"+s.cfg.ComponentTemplateName(), "", &got))
	require.Len(t, got.ComponentTemplates, 1)
	mappings := got.ComponentTemplates[0].ComponentTemplate.Template.Mappings
	n := mappedFieldCount(templateProperties(t, mappings))
	require.Greater(t, n, 100)
	require.Less(t, n, 1000)
	for limit, want := range map[int]int{n: 200, n - 1: 400} {
		index := fmt.Sprintf("siemfwd-fieldcount-%s-%d", ns, limit)
		body := fmt.Sprintf(`{"settings":{"number_of_replicas":0,"index.mapping.total_fields.limit":%d},"mappings":%s}`, limit, mappings)
		status := esDo(t, "PUT", "/"+index, body, nil)
		if status == 200 {
			t.Cleanup(func() {
				req, _ := http.NewRequest("DELETE", esAddress(t)+"/"+index, nil)
				if res, err := oneShotClient().Do(req); err == nil {
					res.Body.Close()
				}
			})
		}
		require.Equal(t, want, status, "limit %d for %d counted fields", limit, n)
	}
}
