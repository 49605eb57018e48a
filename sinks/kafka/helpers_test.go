package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// patience bounds every wait in these tests; it is generous because the
// machine is shared, and no test sleeps to synchronise.
// A broker stops cleanly (controlled shutdown) and starts again in tens of
// seconds on a loaded machine; this is only an upper bound, never a wait.
const patience = 120 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testConfig is a valid config for brokers writing to topic.
func testConfig(brokers []string, topic string) Config {
	c := DefaultConfig()
	c.Brokers = brokers
	c.Topic = topic
	c.DefaultTopic = "siem-default"
	c.WriteTimeout = 5 * time.Second
	return c
}

func newSink(t testing.TB, cfg Config) *Sink {
	t.Helper()
	s, err := New(cfg, testLogger(t), metrics.New())
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		require.NoError(t, s.Close(ctx))
	})
	return s
}

var testOrigin = &pipeline.Origin{Source: "syslog_tcp", Transport: "tcp", Location: time.UTC}

// testIDs mints the test events' ids: a file's, so they need no session.
var testIDs = pipeline.FileScope("test", "stream")

// event makes an event with sequence number seq whose JSON pads to size bytes.
func event(seq int, dataset, ip string, size int) *pipeline.Event {
	doc := fmt.Sprintf(`{"seq":%d,"event":{"dataset":%q},"source":{"ip":%q},"pad":"`, seq, dataset, ip)
	if pad := size - len(doc) - 2; pad > 0 {
		doc += strings.Repeat("x", pad)
	}
	doc += `"}`
	return &pipeline.Event{
		Raw:      []byte(fmt.Sprintf("<13>Jan  2 03:04:05 host app: message %d", seq)),
		Received: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Origin:   testOrigin,
		ID:       testIDs.ID(uint64(seq)),
		JSON:     []byte(doc),
		Routes:   pipeline.Routes{Dataset: dataset, SourceIP: ip, Hostname: "host", Namespace: "default"},
	}
}

func events(n int, dataset string, size int) []*pipeline.Event {
	evs := make([]*pipeline.Event, n)
	for i := range evs {
		evs[i] = event(i, dataset, fmt.Sprintf("10.0.0.%d", i%5), size)
	}
	return evs
}

// consume reads topic from the start until it has n records or patience
// runs out, and returns what it read.
func consume(t testing.TB, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	require.GreaterOrEqual(t, len(recs), n, "records read back from %s", topic)
	return recs
}

// admin is a kafka-go client for topic set-up and offsets; closed with the test.
func admin(t testing.TB, brokers []string) *kafkago.Client {
	tr := &kafkago.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &kafkago.Client{Addr: kafkago.TCP(brokers...), Transport: tr, Timeout: patience}
}

// recordCount sums the high watermarks of topic's partitions: how many
// records it holds, duplicates included.
func recordCount(t testing.TB, brokers []string, topic string, partitions int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var reqs []kafkago.OffsetRequest
	for p := range partitions {
		reqs = append(reqs, kafkago.LastOffsetOf(p))
	}
	res, err := admin(t, brokers).ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	require.NoError(t, err)
	var n int64
	for _, po := range res.Topics[topic] {
		require.NoError(t, po.Error)
		n += po.LastOffset
	}
	return n
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// itemErrors asserts err is ItemErrors and returns it.
func itemErrors(t testing.TB, err error) pipeline.ItemErrors {
	t.Helper()
	items, ok := err.(pipeline.ItemErrors)
	require.True(t, ok, "want ItemErrors, got %T: %v", err, err)
	return items
}
