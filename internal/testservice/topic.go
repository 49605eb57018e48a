package testservice

import (
	"context"
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
)

// topicPatience bounds topic creation and the wait for its leaders, which
// a loaded broker can take seconds over.
const topicPatience = 60 * time.Second

// CreateTopic creates topic with the given partitions (replication 1) and
// waits until the broker names a leader for every partition: a produce
// straight after CreateTopics can otherwise meet "Not Leader For Partition"
// while the broker is still electing them.
func CreateTopic(t testing.TB, brokers []string, topic string, partitions int) {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafkago.Client{Addr: kafkago.TCP(brokers...), Transport: tr, Timeout: topicPatience}
	ctx, cancel := context.WithTimeout(context.Background(), topicPatience)
	defer cancel()
	res, err := client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{
		{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1},
	}})
	require.NoError(t, err)
	require.NoError(t, res.Errors[topic])
	poll.Until(t, topicPatience, fmt.Sprintf("a leader for each of topic %s's %d partitions", topic, partitions), func() bool {
		md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
		if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) != partitions {
			return false
		}
		for _, p := range md.Topics[0].Partitions {
			if p.Error != nil || p.Leader.ID < 0 {
				return false
			}
		}
		return true
	})
}
