package kafka

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
	"siemfwd/kafka/kafkaedge"
	"siemfwd/pipeline"
)

// produceMessages writes msgs to topic, in order.
func produceMessages(t testing.TB, brokers []string, topic string, msgs []kafkago.Message) {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, RequiredAcks: kafkago.RequireAll,
		BatchSize: len(msgs), BatchTimeout: time.Millisecond, Transport: tr}
	defer w.Close()
	require.NoError(t, w.WriteMessages(context.Background(), msgs...))
}

// receive reads n events from out, acking every batch.
func receive(t testing.TB, out <-chan pipeline.Batch, n int) []*pipeline.Event {
	t.Helper()
	var evs []*pipeline.Event
	for len(evs) < n {
		select {
		case b := <-out:
			evs = append(evs, b.Events...)
			b.Done(nil)
		case <-time.After(60 * time.Second):
			t.Fatalf("only %d of %d events arrived", len(evs), n)
		}
	}
	require.Len(t, evs, n)
	return evs
}

func TestEdgeRecordsParseAsIfReceivedLocally(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	testservice.CreateTopic(t, brokers, topic, 1)

	// The edge: its sources' events, parsed there for comparison, produced raw with edge headers.
	edgeProc := newProcessor()
	prague := mustZone(t, "Europe/Prague")
	var want [][]byte
	var msgs []kafkago.Message
	var enc kafkaedge.Encoder
	edgeIDs := pipeline.ReaderScope(pipeline.NewSession(), "edge_udp", 0)
	var ids []string
	for i, l := range readCorpus(t) {
		ev := edgeEvent(l, prague)
		if i%7 == 0 {
			ev.Flags = pipeline.FlagSplit
		}
		ev.ID = edgeIDs.ID(uint64(i))
		ids = append(ids, ev.ID)
		// As the edge's Kafka sink writes it: the edge header and event.id.
		msgs = append(msgs, kafkago.Message{Value: ev.Raw,
			Headers: append(enc.Append(nil, ev), kafkago.Header{Key: pipeline.IDHeader, Value: []byte(ev.ID)})})
		edgeProc.Process(ev)
		want = append(want, ev.JSON)
	}
	plain := kafkago.Message{Value: []byte(kerioLine(7) + "\n"), Time: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	produceMessages(t, brokers, topic, append(msgs, plain))

	// The indexer: a raw Kafka source with other defaults (UTC, no hints).
	r := start(t, "indexer_kafka", testConfig(brokers, topic, group), 4)
	evs := receive(t, r.out, len(msgs)+1)
	proc := newProcessor()
	for i, ev := range evs[:len(msgs)] {
		assert.Equal(t, ids[i], ev.ID, "the edge's event.id header is kept")
		proc.Process(ev)
		require.JSONEq(t, string(want[i]), string(ev.JSON), "record %d parses as at the edge", i)
	}

	last := evs[len(msgs)]
	assert.Equal(t, kerioLine(7), string(last.Raw), "the newline is not part of the message")
	assert.Equal(t, "indexer_kafka", last.Origin.Source)
	assert.Equal(t, "kafka", last.Origin.Transport)
	assert.True(t, plain.Time.Equal(last.Received), "received at the record's timestamp")
	assert.EqualValues(t, len(msgs), last.Offset)
	scope := pipeline.KafkaScope("indexer_kafka", topic, 0)
	assert.Equal(t, string(scope.AppendKafka(nil, int64(len(msgs)), plain.Time.UnixMilli())), last.ID,
		"without an event.id header: a stable id from source, topic, partition, offset and timestamp")
}

func TestECSModePassesDocumentsThrough(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	testservice.CreateTopic(t, brokers, topic, 1)

	p := newProcessor()
	var want []*pipeline.Event
	var msgs []kafkago.Message
	for _, l := range readCorpus(t)[:40] {
		ev := edgeEvent(l, mustZone(t, "UTC"))
		p.Process(ev)
		want = append(want, ev)
		msgs = append(msgs, kafkago.Message{Value: ev.JSON, Headers: []kafkago.Header{
			{Key: "event.dataset", Value: []byte(ev.Routes.Dataset)},
			{Key: kafkaedge.HeaderEdge, Value: []byte("received=" + ev.Received.Format(time.RFC3339Nano))}}})
	}
	garbage := "<134>Nov 29 09:00:00 fw01 kerio: not a document"
	produceMessages(t, brokers, topic, append(msgs, kafkago.Message{Value: []byte(garbage)}))

	cfg := testConfig(brokers, topic, group)
	cfg.Mode = ModeECS
	r := start(t, "indexer_ecs", cfg, 4)
	evs := receive(t, r.out, len(msgs)+1)
	for i, ev := range evs[:len(msgs)] {
		assert.Equal(t, formatECS, ev.Origin.Format)
		assert.Equal(t, string(want[i].JSON), string(ev.JSON), "passed through unchanged")
		w := want[i].Routes
		if len(w.Categories) == 0 {
			w.Categories = nil
		}
		assert.Equal(t, w, ev.Routes)
		assert.True(t, want[i].Received.Equal(ev.Received))
	}
	bad := evs[len(msgs)]
	assert.Equal(t, garbage, string(bad.Raw))
	assert.Nil(t, bad.JSON, "left to the worker, which wraps it in a document tagged as a parse failure")
	assert.Equal(t, pipeline.FormatSyslog, bad.Origin.Format)
	assert.EqualValues(t, 1, testutil.ToFloat64(r.m.ParseFailures.WithLabelValues("indexer_ecs", failureECS)))
}

func TestTopicRegexFollowsNewTopics(t *testing.T) {
	brokers := realBrokers(t)
	prefix, group := uniqueName(t, "topic"), uniqueName(t, "group")
	testservice.CreateTopic(t, brokers, prefix+"-a", 2)
	testservice.CreateTopic(t, brokers, prefix+"-b", 1)
	testservice.CreateTopic(t, brokers, prefix+"x-no", 1) // does not match
	produce(t, brokers, prefix+"-a", 0, 100)
	produce(t, brokers, prefix+"-b", 100, 200)
	produce(t, brokers, prefix+"x-no", 1000, 1100)

	cfg := testConfig(brokers, "", group)
	cfg.Topics, cfg.TopicRegex = nil, regexp.QuoteMeta(prefix)+`-[a-z]`
	r := start(t, "kafka_regex", cfg, 4)
	c := collect(t, r.out)
	poll.Until(t, 60*time.Second, "both matching topics were read", func() bool { return c.distinct() == 200 })

	testservice.CreateTopic(t, brokers, prefix+"-c", 1)
	produce(t, brokers, prefix+"-c", 200, 300)
	poll.Until(t, 60*time.Second, "the new matching topic was read", func() bool { return c.distinct() == 300 })
	r.Stop(t)
	<-c.done
	for i := 1000; i < 1100; i++ {
		require.Zero(t, c.seen[i], "a topic the regex does not match was read")
	}
	assert.Equal(t, 300, c.total(), "nothing read twice across the rejoin")
}
