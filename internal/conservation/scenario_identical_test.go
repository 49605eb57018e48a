package conservation

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIdenticalLinesAreSeparateEvents sends the same failed-login line ten
// times in one TCP write and twenty times as a UDP burst through
// configs/full.yaml: every line is an event of its own, so Elasticsearch
// holds ten and twenty documents and Kafka ten and twenty records, each with
// its own event.id (a brute-force rule counts exactly these lines).
func TestIdenticalLinesAreSeparateEvents(t *testing.T) {
	n := NewNames("identical")
	p := Start(t, "full.yaml", FullEnv(t, n, t.TempDir()))
	markers := Markers("identical", 2)
	tcp, udp := markers[0], markers[1]
	const tcpN, udpN = 10, 20
	SendTCP(t, p.Listen["syslog_tcp"], slices.Repeat([]string{Line(tcp)}, tcpN))
	SendUDP(t, p.Listen["syslog_udp"], slices.Repeat([]string{Line(udp)}, udpN))
	ledger := p.WaitSettled(tcpN + udpN)
	require.Empty(t, ledger.Dropped)

	want := map[string]int{tcp: tcpN, udp: udpN}
	for _, sink := range []struct {
		name   string
		stored Stored
	}{
		{"elasticsearch", ESStored(t, n.DataStreams())},
		{"kafka", KafkaStored(t, KafkaTopics(t, n.TopicPrefix)...)},
	} {
		for marker, sent := range want {
			copies := sink.stored[marker]
			ids := map[string]int{}
			for _, c := range copies {
				require.NotEmpty(t, c.EventID, "%s: a copy of %s without event.id", sink.name, marker)
				ids[c.EventID]++
			}
			assert.Len(t, ids, sent, "%s: %d identical lines are %d events", sink.name, sent, sent)
			if sink.name == "elasticsearch" {
				assert.Len(t, copies, sent, "elasticsearch holds each event once")
			} else {
				assert.GreaterOrEqual(t, len(copies), sent, "kafka holds each event at least once")
			}
			dup := len(copies) - len(ids)
			t.Logf("LAW %s %s %s: sent=%d stored=%d distinct_ids=%d duplicated=%d dropped_counted=0",
				t.Name(), sink.name, strings.TrimPrefix(marker, "mk"), sent, len(copies), len(ids), dup)
		}
	}
	require.Equal(t, uint64(tcpN+udpN), ledger.Delivered, "the ledger delivered every line")
	require.Equal(t, 0, p.Stop())
}
