package kafka

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
)

// groupMembersAssigned reports whether group has n members, each with
// partitions assigned, and is stable.
func groupMembersAssigned(t testing.TB, brokers []string, group string, n int) bool {
	res, err := adminClient(t, brokers).DescribeGroups(context.Background(), &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil || len(res.Groups) != 1 {
		return false
	}
	g := res.Groups[0]
	if g.Error != nil || g.GroupState != "Stable" || len(g.Members) != n {
		return false
	}
	for _, m := range g.Members {
		if len(m.MemberAssignments.Topics) == 0 {
			return false
		}
	}
	return true
}

func TestTwoMembersShareSixPartitionsExactlyOnce(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	createTopic(t, brokers, topic, 6)
	cfg := testConfig(brokers, topic, group)
	cfg.BatchEvents = 100

	a := start(t, "kafka_a", cfg, 4)
	b := start(t, "kafka_b", cfg, 4)
	ca, cb := collect(t, a.out), collect(t, b.out)
	eventually(t, 60*time.Second, func() bool { return groupMembersAssigned(t, brokers, group, 2) }, "both members are assigned")

	const n = 6000
	produce(t, brokers, topic, 0, n)
	eventually(t, 60*time.Second, func() bool { return ca.total()+cb.total() >= n }, "%d events arrived", n)
	eventually(t, 30*time.Second, func() bool { sum, _ := committed(t, brokers, group, topic, 6); return sum == n },
		"the group committed all %d", n)

	a.Stop(t)
	b.Stop(t)
	<-ca.done
	<-cb.done
	assert.Positive(t, ca.distinct(), "instance a got some partitions")
	assert.Positive(t, cb.distinct(), "instance b got some partitions")
	for i := range n {
		got := ca.seen[i] + cb.seen[i]
		if !assert.Equal(t, 1, got, "line %d delivered %d times", i, got) {
			break
		}
	}
	assert.Equal(t, n, ca.total()+cb.total(), "no duplicates")
}
