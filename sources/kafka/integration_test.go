package kafka

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
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
	testservice.CreateTopic(t, brokers, topic, 6)
	cfg := testConfig(brokers, topic, group)
	cfg.BatchEvents = 100

	a := start(t, "kafka_a", cfg, 4)
	b := start(t, "kafka_b", cfg, 4)
	ca, cb := collect(t, a.out), collect(t, b.out)
	poll.Until(t, 60*time.Second, "both members are assigned",
		func() bool { return groupMembersAssigned(t, brokers, group, 2) })

	const n = 6000
	produce(t, brokers, topic, 0, n)
	poll.Until(t, 60*time.Second, fmt.Sprintf("%d events arrived", n), func() bool { return ca.total()+cb.total() >= n })
	poll.Until(t, 30*time.Second, fmt.Sprintf("the group committed all %d", n),
		func() bool { sum, _ := committed(t, brokers, group, topic, 6); return sum == n })

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

func TestCommitsOnlyTheContiguousAckedPosition(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	testservice.CreateTopic(t, brokers, topic, 1)
	const n = 100
	produce(t, brokers, topic, 0, n)
	cfg := testConfig(brokers, topic, group)
	cfg.BatchEvents = 10
	cfg.MaxInFlightBatches = 32

	r := start(t, "kafka_commit", cfg, 32)
	var held []pipeline.Batch
	for got := 0; got < n; {
		select {
		case b := <-r.out:
			held = append(held, b)
			got += len(b.Events)
		case <-time.After(60 * time.Second):
			t.Fatalf("only %d of %d events arrived", got, n)
		}
	}
	// The batch holding offset 25 is never acked; every other one is, in
	// reverse order, so most acks arrive before those of earlier batches.
	gap := -1
	for i, b := range held {
		if first, last := b.Events[0].Offset, b.Events[len(b.Events)-1].Offset; first <= 25 && 25 <= last {
			gap = i
		}
	}
	require.GreaterOrEqual(t, gap, 0)
	want := held[gap].Events[0].Offset
	for i := len(held) - 1; i >= 0; i-- {
		if i != gap {
			held[i].Done(nil)
		}
	}
	poll.Until(t, 30*time.Second, fmt.Sprintf("offset %d (the gap's first) is committed", want),
		func() bool { sum, _ := committed(t, brokers, group, topic, 1); return sum == want })
	held[gap].Done(context.Canceled) // abandoned at shutdown: not delivered
	r.Stop(t)
	sum, _ := committed(t, brokers, group, topic, 1)
	require.Equal(t, want, sum, "the final commit stops at the unacked batch")

	// A new member resumes at the gap: the unacked batch and everything
	// after it (acked or not) is delivered again, nothing before it is.
	r2 := start(t, "kafka_commit2", cfg, 32)
	c := collect(t, r2.out)
	poll.Until(t, 60*time.Second, "the rest arrived again", func() bool { return c.distinct() >= int(n-want) })
	r2.Stop(t)
	<-c.done
	require.Len(t, c.offsets, int(n-want), "exactly the records from the gap on")
	assert.Equal(t, want, slices.Min(c.offsets))
	assert.Equal(t, int64(n-1), slices.Max(c.offsets))
	sum, _ = committed(t, brokers, group, topic, 1)
	assert.EqualValues(t, n, sum)
}

func lagSum(km *Metrics, source, topic string, partitions int) float64 {
	var sum float64
	for p := range partitions {
		sum += testutil.ToFloat64(km.Lag.WithLabelValues(source, topic, strconv.Itoa(p)))
	}
	return sum
}

