package conservation

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
)

// TestMissingTopicsRefuseTheStart: without create_topics, a Kafka sink
// whose topics (and dead-letter topic) do not exist refuses to start, and
// says which topics are missing. With it (the shipped full.yaml) they are
// created: TestFullConfigKeepsEveryEvent starts on a broker without them.
func TestMissingTopicsRefuseTheStart(t *testing.T) {
	n := NewNames("notopics")
	env := FullEnv(t, n, t.TempDir())
	env["SIEMFWD_SINKS_KAFKA_CREATE_TOPICS"] = "false"
	p := Launch(t, "full.yaml", env)
	require.NotZero(t, p.Wait(), "siemfwd starts without its topics")
	logs := p.LogText()
	require.Contains(t, logs, "topics do not exist: "+n.TopicPrefix+"generic")
	require.Contains(t, logs, n.DeadTopic)
	require.Contains(t, logs, "create_topics: true")
	require.Empty(t, KafkaTopics(t, n.TopicPrefix), "nothing was created")
}

// TestElasticsearchDownAtStartIsNotFatal: the node does not answer when
// siemfwd starts. Sources start anyway, /readyz says not ready and why, a
// warning says what happens, events wait in the disk buffer, and once the
// node answers every event is stored exactly once.
func TestElasticsearchDownAtStartIsNotFatal(t *testing.T) {
	n := NewNames("esdown")
	env := FullEnv(t, n, t.TempDir())
	es, err := url.Parse(testservice.Elasticsearch(t))
	require.NoError(t, err)
	later := FreeAddr(t) // the node appears here when the test says so
	env["SIEMFWD_SINKS_ELASTICSEARCH_ADDRESSES"] = "http://" + later
	p := Start(t, "full.yaml", env)
	require.Contains(t, p.WaitLog("Elasticsearch does not answer at start")["err"], later)
	ready, why := p.Ready()
	require.False(t, ready)
	require.Contains(t, why, "sink elasticsearch: elasticsearch not reached yet")

	sent := Markers("esdown", 60)
	SendTCP(t, p.Listen["syslog_tcp"], lines(sent[:30]))
	SendUDP(t, p.Listen["syslog_udp"], lines(sent[30:]))
	poll.UntilOK(t, patience, func() string {
		if got := p.Metric("siemfwd_disk_buffer_events", map[string]string{"sink": "elasticsearch"}); got != float64(len(sent)) {
			return "the Elasticsearch disk buffer holds " + Float(got) + " events"
		}
		return ""
	})
	Forward(t, later, es.Host)
	ledger := p.WaitSettled(uint64(len(sent)))
	poll.UntilOK(t, patience, func() string {
		if ready, why := p.Ready(); !ready {
			return why
		}
		return ""
	})
	got := ExactlyOnce(t, "elasticsearch", sent, ESStored(t, n.DataStreams()), 0)
	AtLeastOnce(t, "kafka", sent, KafkaStored(t, KafkaTopics(t, n.TopicPrefix)...), 0)
	require.EqualValues(t, got.Stored, ledger.Delivered)
	require.Equal(t, 0, p.Stop())
}
