package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

	require.NoError(t, s.Write(context.Background(), events(10, "a", 100)))
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
	require.Eventually(t, func() bool {
		err := s.Write(context.Background(), evs)
		var items pipeline.ItemErrors
		if errors.As(err, &items) {
			err = items[0].Err
		}
		require.False(t, pipeline.IsPermanent(err), "a topic being created is a transient failure: %v", err)
		return err == nil
	}, patience, 100*time.Millisecond)
	require.EqualValues(t, 5, recordCount(t, brokers, prefix+"kerio_connect.mail", 1))
}
