package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// realBrokers returns the real test broker's addresses (see testservice).
func realBrokers(t testing.TB) []string {
	t.Helper()
	return testservice.Kafka(t)
}

// uniqueTopic names a topic no other run uses, so tests need no clean-up
// and can run against a broker other engineers share.
func uniqueTopic(t testing.TB) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return fmt.Sprintf("siemfwd-test-%s-%s", strings.ToLower(name), strconv.FormatInt(time.Now().UnixNano(), 36))
}

func TestRealBrokerDeliversKeysHeadersAndValues(t *testing.T) {
	brokers := realBrokers(t)
	topic := uniqueTopic(t)
	testservice.CreateTopic(t, brokers, topic, 3)
	s := newSink(t, testConfig(brokers, topic))
	evs := events(1000, "kerio_connect.mail", 400)

	for i := 0; i < len(evs); i += 250 {
		require.NoError(t, s.Write(context.Background(), evs[i:i+250]))
	}

	recs := consume(t, brokers, topic, len(evs))
	require.Len(t, recs, len(evs))
	assert.EqualValues(t, len(evs), recordCount(t, brokers, topic, 3), "no duplicates")
	want := map[string]*pipeline.Event{}
	for _, ev := range evs {
		want[string(ev.JSON)] = ev
	}
	partitionOf := map[string]int32{}
	partitions := map[int32]bool{}
	ids := map[string]bool{}
	for _, r := range recs {
		ev, ok := want[string(r.Value)]
		require.True(t, ok, "value is byte-equal to an event's JSON")
		delete(want, string(r.Value))
		assert.Equal(t, ev.Routes.SourceIP, string(r.Key))
		ds, _ := header(r, HeaderDataset)
		src, _ := header(r, HeaderSource)
		assert.Equal(t, "kerio_connect.mail", ds)
		assert.Equal(t, "syslog_tcp", src)
		id, _ := header(r, pipeline.IDHeader)
		assert.Equal(t, ev.ID, id, "the event.id header")
		ids[id] = true
		if p, seen := partitionOf[string(r.Key)]; seen {
			assert.Equal(t, p, r.Partition, "equal keys share a partition")
		}
		partitionOf[string(r.Key)] = r.Partition
		partitions[r.Partition] = true
	}
	assert.Empty(t, want, "every event read back")
	assert.Len(t, ids, len(evs), "one distinct event.id per event")
	assert.Greater(t, len(partitions), 1, "five keys spread over the partitions")
}

func TestRealBrokerTopicTemplateRoutesDatasets(t *testing.T) {
	brokers := realBrokers(t)
	prefix := uniqueTopic(t)
	for _, ds := range []string{"mail", "http"} {
		testservice.CreateTopic(t, brokers, prefix+"-"+ds, 1)
	}
	s := newSink(t, testConfig(brokers, prefix+"-{event.dataset}"))
	evs := append(events(30, "mail", 200), events(20, "http", 200)...)

	require.NoError(t, s.Write(context.Background(), evs))

	for ds, n := range map[string]int{"mail": 30, "http": 20} {
		for _, r := range consume(t, brokers, prefix+"-"+ds, n) {
			got, _ := header(r, HeaderDataset)
			assert.Equal(t, ds, got)
		}
		assert.EqualValues(t, n, recordCount(t, brokers, prefix+"-"+ds, 1), ds)
	}
}

