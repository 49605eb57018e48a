package kafka

import (
	"context"
	"errors"
	"net"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
)

// fakeCluster starts an in-process Kafka (kfake) with the given topics.
func fakeCluster(t testing.TB, partitions int32, topics []string, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestWriteDelivers(t *testing.T) {
	c := fakeCluster(t, 3, []string{"siem"}, kfake.NumBrokers(3))
	s := newSink(t, testConfig(c.ListenAddrs(), "siem"))
	evs := events(200, "kerio_control.security", 300)
	evs[7].Routes.SourceIP = "" // falls back to log.syslog.hostname

	require.NoError(t, s.Write(context.Background(), evs))

	recs := consume(t, c.ListenAddrs(), "siem", len(evs))
	require.Len(t, recs, len(evs))
	bySeq := map[string]int{}
	for i, ev := range evs {
		bySeq[string(ev.JSON)] = i
	}
	partitionOf := map[string]int32{}
	for _, r := range recs {
		i, ok := bySeq[string(r.Value)]
		require.True(t, ok, "value not written by the test: %q", r.Value)
		ev := evs[i]
		wantKey := ev.Routes.SourceIP
		if wantKey == "" {
			wantKey = ev.Routes.Hostname
		}
		assert.Equal(t, wantKey, string(r.Key))
		ds, ok := header(r, HeaderDataset)
		assert.True(t, ok)
		assert.Equal(t, "kerio_control.security", ds)
		src, ok := header(r, HeaderSource)
		assert.True(t, ok)
		assert.Equal(t, "syslog_tcp", src)
		assert.True(t, r.Timestamp.Equal(ev.Received), "record time %s is the receive time", r.Timestamp)
		if p, seen := partitionOf[string(r.Key)]; seen {
			assert.Equal(t, p, r.Partition, "key %s on one partition", r.Key)
		}
		partitionOf[string(r.Key)] = r.Partition
	}
	assert.EqualValues(t, len(evs), recordCount(t, c.ListenAddrs(), "siem", 3), "no duplicates")
}

func TestWriteTooLargeLocallyIsPermanentForThatItemOnly(t *testing.T) {
	c := fakeCluster(t, 1, []string{"siem"})
	cfg := testConfig(c.ListenAddrs(), "siem")
	cfg.MaxMessageBytes = 2000
	s := newSink(t, cfg)
	evs := events(10, "a", 500)
	evs[4] = event(4, "a", "10.0.0.4", 5000)

	err := s.Write(context.Background(), evs)

	items := itemErrors(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, 4, items[0].Index)
	assert.True(t, pipeline.IsPermanent(items[0].Err), "too large is permanent: %v", items[0].Err)
	assert.Contains(t, items[0].Err.Error(), "max_message_bytes")
	consume(t, c.ListenAddrs(), "siem", 9)
	assert.EqualValues(t, 9, recordCount(t, c.ListenAddrs(), "siem", 1))
}

func TestWriteBrokerTooLargeSendsAloneAndRefusesOnlyTheLargeOne(t *testing.T) {
	// The broker takes batches of at most 10000 bytes: six 3000-byte records
	// together are refused, each alone is fine; a 15000-byte record never is.
	c := fakeCluster(t, 1, []string{"siem"}, kfake.BrokerConfigs(map[string]string{"message.max.bytes": "10000"}))
	cfg := testConfig(c.ListenAddrs(), "siem")
	cfg.Compression = "none"
	s := newSink(t, cfg)
	evs := events(7, "a", 3000)
	evs[2] = event(2, "a", "10.0.0.2", 15000)

	err := s.Write(context.Background(), evs)

	items := itemErrors(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, 2, items[0].Index)
	assert.True(t, pipeline.IsPermanent(items[0].Err), "%v", items[0].Err)
	assert.ErrorIs(t, items[0].Err, kafkago.MessageSizeTooLarge)
	consume(t, c.ListenAddrs(), "siem", 6)
	assert.EqualValues(t, 6, recordCount(t, c.ListenAddrs(), "siem", 1))
}

func TestWriteUnknownTopicIsPermanentWithoutAutoCreate(t *testing.T) {
	c := fakeCluster(t, 1, []string{"kerio-good"})
	s := newSink(t, testConfig(c.ListenAddrs(), "kerio-{event.dataset}"))
	evs := append(events(3, "good", 100), events(2, "missing", 100)...)

	err := s.Write(context.Background(), evs)

	items := itemErrors(t, err)
	require.Len(t, items, 2)
	for k, it := range items {
		assert.Equal(t, 3+k, it.Index)
		assert.True(t, pipeline.IsPermanent(it.Err), "%v", it.Err)
		assert.ErrorIs(t, it.Err, kafkago.UnknownTopicOrPartition)
		assert.Contains(t, it.Err.Error(), "kerio-missing")
	}
	consume(t, c.ListenAddrs(), "kerio-good", 3)

	// Again, now from the memory of the missing topic: still permanent.
	err = s.Write(context.Background(), events(2, "missing", 100))
	items = itemErrors(t, err)
	require.Len(t, items, 2)
	assert.True(t, pipeline.IsPermanent(items[0].Err))
}

func TestWriteTopicCreatedAfterMetadataWasCachedIsNotDeadLettered(t *testing.T) {
	c := fakeCluster(t, 1, []string{"first"})
	s := newSink(t, testConfig(c.ListenAddrs(), "{event.dataset}"))
	require.NoError(t, s.Write(context.Background(), events(1, "first", 100)))
	testservice.CreateTopic(t, c.ListenAddrs(), "later", 1) // not in the sink's cached metadata yet

	require.NoError(t, s.Write(context.Background(), events(2, "later", 100)))

	consume(t, c.ListenAddrs(), "later", 2)
}

func TestWriteAutoCreateMakesUnknownTopicTransient(t *testing.T) {
	c := fakeCluster(t, 1, nil) // the broker does not create topics either
	cfg := testConfig(c.ListenAddrs(), "siem")
	cfg.AllowAutoTopicCreation = true
	s := newSink(t, cfg)

	err := s.Write(context.Background(), events(3, "a", 100))

	require.Error(t, err)
	assert.False(t, pipeline.IsPermanent(err), "%v", err)
	var items pipeline.ItemErrors
	assert.False(t, errors.As(err, &items), "all transient: one plain error, got %v", err)
}

func TestWriteBrokerUnreachableIsTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	s := newSink(t, testConfig([]string{addr}, "siem"))

	for range 2 { // the second attempt uses a new client
		err := s.Write(context.Background(), events(5, "a", 100))
		require.Error(t, err)
		assert.False(t, pipeline.IsPermanent(err), "%v", err)
		var items pipeline.ItemErrors
		assert.False(t, errors.As(err, &items), "nothing acked: one plain error, got %v", err)
	}
}

