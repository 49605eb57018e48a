// Package conservation runs the real siemfwd binary with the shipped
// configs against the real Kafka broker and Elasticsearch node, sends events
// that each carry a unique marker, and checks the law of conservation per
// marker:
//
//   - Elasticsearch holds it exactly once (its data stream or the dead-letter
//     stream), or it is counted as dropped with a reason;
//   - Kafka holds it at least once, every copy with the same event.id, or it
//     is counted as dropped with a reason;
//   - the ledger (/senders) delivered what the sinks hold.
//
// The harness (this file) builds bin/siemfwd once, starts and stops it by
// PID, reads its logs, /metrics and /senders, and reads the sinks back by
// marker. Scenarios live in scenario_*_test.go, one file per topic. Every
// wait polls a condition up to a bounded deadline; nothing sleeps to
// synchronise.
package conservation

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
)

// patience bounds every wait. It is an upper bound on a loaded, shared
// machine, never a pause: waits poll and return as soon as they can.
const patience = 90 * time.Second

// binary is the siemfwd built by TestMain.
var binary string

// run names this test run: it is part of every marker, topic and index, so
// runs never see each other's data on a shared broker or node.
var run string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "siemfwd-conservation-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "siemfwd")
	if out, err := exec.Command("go", "build", "-o", binary, "siemfwd/cmd/siemfwd").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building siemfwd: %v\n%s", err, out)
		return 1
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	run = hex.EncodeToString(b[:])
	return m.Run()
}

// Names are the per-scenario names of topics, data streams and indices, so
// that scenarios sharing a broker and a node never read each other's data.
type Names struct {
	Scenario    string // lower-case letters and digits
	Namespace   string // pipeline.namespace: data streams are logs-*-<Namespace>
	TopicPrefix string // Kafka topics start with it
	DeadTopic   string // the Kafka dead-letter topic
	DeadIndex   string // the Elasticsearch dead-letter data stream
}

// NewNames derives the names of one scenario (letters and digits only).
func NewNames(scenario string) Names {
	ns := "c" + run + scenario
	return Names{
		Scenario:    scenario,
		Namespace:   ns,
		TopicPrefix: "cons-" + run + "-" + scenario + "-",
		DeadTopic:   "cons-" + run + "-" + scenario + "-deadletter",
		DeadIndex:   "logs-siemfwd.deadletter-" + ns,
	}
}

// DataStreams is the pattern of the scenario's Elasticsearch data streams,
// the dead-letter stream included.
func (n Names) DataStreams() string { return "logs-*-" + n.Namespace }

// FullEnv returns the SIEMFWD_ overrides that point configs/full.yaml at
// the test services and at the scenario's names, and keep its files in dir.
// Nothing else of the shipped file changes.
func FullEnv(t *testing.T, n Names, dir string) map[string]string {
	t.Helper()
	return map[string]string{
		"SIEMFWD_PIPELINE_NAMESPACE":                    n.Namespace,
		"SIEMFWD_PIPELINE_DATA_DIR":                     filepath.Join(dir, "data"),
		"SIEMFWD_SOURCES_SYSLOG_UDP_ADDRESS":            "127.0.0.1:0",
		"SIEMFWD_SOURCES_SYSLOG_TCP_ADDRESS":            "127.0.0.1:0",
		"SIEMFWD_SOURCES_KERIO_FILES_PATHS":             filepath.Join(dir, "kerio", "*.log"),
		"SIEMFWD_SOURCES_KERIO_FILES_STATE_DIR":         filepath.Join(dir, "files"),
		"SIEMFWD_SINKS_KAFKA_BROKERS":                   strings.Join(testservice.Kafka(t), ","),
		"SIEMFWD_SINKS_KAFKA_TOPIC":                     n.TopicPrefix + "{event.dataset}",
		"SIEMFWD_SINKS_KAFKA_DEFAULT_TOPIC":             n.TopicPrefix + "generic",
		"SIEMFWD_SINKS_KAFKA_DEAD_LETTER_TOPIC":         n.DeadTopic,
		"SIEMFWD_SINKS_ELASTICSEARCH_ADDRESSES":         testservice.Elasticsearch(t),
		"SIEMFWD_SINKS_ELASTICSEARCH_DEAD_LETTER_INDEX": n.DeadIndex,
	}
}

