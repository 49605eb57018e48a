package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// realBrokers returns the real test broker's addresses (see testservice).
func realBrokers(t testing.TB) []string {
	t.Helper()
	return testservice.Kafka(t)
}

// uniqueName names a topic or group no other run uses, so tests need no
// clean-up and can share a broker with other engineers' tests.
func uniqueName(t testing.TB, kind string) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return fmt.Sprintf("siemfwd-test-src-%s-%s-%s", kind, strings.ToLower(name), strconv.FormatInt(time.Now().UnixNano(), 36))
}

// adminClient returns a client with its own transport, whose connections
// are closed when the test ends (kafka-go's default transport is shared
// and keeps them, which goleak would report).
func adminClient(t testing.TB, brokers []string) *kafkago.Client {
	tr := &kafkago.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 30 * time.Second, Transport: tr}
}

// kerioLine is record i: a Kerio Connect security log line over syslog, numbered.
func kerioLine(i int) string {
	return fmt.Sprintf("<134>1 2026-11-29T09:00:00.000Z mail.example.com security - - - Failed SMTP login from 192.0.2.%d with name user%07d", i%250+1, i)
}

// lineNumber reads the number back from a kerioLine.
func lineNumber(t testing.TB, raw []byte) int {
	t.Helper()
	s := string(raw)
	i := strings.LastIndex(s, "user")
	require.GreaterOrEqual(t, i, 0, "not a test line: %q", s)
	n, err := strconv.Atoi(s[i+4:])
	require.NoError(t, err, "not a test line: %q", s)
	return n
}

// produce writes records from..to-1 (kerioLine), spread over the partitions.
func produce(t testing.TB, brokers []string, topic string, from, to int, headers ...kafkago.Header) {
	t.Helper()
	produceCompressed(t, brokers, topic, from, to, 0, headers...)
}

// produceCompressed is produce with batches compressed by codec.
func produceCompressed(t testing.TB, brokers []string, topic string, from, to int, codec kafkago.Compression, headers ...kafkago.Header) {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.RoundRobin{},
		RequiredAcks: kafkago.RequireAll, BatchSize: 1000, BatchTimeout: time.Millisecond, Transport: tr,
		Compression: codec}
	defer w.Close()
	msgs := make([]kafkago.Message, 0, 1000)
	for i := from; i < to; i++ {
		msgs = append(msgs, kafkago.Message{Value: []byte(kerioLine(i)), Headers: headers})
		if len(msgs) == cap(msgs) || i == to-1 {
			require.NoError(t, w.WriteMessages(context.Background(), msgs...))
			msgs = msgs[:0]
		}
	}
}

// committed returns the group's committed offsets of topic, summed over
// partitions, and per partition (-1 where none).
func committed(t testing.TB, brokers []string, group, topic string, partitions int) (int64, []int64) {
	t.Helper()
	ids := make([]int, partitions)
	for i := range ids {
		ids[i] = i
	}
	res, err := adminClient(t, brokers).OffsetFetch(context.Background(), &kafkago.OffsetFetchRequest{
		GroupID: group, Topics: map[string][]int{topic: ids}})
	require.NoError(t, err)
	require.NoError(t, res.Error)
	per := make([]int64, partitions)
	for i := range per {
		per[i] = -1
	}
	var sum int64
	for _, p := range res.Topics[topic] {
		require.NoError(t, p.Error)
		per[p.Partition] = p.CommittedOffset
		if p.CommittedOffset > 0 {
			sum += p.CommittedOffset
		}
	}
	return sum, per
}

// testConfig is a source config for fast tests: short heartbeats and session.
func testConfig(brokers []string, topic, group string) Config {
	c := DefaultConfig()
	c.Brokers = brokers
	c.Topics = []string{topic}
	c.GroupID = group
	c.SessionTimeout = 6 * time.Second // the broker's minimum
	c.HeartbeatInterval = 500 * time.Millisecond
	c.RebalanceTimeout = 5 * time.Second
	c.DrainTimeout = 5 * time.Second
	c.CommitInterval = 200 * time.Millisecond
	c.LagInterval = 200 * time.Millisecond
	c.FetchMaxWait = 100 * time.Millisecond
	c.TopicRefreshInterval = time.Second
	return c
}

// running is a source under test with its context, metrics and result.
type running struct {
	src  *Source
	m    *metrics.Metrics
	km   *Metrics
	out  chan pipeline.Batch
	stop context.CancelFunc
	done chan error
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SIEMFWD_TEST_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if _, bench := t.(*testing.B); bench {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// start runs a source named name until the test ends (or Stop).
func start(t testing.TB, name string, cfg Config, outCap int, opts ...func(*Source)) *running {
	t.Helper()
	m, km := metrics.New(), NewMetrics()
	require.NoError(t, km.Register(m.Registry))
	src, err := New(name, cfg, testLogger(t), m, km)
	require.NoError(t, err)
	for _, o := range opts {
		o(src)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{src: src, m: m, km: km, out: make(chan pipeline.Batch, outCap), stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx, r.out) }()
	t.Cleanup(func() { r.Stop(t) })
	return r
}

// Stop cancels the source and waits for Run to return (bounded).
func (r *running) Stop(t testing.TB) {
	t.Helper()
	r.stop()
	select {
	case err, ok := <-r.done:
		if ok {
			require.NoError(t, err)
			close(r.done)
			close(r.out) // Run has returned: nobody sends any more
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60s of cancel")
	}
}

// collector is a fake pipeline: it reads batches, records their events and
// acks them according to its policy.
type collector struct {
	t       testing.TB
	mu      sync.Mutex
	seen    map[int]int // line number → deliveries
	offsets []int64
	batches int
	held    []pipeline.Batch
	hold    bool // keep batches unacked instead of acking them
	done    chan struct{}
}

func collect(t testing.TB, out <-chan pipeline.Batch) *collector {
	c := &collector{t: t, seen: map[int]int{}, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for b := range out {
			c.mu.Lock()
			c.batches++
			for _, ev := range b.Events {
				c.seen[lineNumber(t, ev.Raw)]++
				c.offsets = append(c.offsets, ev.Offset)
			}
			hold := c.hold
			if hold {
				c.held = append(c.held, b)
			}
			c.mu.Unlock()
			if !hold {
				b.Done(nil)
			}
		}
	}()
	return c
}

func (c *collector) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *collector) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.seen {
		n += k
	}
	return n
}

func (c *collector) heldCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.held)
}

// setHold switches between holding and acking; switching off acks what is held.
func (c *collector) setHold(hold bool) {
	c.mu.Lock()
	c.hold = hold
	held := c.held
	if !hold {
		c.held = nil
	}
	c.mu.Unlock()
	if !hold {
		for _, b := range held {
			b.Done(nil)
		}
	}
}