func TestSinkDownStopsFetchingAndHoldsCommits(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	testservice.CreateTopic(t, brokers, topic, 3)
	cfg := testConfig(brokers, topic, group)
	cfg.BatchEvents = 50
	cfg.MaxInFlightBatches = 4
	const name = "kafka_down"
	r := start(t, name, cfg, 1)
	c := collect(t, r.out)

	// Phase 1: the sinks work.
	produce(t, brokers, topic, 0, 600)
	poll.Until(t, 60*time.Second, "600 committed",
		func() bool { sum, _ := committed(t, brokers, group, topic, 3); return sum == 600 })
	poll.Until(t, 30*time.Second, "lag 0", func() bool { return lagSum(r.km, name, topic, 3) == 0 })

	// Phase 2: the sinks are down: nothing is acked.
	c.setHold(true)
	produce(t, brokers, topic, 600, 3600)
	poll.Until(t, 60*time.Second, "the in-flight bound is reached",
		func() bool { return c.heldCount() == cfg.MaxInFlightBatches })
	poll.Until(t, 30*time.Second, "the lag shows all 3000 new records",
		func() bool { return lagSum(r.km, name, topic, 3) == 3000 })
	_, before := committed(t, brokers, group, topic, 3)
	assert.Equal(t, cfg.MaxInFlightBatches, c.heldCount(), "fetching stopped at the bound")
	assert.LessOrEqual(t, c.total(), 600+cfg.MaxInFlightBatches*cfg.BatchEvents, "no more than the in-flight batches were read")
	assert.EqualValues(t, cfg.MaxInFlightBatches, testutil.ToFloat64(r.km.InFlight.WithLabelValues(name)))
	sum, after := committed(t, brokers, group, topic, 3)
	assert.Equal(t, before, after)
	assert.EqualValues(t, 600, sum, "committed offsets did not move")

	// Phase 3: the sinks are back.
	c.setHold(false)
	poll.Until(t, 60*time.Second, "all 3600 arrived", func() bool { return c.distinct() == 3600 })
	poll.Until(t, 30*time.Second, "3600 committed",
		func() bool { sum, _ := committed(t, brokers, group, topic, 3); return sum == 3600 })
	poll.Until(t, 30*time.Second, "lag back to 0", func() bool { return lagSum(r.km, name, topic, 3) == 0 })
	assert.Equal(t, 3600, c.total(), "nothing was delivered twice")
}

func groupState(t testing.TB, brokers []string, group string) string {
	res, err := adminClient(t, brokers).DescribeGroups(context.Background(), &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil || len(res.Groups) != 1 {
		return ""
	}
	return res.Groups[0].GroupState
}

func TestRebalanceWaitsForInFlightAcksBeforeReleasing(t *testing.T) {
	brokers := realBrokers(t)
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	testservice.CreateTopic(t, brokers, topic, 4)
	const n = 2000
	produce(t, brokers, topic, 0, n)
	cfg := testConfig(brokers, topic, group)
	cfg.BatchEvents = 100
	cfg.RebalanceTimeout = 60 * time.Second // longer than the test waits: the acks must end the drain

	// a reads everything and acks nothing yet.
	draining := make(chan string, 4)
	a := start(t, "kafka_a", cfg, 32, func(s *Source) { s.draining = func(reason string) { draining <- reason } })
	ca := collect(t, a.out)
	ca.setHold(true)
	poll.Until(t, 60*time.Second, fmt.Sprintf("a read all %d", n), func() bool { return ca.total() == n })

	// b joins; a stops fetching and must hold its partitions until its
	// batches are acked.
	b := start(t, "kafka_b", cfg, 32)
	cb := collect(t, b.out)
	select {
	case reason := <-draining:
		require.Equal(t, "rebalance", reason)
	case <-time.After(60 * time.Second):
		t.Fatal("a did not notice the rebalance")
	}
	assert.Equal(t, "PreparingRebalance", groupState(t, brokers, group), "the group waits for a")
	sum, _ := committed(t, brokers, group, topic, 4)
	assert.Zero(t, sum, "nothing committed before the acks")
	ca.setHold(false)
	poll.Until(t, 60*time.Second, "both members are assigned",
		func() bool { return groupMembersAssigned(t, brokers, group, 2) })
	poll.Until(t, 30*time.Second, "the drained acks were committed before the partitions moved",
		func() bool { sum, _ := committed(t, brokers, group, topic, 4); return sum == n })
	a.Stop(t)
	b.Stop(t)
	assert.Equal(t, n, ca.total()+cb.total(), "no record was read again by the new owner")
}
