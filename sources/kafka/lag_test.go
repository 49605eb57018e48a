package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
)

// deadMember joins group as the only member, takes every partition of
// topic, and then never heartbeats: a member killed with -9, whose
// partitions nobody reads until its session (45s) expires. It returns its
// member ID.
func deadMember(t testing.TB, brokers []string, group, topic string, partitions int) string {
	t.Helper()
	c := adminClient(t, brokers)
	ctx := context.Background()
	join := &kafkago.JoinGroupRequest{GroupID: group, SessionTimeout: 45 * time.Second, RebalanceTimeout: 45 * time.Second,
		ProtocolType: "consumer", Protocols: []kafkago.GroupProtocol{{Name: "range",
			Metadata: kafkago.GroupProtocolSubscription{Topics: []string{topic}}}}}
	res, err := c.JoinGroup(ctx, join)
	require.NoError(t, err)
	if errors.Is(res.Error, kafkago.MemberIDRequired) { // brokers since 2.2 hand out the ID first
		join.MemberID = res.MemberID
		res, err = c.JoinGroup(ctx, join)
		require.NoError(t, err)
	}
	require.NoError(t, res.Error)
	require.Equal(t, res.MemberID, res.LeaderID, "the dead member is alone, so it leads")
	all := make([]int, partitions)
	for i := range all {
		all[i] = i
	}
	sync, err := c.SyncGroup(ctx, &kafkago.SyncGroupRequest{GroupID: group, GenerationID: res.GenerationID,
		MemberID: res.MemberID, ProtocolType: "consumer", ProtocolName: res.ProtocolName,
		Assignments: []kafkago.SyncGroupRequestAssignment{{MemberID: res.MemberID,
			Assignment: kafkago.GroupProtocolAssignment{AssignedPartitions: map[string][]int{topic: all}}}}})
	require.NoError(t, err)
	require.NoError(t, sync.Error)
	require.Equal(t, all, sync.Assignment.AssignedPartitions[topic])
	return res.MemberID
}

func endOffsets(t testing.TB, brokers []string, topic string, partitions int) []int64 {
	t.Helper()
	req := make([]kafkago.OffsetRequest, partitions)
	for i := range req {
		req[i] = kafkago.OffsetRequest{Partition: i, Timestamp: kafkago.LastOffset}
	}
	res, err := adminClient(t, brokers).ListOffsets(context.Background(), &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: req}})
	require.NoError(t, err)
	ends := make([]int64, partitions)
	for _, po := range res.Topics[topic] {
		require.NoError(t, po.Error)
		ends[po.Partition] = po.LastOffset
	}
	return ends
}

// TestLagOfPartitionsNoLiveMemberHolds is a takeover as a survivor sees
// it: a member died holding every partition, and until the coordinator
// gives up on it the survivor holds none (partitions_assigned 0), yet its
// lag gauges show what waits on each partition, committed or not. Once the
// dead member is gone, the survivor takes all, reads them and the lag
// returns to 0.
func TestLagOfPartitionsNoLiveMemberHolds(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	const partitions = 3
	testservice.CreateTopic(t, brokers, topic, partitions)
	produce(t, brokers, topic, 0, 300)
	ends := endOffsets(t, brokers, topic, partitions)
	for p, end := range ends {
		require.Greater(t, end, int64(10), "partition %d has records", p)
	}
	// The group has committed part of partitions 0 and 1, nothing of 2.
	commit, err := adminClient(t, brokers).OffsetCommit(context.Background(), &kafkago.OffsetCommitRequest{
		GroupID: group, GenerationID: -1, Topics: map[string][]kafkago.OffsetCommit{topic: {{Partition: 0, Offset: 3}, {Partition: 1, Offset: 10}}}})
	require.NoError(t, err)
	for _, p := range commit.Topics[topic] {
		require.NoError(t, p.Error)
	}
	_, per := committed(t, brokers, group, topic, partitions)
	require.Equal(t, []int64{3, 10, -1}, per)
	dead := deadMember(t, brokers, group, topic, partitions)

	const name = "kafka_survivor"
	r := start(t, name, testConfig(brokers, topic, group), 16)
	lag := func(p int) float64 { return testutil.ToFloat64(r.km.Lag.WithLabelValues(name, topic, strconv.Itoa(p))) }
	want := []float64{float64(ends[0] - 3), float64(ends[1] - 10), float64(ends[2])}
	poll.Until(t, 20*time.Second, fmt.Sprintf("the survivor reports the lag of partitions it does not hold: want %v", want),
		func() bool { return lag(0) == want[0] && lag(1) == want[1] && lag(2) == want[2] })
	poll.Until(t, 20*time.Second, "the survivor's join makes the coordinator wait for the dead member",
		func() bool { return groupState(t, brokers, group) == "PreparingRebalance" })
	assert.Zero(t, testutil.ToFloat64(r.km.PartitionsAssigned.WithLabelValues(name)), "the dead member still holds every partition")
	assert.Equal(t, want, []float64{lag(0), lag(1), lag(2)})

	// The dead member's session ends (here: it is removed): the survivor takes over.
	left, err := adminClient(t, brokers).LeaveGroup(context.Background(), &kafkago.LeaveGroupRequest{GroupID: group,
		Members: []kafkago.LeaveGroupRequestMember{{ID: dead}}})
	require.NoError(t, err)
	require.NoError(t, left.Error)
	c := collect(t, r.out)
	poll.Until(t, 60*time.Second, fmt.Sprintf("the survivor holds all %d partitions", partitions),
		func() bool { return testutil.ToFloat64(r.km.PartitionsAssigned.WithLabelValues(name)) == partitions })
	poll.Until(t, 60*time.Second, "the lag is read away", func() bool { return lag(0) == 0 && lag(1) == 0 && lag(2) == 0 })
	assert.Equal(t, int(ends[0]-3+ends[1]-10+ends[2]), c.total(), "the survivor read exactly what waited")
}