func TestWriteNotLeaderOnceThenSucceeds(t *testing.T) {
	c := fakeCluster(t, 1, []string{"siem"})
	hits := 0
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		hits++
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true // handled once, then dropped
	})
	s := newSink(t, testConfig(c.ListenAddrs(), "siem"))
	evs := events(20, "a", 100)

	err := s.Write(context.Background(), evs)
	require.Error(t, err)
	assert.False(t, pipeline.IsPermanent(err))
	assert.ErrorIs(t, err, kafkago.NotLeaderForPartition)
	require.NoError(t, s.Write(context.Background(), evs), "the retry succeeds")

	assert.Equal(t, 1, hits)
	consume(t, c.ListenAddrs(), "siem", 20)
	assert.EqualValues(t, 20, recordCount(t, c.ListenAddrs(), "siem", 1), "nothing written by the refused attempt")
}

// A partition's records beyond batch_max_events or batch_max_bytes go in
// several produce requests, sent in order: offsets follow the events' order.
func TestWriteSplitsRequestsAndKeepsPartitionOrder(t *testing.T) {
	for _, tc := range []struct {
		name        string
		set         func(*Config)
		minRequests int
	}{
		{"batch_max_events", func(c *Config) { c.BatchMaxEvents = 4 }, 10},
		{"batch_max_bytes", func(c *Config) { c.MaxMessageBytes, c.BatchMaxBytes = 500, 500 }, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeCluster(t, 1, []string{"siem"})
			requests := 0
			c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				requests++
				c.KeepControl()
				return nil, nil, false
			})
			cfg := testConfig(c.ListenAddrs(), "siem")
			tc.set(&cfg)
			s := newSink(t, cfg)
			evs := events(40, "a", 300)

			require.NoError(t, s.Write(context.Background(), evs))

			recs := consume(t, c.ListenAddrs(), "siem", len(evs))
			for i, r := range recs {
				assert.Equal(t, string(evs[i].JSON), string(r.Value), "offset %d", r.Offset)
			}
			assert.GreaterOrEqual(t, requests, tc.minRequests)
		})
	}
}

func TestWritePartialFailureRetriesOnlyTheFailedItems(t *testing.T) {
	c := fakeCluster(t, 2, []string{"siem"})
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "siem", Partitions: []int32{1},
		Err: kerr.LeaderNotAvailable, Count: 1})
	s := newSink(t, testConfig(c.ListenAddrs(), "siem"))
	evs := events(40, "a", 100) // five keys, over both partitions

	items := itemErrors(t, s.Write(context.Background(), evs))
	require.NotEmpty(t, items)
	require.Less(t, len(items), len(evs))
	var retry []*pipeline.Event
	for _, it := range items {
		assert.False(t, pipeline.IsPermanent(it.Err), "%v", it.Err)
		assert.ErrorIs(t, it.Err, kafkago.LeaderNotAvailable)
		retry = append(retry, evs[it.Index])
	}
	require.NoError(t, s.Write(context.Background(), retry))

	consume(t, c.ListenAddrs(), "siem", len(evs))
	assert.EqualValues(t, len(evs), recordCount(t, c.ListenAddrs(), "siem", 2), "acked records were not sent twice")
}

func TestWriteClassifiesBrokerErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       *kerr.Error
		permanent bool
	}{
		{"topic authorization failed", kerr.TopicAuthorizationFailed, true},
		{"cluster authorization failed", kerr.ClusterAuthorizationFailed, true},
		{"invalid topic", kerr.InvalidTopicException, true},
		{"invalid record", kerr.InvalidRecord, true},
		{"not enough replicas", kerr.NotEnoughReplicas, false},
		{"request timed out", kerr.RequestTimedOut, false},
		{"leader not available", kerr.LeaderNotAvailable, false},
		{"unknown server error", kerr.UnknownServerError, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeCluster(t, 1, []string{"siem"})
			c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "siem", Err: tt.err, Count: 1})
			s := newSink(t, testConfig(c.ListenAddrs(), "siem"))
			evs := events(3, "a", 100)

			err := s.Write(context.Background(), evs)

			require.Error(t, err)
			if tt.permanent {
				items := itemErrors(t, err)
				require.Len(t, items, len(evs))
				for _, it := range items {
					assert.True(t, pipeline.IsPermanent(it.Err), "%v", it.Err)
				}
				return
			}
			assert.False(t, pipeline.IsPermanent(err), "%v", err)
			var items pipeline.ItemErrors
			assert.False(t, errors.As(err, &items), "all transient: one plain error, got %v", err)
			require.NoError(t, s.Write(context.Background(), evs), "the retry succeeds")
		})
	}
}

func TestWriteTopicTemplateRoutesAndFallsBack(t *testing.T) {
	c := fakeCluster(t, 1, []string{"alpha", "beta", "siem-default"})
	s := newSink(t, testConfig(c.ListenAddrs(), "{event.dataset}"))
	evs := []*pipeline.Event{
		event(0, "alpha", "10.0.0.1", 100),
		event(1, "beta", "10.0.0.1", 100),
		event(2, "", "10.0.0.1", 100),         // empty: default_topic
		event(3, "bad/name", "10.0.0.1", 100), // illegal: default_topic
		event(4, "alpha", "10.0.0.1", 100),
	}

	require.NoError(t, s.Write(context.Background(), evs))

	for topic, want := range map[string][]int{"alpha": {0, 4}, "beta": {1}, "siem-default": {2, 3}} {
		recs := consume(t, c.ListenAddrs(), topic, len(want))
		var got []string
		for _, r := range recs {
			got = append(got, string(r.Value))
		}
		var exp []string
		for _, i := range want {
			exp = append(exp, string(evs[i].JSON))
		}
		assert.ElementsMatch(t, exp, got, topic)
	}
}

func TestWriteWithoutKeyTemplateSendsNoKey(t *testing.T) {
	c := fakeCluster(t, 2, []string{"siem"})
	cfg := testConfig(c.ListenAddrs(), "siem")
	cfg.Key = ""
	s := newSink(t, cfg)
	require.NoError(t, s.Write(context.Background(), events(10, "a", 100)))
	for _, r := range consume(t, c.ListenAddrs(), "siem", 10) {
		assert.Nil(t, r.Key)
	}
}

func TestWriteEventWithoutJSONIsPermanent(t *testing.T) {
	c := fakeCluster(t, 1, []string{"siem"})
	s := newSink(t, testConfig(c.ListenAddrs(), "siem"))
	evs := events(3, "a", 100)
	evs[1].JSON = nil
	items := itemErrors(t, s.Write(context.Background(), evs))
	require.Len(t, items, 1)
	assert.Equal(t, 1, items[0].Index)
	assert.True(t, pipeline.IsPermanent(items[0].Err))
}

func TestWriteEmptyIsNoop(t *testing.T) {
	s := newSink(t, testConfig([]string{"127.0.0.1:1"}, "siem"))
	require.NoError(t, s.Write(context.Background(), nil))
}

func TestWriteReusesScratchAcrossWrites(t *testing.T) {
	c := fakeCluster(t, 1, []string{"siem"})
	s := newSink(t, testConfig(c.ListenAddrs(), "siem"))
	first, second := events(5, "a", 100), events(5, "b", 200)
	require.NoError(t, s.Write(context.Background(), first))
	require.NoError(t, s.Write(context.Background(), second))
	recs := consume(t, c.ListenAddrs(), "siem", 10)
	for i, r := range recs {
		want := append(first, second...)[i]
		assert.Equal(t, string(want.JSON), string(r.Value))
		ds, _ := header(r, HeaderDataset)
		assert.Equal(t, want.Routes.Dataset, ds)
	}
}
