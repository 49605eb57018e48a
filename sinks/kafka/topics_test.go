package kafka

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/pipeline"
)

func TestStartRefusesMissingTopicsNamingThem(t *testing.T) {
	brokers := realBrokers(t)
	cfg := testConfig(brokers, uniqueTopic(t))
	cfg.DefaultTopic = uniqueTopic(t) + "-default"
	s := newSink(t, cfg)
	err := s.Start(context.Background())
	require.ErrorIs(t, err, ErrMissingTopics)
	require.ErrorContains(t, err, cfg.Topic)
	require.ErrorContains(t, err, cfg.DefaultTopic)
	require.ErrorContains(t, err, "create_topics: true")
}

func TestStartCreatesMissingTopicsWithCreateTopics(t *testing.T) {
	brokers := realBrokers(t)
	cfg := testConfig(brokers, uniqueTopic(t))
	cfg.DefaultTopic = cfg.Topic + "-default"
	cfg.CreateTopics, cfg.TopicPartitions = true, 2
	s := newSink(t, cfg)
	require.NoError(t, s.Start(context.Background()))
	again := newSink(t, cfg)
	cfg.CreateTopics = false
	require.NoError(t, newSink(t, cfg).Start(context.Background()), "the topics exist now")
	require.NoError(t, again.Start(context.Background()), "creating what exists is no error")

	writeUntilStored(t, s, events(10, "a", 100))
	require.EqualValues(t, 10, recordCount(t, brokers, cfg.Topic, 2), "with the configured partitions")
}

func TestATemplatedTopicIsCreatedOnFirstUseWithCreateTopics(t *testing.T) {
	brokers := realBrokers(t)
	prefix := uniqueTopic(t) + "-"
	cfg := testConfig(brokers, prefix+"{event.dataset}")
	cfg.DefaultTopic = prefix + "default"
	cfg.CreateTopics, cfg.TopicPartitions = true, 1
	s := newSink(t, cfg)
	require.NoError(t, s.Start(context.Background()))
	evs := events(5, "kerio_connect.mail", 100)
	// The first write finds the topic missing and creates it; a retry (as
	// the sink loop's) delivers.
	writeUntilStored(t, s, evs)
	require.EqualValues(t, 5, recordCount(t, brokers, prefix+"kerio_connect.mail", 1))
}

// writeUntilStored writes events and retries what failed transiently, as
// the sink loop does (a topic just created may not have its leaders yet),
// failing the test on a permanent error.
func writeUntilStored(t *testing.T, s *Sink, todo []*pipeline.Event) {
	t.Helper()
	poll.Until(t, patience, "every event stored", func() bool {
		err := s.Write(context.Background(), todo)
		var items pipeline.ItemErrors
		if errors.As(err, &items) {
			var again []*pipeline.Event
			for _, it := range items {
				require.False(t, pipeline.IsPermanent(it.Err), "%v", it.Err)
				again = append(again, todo[it.Index])
			}
			todo = again
			return false
		}
		require.False(t, pipeline.IsPermanent(err), "%v", err)
		return err == nil
	})
}