// Proc is one running siemfwd process.
type Proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	logs   *lineLog
	stdout *lineLog
	exited chan struct{}
	code   int

	// Admin is the admin listener's address; Listen maps each syslog
	// source's name to its bound address. Both are set once the process
	// listens (Start, or WaitListening after Launch).
	Admin  string
	Listen map[string]string
}

// Launch starts bin/siemfwd on configs/<config> (or on config itself when
// it is an absolute path, such as a file the test wrote) with the given
// SIEMFWD_ overrides (the admin listener and JSON logs are always on) and
// returns at once; Start also waits until it listens. The process is killed
// at the end of the test if it still runs.
func Launch(t *testing.T, config string, env map[string]string) *Proc {
	t.Helper()
	path := config
	if !filepath.IsAbs(config) {
		var err error
		path, err = filepath.Abs(filepath.Join("..", "..", "configs", config))
		require.NoError(t, err)
	}
	cmd := exec.Command(binary, "run", "-c", path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"SIEMFWD_ADMIN_ADDRESS=127.0.0.1:0", "SIEMFWD_LOG_FORMAT=json", "SIEMFWD_LOG_LEVEL=info"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &Proc{t: t, cmd: cmd, logs: newLineLog(os.Getenv("SIEMFWD_TEST_LOGS") != ""), stdout: newLineLog(false),
		exited: make(chan struct{}), Listen: map[string]string{}}
	cmd.Stderr = p.logs
	cmd.Stdout = p.stdout
	require.NoError(t, cmd.Start())
	go func() {
		err := cmd.Wait()
		p.code = 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			p.code = exit.ExitCode()
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.Running() {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// Start launches siemfwd and waits until its sources and admin listener
// are bound.
func Start(t *testing.T, config string, env map[string]string) *Proc {
	t.Helper()
	p := Launch(t, config, env)
	p.WaitListening()
	return p
}

// WaitListening waits for the "admin listening" log line (the admin
// listener starts after every source is bound) and records the addresses.
func (p *Proc) WaitListening() {
	p.t.Helper()
	p.waitFor("siemfwd to listen", func() bool {
		for _, rec := range p.Logs() {
			switch rec["msg"] {
			case "listening":
				p.Listen[fmt.Sprint(rec["source"])] = fmt.Sprint(rec["address"])
			case "admin listening":
				p.Admin = fmt.Sprint(rec["address"])
			}
		}
		return p.Admin != ""
	})
}

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process (by its PID).
func (p *Proc) Signal(sig syscall.Signal) {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
}

// Stop sends SIGTERM and returns the exit code.
func (p *Proc) Stop() int {
	p.t.Helper()
	p.Signal(syscall.SIGTERM)
	return p.Wait()
}

// Kill sends SIGKILL (kill -9) and waits until the process is gone.
func (p *Proc) Kill() {
	p.t.Helper()
	p.Signal(syscall.SIGKILL)
	p.Wait()
}

// Wait waits for the process to exit and returns its exit code.
func (p *Proc) Wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(patience):
		p.t.Fatalf("siemfwd did not exit within %s; logs:\n%s", patience, p.logs.text())
		return -1
	}
}

// Logs returns siemfwd's JSON log records so far.
func (p *Proc) Logs() []map[string]any {
	var out []map[string]any
	for _, l := range p.logs.lines() {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}

// LogText returns siemfwd's stderr as it was written.
func (p *Proc) LogText() string { return p.logs.text() }

// Stdout returns the lines siemfwd wrote to stdout (its stdout sinks).
func (p *Proc) Stdout() []string { return p.stdout.lines() }

// WaitLog waits until a log record's msg contains msg, and returns it.
func (p *Proc) WaitLog(msg string) map[string]any {
	p.t.Helper()
	var found map[string]any
	p.waitFor(fmt.Sprintf("a log line %q", msg), func() bool {
		for _, rec := range p.Logs() {
			if strings.Contains(fmt.Sprint(rec["msg"]), msg) {
				found = rec
				return true
			}
		}
		return false
	})
	return found
}

// waitFor polls cond until it holds, failing the test after patience or
// when the process exits first.
func (p *Proc) waitFor(what string, cond func() bool) {
	p.t.Helper()
	poll.Until(logsOnFailure{p.t, p}, patience, what, func() bool {
		if cond() {
			return true
		}
		if !p.Running() && !cond() {
			p.t.Fatalf("siemfwd exited with %d while waiting for %s; logs:\n%s", p.code, what, p.logs.text())
		}
		return false
	})
}

// logsOnFailure is a test that adds the process's logs to a failure.
type logsOnFailure struct {
	testing.TB
	p *Proc
}

func (l logsOnFailure) Fatalf(format string, args ...any) {
	l.TB.Helper()
	l.TB.Fatalf(format+"; logs:\n%s", append(args, l.p.logs.text())...)
}

// get fetches an admin endpoint; it returns the status and body.
func (p *Proc) get(path string) (int, []byte, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + p.Admin + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// Ready returns whether /readyz answers 200, and its body.
func (p *Proc) Ready() (bool, string) {
	p.t.Helper()
	code, body, err := p.get("/readyz")
	require.NoError(p.t, err)
	return code == http.StatusOK, string(body)
}

// Metric sums the samples of the metric name whose labels include labels
// (0 when there is none).
func (p *Proc) Metric(name string, labels map[string]string) float64 {
	p.t.Helper()
	code, body, err := p.get("/metrics")
	require.NoError(p.t, err)
	require.Equal(p.t, http.StatusOK, code)
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(p.t, err)
	total := 0.0
	fam, ok := families[name]
	if !ok {
		return 0
	}
next:
	for _, m := range fam.Metric {
		for _, lp := range m.Label {
			if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Untyped != nil:
			total += m.Untyped.GetValue()
		}
	}
	return total
}

// Sender is one /senders entry.
type Sender struct {
	Address   string            `json:"address"`
	Received  uint64            `json:"received"`
	Delivered uint64            `json:"delivered"`
	Dropped   map[string]uint64 `json:"dropped"`
	InFlight  uint64            `json:"in_flight"`
}

// Senders reads /senders and checks that every sender balances.
func (p *Proc) Senders() []Sender {
	p.t.Helper()
	code, body, err := p.get("/senders")
	require.NoError(p.t, err)
	require.Equal(p.t, http.StatusOK, code, "%s", body)
	var out struct {
		Senders []Sender `json:"senders"`
	}
	require.NoError(p.t, json.Unmarshal(body, &out), "%s", body)
	for _, s := range out.Senders {
		var dropped uint64
		for _, n := range s.Dropped {
			dropped += n
		}
		require.Equal(p.t, s.Received, s.Delivered+dropped+s.InFlight, "sender %s does not balance", s.Address)
	}
	return out.Senders
}

// Ledger adds up every sender of /senders.
func (p *Proc) Ledger() Sender {
	p.t.Helper()
	sum := Sender{Dropped: map[string]uint64{}}
	for _, s := range p.Senders() {
		sum.Received += s.Received
		sum.Delivered += s.Delivered
		sum.InFlight += s.InFlight
		for r, n := range s.Dropped {
			sum.Dropped[r] += n
		}
	}
	return sum
}

// WaitSettled waits until the ledger has received n events, none is in
// flight and every disk buffer is empty (a disk-buffered sink's events count
// as delivered once stored in the buffer; they reach the sink later).
func (p *Proc) WaitSettled(n uint64) Sender {
	p.t.Helper()
	var l Sender
	p.waitFor(fmt.Sprintf("the ledger to settle at %d events and the disk buffers to empty", n), func() bool {
		l = p.Ledger()
		return l.Received >= n && l.InFlight == 0 && p.Metric("siemfwd_disk_buffer_events", nil) == 0
	})
	return p.Ledger()
}

// markerRE matches the markers that Markers makes.
var markerRE = regexp.MustCompile(`mk[0-9a-f]{8}x[a-z0-9]+x[0-9]{6}`)

// Markers returns n unique markers for a scenario.
func Markers(scenario string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = Marker(scenario, i)
	}
	return out
}

// Marker is the i-th marker of a scenario (i < 1,000,000).
func Marker(scenario string, i int) string {
	return fmt.Sprintf("mk%sx%sx%06d", run, scenario, i)
}

// Line is an RFC 5424 syslog message (no framing) carrying marker.
func Line(marker string) string {
	return "<134>1 2026-12-07T21:00:00.000Z conservation.test app 42 - - conservation marker " + marker
}

// SendTCP connects to addr and writes every line, LF-terminated, in one write.
func SendTCP(t *testing.T, addr string, lines []string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.NoError(t, err)
	defer c.Close()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, err = io.WriteString(c, b.String())
	require.NoError(t, err)
}

// SendUDP sends each line as one datagram.
func SendUDP(t *testing.T, addr string, lines []string) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	require.NoError(t, err)
	defer c.Close()
	for _, l := range lines {
		_, err := c.Write([]byte(l))
		require.NoError(t, err)
	}
}

// LineFrom is Line with another APP-NAME (log.syslog.appname).
func LineFrom(app, marker string) string {
	return "<134>1 2026-12-07T21:00:00.000Z conservation.test " + app + " 42 - - conservation marker " + marker
}

// ESRequest sends a request with a JSON body to the test node and fails
// the test unless it succeeds.
func ESRequest(t *testing.T, method, path, body string) {
	t.Helper()
	esCall(t, method, testservice.Elasticsearch(t)+path, body)
}

// FreeAddr returns a loopback address where nothing listens (yet).
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// Forward listens on addr and forwards every connection to target, until
// the test ends: a destination that appears when the test says so.
func Forward(t *testing.T, addr, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
}

// Copy is one stored copy of a marker.
type Copy struct {
	Where   string // index or topic
	EventID string // event.id of the document, or the Kafka header when the document has none
}

// Stored maps each marker to the copies a sink holds.
type Stored map[string][]Copy

// ESStored reads every document of the indices (patterns allowed) and
// returns the markers they hold. A document holding a marker several times
// (a dead letter keeps the original and the document) counts once.
func ESStored(t *testing.T, indices ...string) Stored {
	t.Helper()
	es := testservice.Elasticsearch(t)
	target := strings.Join(indices, ",")
	opts := "ignore_unavailable=true&allow_no_indices=true&expand_wildcards=all"
	esCall(t, http.MethodPost, es+"/"+target+"/_refresh?"+opts, "")
	type page struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []struct {
				Index  string          `json:"_index"`
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	out := Stored{}
	body := esCall(t, http.MethodPost, es+"/"+target+"/_search?scroll=1m&size=5000&"+opts, `{"query":{"match_all":{}}}`)
	for {
		var res page
		require.NoError(t, json.Unmarshal(body, &res), "%s", body)
		if len(res.Hits.Hits) == 0 {
			if res.ScrollID != "" {
				_, _ = esDo(http.MethodDelete, es+"/_search/scroll", `{"scroll_id":"`+res.ScrollID+`"}`)
			}
			return out
		}
		for _, h := range res.Hits.Hits {
			var doc struct {
				Event struct {
					ID string `json:"id"`
				} `json:"event"`
			}
			_ = json.Unmarshal(h.Source, &doc)
			for _, m := range uniqueMarkers(string(h.Source)) {
				out[m] = append(out[m], Copy{Where: h.Index, EventID: doc.Event.ID})
			}
		}
		body = esCall(t, http.MethodPost, es+"/_search/scroll", `{"scroll":"1m","scroll_id":"`+res.ScrollID+`"}`)
	}
}

// esCall is esDo that retries what a busy node refuses for now (429, 503;
// the shared test node's memory breaker) up to patience, and fails the
// test on anything else.
func esCall(t *testing.T, method, url, body string) []byte {
	t.Helper()
	var answer []byte
	poll.UntilOK(t, patience, func() string {
		b, err := esDo(method, url, body)
		if err == nil {
			answer = b
			return ""
		}
		busy := strings.Contains(err.Error(), ": 429 ") || strings.Contains(err.Error(), ": 503 ")
		require.True(t, busy, "%v", err)
		return err.Error()
	})
	return answer
}

// esDo sends one request to Elasticsearch and returns the body of a 2xx answer.
func esDo(method, url, body string) ([]byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return b, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	return b, nil
}

func uniqueMarkers(s string) []string {
	ms := markerRE.FindAllString(s, -1)
	slices.Sort(ms)
	return slices.Compact(ms)
}

// KafkaTopics lists the broker's topics that start with prefix.
func KafkaTopics(t *testing.T, prefix string) []string {
	t.Helper()
	conn, err := kafkago.Dial("tcp", testservice.Kafka(t)[0])
	require.NoError(t, err)
	defer conn.Close()
	parts, err := conn.ReadPartitions()
	require.NoError(t, err)
	var out []string
	for _, p := range parts {
		if strings.HasPrefix(p.Topic, prefix) && !slices.Contains(out, p.Topic) {
			out = append(out, p.Topic)
		}
	}
	sort.Strings(out)
	return out
}

// KafkaStored reads every record of the topics, from the first offset to
// the end of each partition, and returns the markers they hold.
func KafkaStored(t *testing.T, topics ...string) Stored {
	t.Helper()
	brokers := testservice.Kafka(t)
	out := Stored{}
	for _, topic := range topics {
		conn, err := kafkago.Dial("tcp", brokers[0])
		require.NoError(t, err)
		parts, err := conn.ReadPartitions(topic)
		conn.Close()
		require.NoError(t, err, "topic %s", topic)
		for _, part := range parts {
			kafkaPartition(t, brokers, topic, part.ID, out)
		}
	}
	return out
}

func kafkaPartition(t *testing.T, brokers []string, topic string, partition int, out Stored) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	leader, err := kafkago.DialLeader(ctx, "tcp", brokers[0], topic, partition)
	require.NoError(t, err)
	first, last, err := leader.ReadOffsets()
	leader.Close()
	require.NoError(t, err)
	if last <= first {
		return
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: partition, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	require.NoError(t, r.SetOffset(first))
	for {
		msg, err := r.ReadMessage(ctx)
		require.NoError(t, err, "reading %s/%d up to offset %d", topic, partition, last)
		var doc struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		_ = json.Unmarshal(msg.Value, &doc)
		id := doc.Event.ID
		for _, h := range msg.Headers {
			if h.Key == "event.id" && id == "" {
				id = string(h.Value)
			}
		}
		for _, m := range uniqueMarkers(string(msg.Value)) {
			out[m] = append(out[m], Copy{Where: topic, EventID: id})
		}
		if msg.Offset >= last-1 {
			return
		}
	}
}

// Count is what became of the markers sent to one sink.
type Count struct {
	Sent       int // markers sent
	Stored     int // markers the sink holds (once or more)
	Duplicated int // extra copies beyond the first
	Missing    int // markers the sink does not hold
}

func (c Count) String() string {
	return fmt.Sprintf("sent=%d stored=%d duplicated=%d missing=%d", c.Sent, c.Stored, c.Duplicated, c.Missing)
}

// count compares what was sent with what is stored; a stored marker that
// was never sent fails the test (the scenario's names leak into another's).
func count(t *testing.T, sent []string, got Stored) Count {
	t.Helper()
	c := Count{Sent: len(sent)}
	want := map[string]bool{}
	for _, m := range sent {
		want[m] = true
		switch n := len(got[m]); {
		case n == 0:
			c.Missing++
		default:
			c.Stored++
			c.Duplicated += n - 1
		}
	}
	for m := range got {
		assert.True(t, want[m], "stored marker %s was never sent", m)
	}
	return c
}

// ExactlyOnce checks Elasticsearch's law: every marker sent is stored once,
// or missing and counted as dropped (dropped is the caller's reading of the
// drop counters that apply to this sink).
func ExactlyOnce(t *testing.T, what string, sent []string, got Stored, dropped int) Count {
	t.Helper()
	c := count(t, sent, got)
	for _, m := range sent {
		assert.LessOrEqual(t, len(got[m]), 1, "%s: marker %s stored %d times: %v", what, m, len(got[m]), got[m])
	}
	assert.Equal(t, dropped, c.Missing, "%s: every missing event is counted as dropped (%s)", what, c)
	t.Logf("LAW %s %s: %s dropped_counted=%d", t.Name(), what, c, dropped)
	return c
}

// AtLeastOnce checks Kafka's law: every marker sent is stored, repeats
// only with the same event.id, or missing and counted as dropped.
func AtLeastOnce(t *testing.T, what string, sent []string, got Stored, dropped int) Count {
	t.Helper()
	c := count(t, sent, got)
	for _, m := range sent {
		copies := got[m]
		for _, cp := range copies[min(1, len(copies)):] {
			assert.True(t, cp.EventID != "" && cp.EventID == copies[0].EventID,
				"%s: marker %s repeated with another (or no) event.id: %v", what, m, copies)
		}
	}
	assert.Equal(t, dropped, c.Missing, "%s: every missing event is counted as dropped (%s)", what, c)
	t.Logf("LAW %s %s: %s dropped_counted=%d", t.Name(), what, c, dropped)
	return c
}

// lineLog collects a process's output lines (safe for concurrent use).
type lineLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	echo bool
}

func newLineLog(echo bool) *lineLog { return &lineLog{echo: echo} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.echo {
		os.Stderr.Write(p)
	}
	return l.buf.Write(p)
}

func (l *lineLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines returns the complete lines so far.
func (l *lineLog) lines() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(l.text()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// Float formats a metric value for a message.
func Float(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
