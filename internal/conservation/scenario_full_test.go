package conservation

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFullConfigKeepsEveryEvent runs configs/full.yaml as shipped against
// the test broker and node (a fresh broker creates no topics by itself):
// every TCP and UDP event reaches Kafka and Elasticsearch, and the ledger
// delivered exactly what the sinks hold.
func TestFullConfigKeepsEveryEvent(t *testing.T) {
	n := NewNames("full")
	p := Start(t, "full.yaml", FullEnv(t, n, t.TempDir()))
	tcp := Markers("fulltcp", 50)
	udp := Markers("fulludp", 50)
	SendTCP(t, p.Listen["syslog_tcp"], lines(tcp))
	SendUDP(t, p.Listen["syslog_udp"], lines(udp))
	sent := append(tcp, udp...)
	ledger := p.WaitSettled(uint64(len(sent)))

	es := ExactlyOnce(t, "elasticsearch", sent, ESStored(t, n.DataStreams()), 0)
	kafka := AtLeastOnce(t, "kafka", sent, KafkaStored(t, KafkaTopics(t, n.TopicPrefix)...), 0)
	require.Equal(t, uint64(es.Stored), ledger.Delivered, "the ledger delivered what Elasticsearch holds")
	require.Equal(t, uint64(kafka.Stored), ledger.Delivered, "the ledger delivered what Kafka holds")
	require.Empty(t, ledger.Dropped)
	require.Equal(t, 0, p.Stop())
}

func lines(markers []string) []string {
	out := make([]string, len(markers))
	for i, m := range markers {
		out[i] = Line(m)
	}
	return out
}