func TestRealBrokerMissingTopicIsPermanentAndNotCreated(t *testing.T) {
	brokers := realBrokers(t)
	topic := uniqueTopic(t)
	s := newSink(t, testConfig(brokers, topic)) // the test broker would auto-create; the sink must not ask it to

	items := itemErrors(t, s.Write(context.Background(), events(3, "a", 100)))

	require.Len(t, items, 3)
	for _, it := range items {
		assert.True(t, pipeline.IsPermanent(it.Err), "%v", it.Err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	md, err := admin(t, brokers).Metadata(ctx, &kafkago.MetadataRequest{})
	require.NoError(t, err)
	for _, tp := range md.Topics {
		assert.NotEqual(t, topic, tp.Name, "topic was created")
	}
}

// seqSource sends n events, numbered in their JSON, in batches; it waits
// at gate (when not nil) after the first half, and counts acks.
type seqSource struct {
	topic   string
	n, size int
	gate    chan struct{}
	sent    atomic.Int64
	acked   atomic.Int64
	nacked  atomic.Int64
}

func (s *seqSource) Name() string { return "seq" }

func (s *seqSource) Start(context.Context) error { return nil }

func (s *seqSource) Close(context.Context) error { return nil }

func (s *seqSource) Run(ctx context.Context, out chan<- pipeline.Batch) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < s.n; i += s.size {
		if i >= s.n/2 && s.gate != nil {
			select {
			case <-s.gate:
			case <-ctx.Done():
				return nil
			}
		}
		var evs []*pipeline.Event
		for j := i; j < min(i+s.size, s.n); j++ {
			evs = append(evs, &pipeline.Event{Origin: testOrigin, Received: time.Now(),
				JSON: fmt.Appendf(nil, `{"seq":%d}`, j), Routes: pipeline.Routes{SourceIP: strconv.Itoa(j % 7)}})
		}
		wg.Add(1)
		b := pipeline.Batch{Events: evs, Ack: func(err error) {
			defer wg.Done()
			if err != nil {
				s.nacked.Add(int64(len(evs)))
				return
			}
			s.acked.Add(int64(len(evs)))
		}}
		select {
		case out <- b:
			s.sent.Add(int64(len(evs)))
		case <-ctx.Done():
			wg.Done()
			return nil
		}
	}
	return nil
}

type noProcessing struct{}

func (noProcessing) Process(*pipeline.Event) {}

func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func brokerAnswers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestRealBrokerRestartLosesNothing runs the real pipeline with this sink
// while the broker is stopped and started again: the pipeline blocks, the
// sink loop retries, and every event is in the topic afterwards.
func TestRealBrokerRestartLosesNothing(t *testing.T) {
	brokers := realBrokers(t)
	restart := filepath.Join(repoRoot(t), "scripts", "testenv", "restart")
	if _, err := os.Stat(restart); err != nil {
		t.Fatalf("scripts/testenv/restart: %v", err)
	}
	topic := uniqueTopic(t)
	testservice.CreateTopic(t, brokers, topic, 2)
	cfg := testConfig(brokers, topic)
	cfg.DialTimeout, cfg.WriteTimeout = 2*time.Second, 5*time.Second
	sink, err := New(cfg, testLogger(t), metrics.New())
	require.NoError(t, err)

	src := &seqSource{topic: topic, n: 20000, size: 100, gate: make(chan struct{})}
	sc := pipeline.DefaultSinkConfig()
	sc.RetryInitial, sc.RetryMax = 50*time.Millisecond, 500*time.Millisecond
	pc := pipeline.DefaultConfig()
	pc.Workers = 1
	pc.ShutdownTimeout = patience
	m := metrics.New()
	p, err := pipeline.New(pc, []pipeline.Source{src}, []pipeline.NamedSink{{Name: "kafka", Config: sc, Sink: sink}},
		func() pipeline.Processor { return noProcessing{} }, nil, testLogger(t).With("component", "pipeline"), m)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()

	poll.Until(t, patience, "first half acked", func() bool { return src.acked.Load() == int64(src.n/2) })
	restarted := make(chan error, 1)
	go func() {
		cmd := exec.Command(restart, "kafka", "--down-for", "2")
		cmd.Dir = repoRoot(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, out)
		}
		restarted <- err
	}()
	poll.Until(t, patience, "broker down", func() bool {
		select {
		case err := <-restarted:
			restarted <- err
			return true
		default:
		}
		return !brokerAnswers(brokers[0])
	})
	close(src.gate) // the second half meets a broker that is down
	select {
	case err := <-restarted:
		require.NoError(t, err, "scripts/testenv/restart kafka")
	case <-time.After(2 * patience):
		t.Fatal("restart did not finish")
	}
	poll.Until(t, patience, "every event acked", func() bool { return src.acked.Load() == int64(src.n) })
	cancel()
	require.NoError(t, <-ran)
	require.NoError(t, sink.Close(context.Background()), "its owner closes the sink once the pipeline returned")
	require.Zero(t, src.nacked.Load())

	total := recordCount(t, brokers, topic, 2)
	require.GreaterOrEqual(t, total, int64(src.n))
	recs := consume(t, brokers, topic, int(total))
	seen := make([]bool, src.n)
	for _, r := range recs {
		var v struct{ Seq int }
		require.NoError(t, json.Unmarshal(r.Value, &v))
		seen[v.Seq] = true
	}
	for i, ok := range seen {
		require.True(t, ok, "event %d lost", i)
	}
	retried := testutil.ToFloat64(m.SinkEvents.WithLabelValues("kafka", "retried"))
	assert.Positive(t, retried, "the sink loop retried while the broker was down")
	t.Logf("records in topic: %d for %d events (duplicates from retried requests are allowed); events retried: %.0f",
		total, src.n, retried)
}
