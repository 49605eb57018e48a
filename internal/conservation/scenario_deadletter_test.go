package conservation

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// conflictTemplate makes the scenario's data stream map log.syslog.appname
// as a number, so that an event whose APP-NAME is a word is refused for good
// (a mapping conflict, 400) while the others are stored. Its priority is
// above siemfwd's own template, so it wins for this one data stream.
func conflictTemplate(t *testing.T, n Names) {
	t.Helper()
	ESRequest(t, http.MethodPut, "/_index_template/cons-"+n.Namespace, `{
	  "index_patterns": ["logs-syslog-`+n.Namespace+`"],
	  "data_stream": {},
	  "priority": 500,
	  "template": {"mappings": {"properties": {"log": {"properties": {"syslog": {"properties": {
	    "appname": {"type": "long"}}}}}}}}
	}`)
}

// sendConflicting sends 20 events the conflict template accepts (a numeric
// APP-NAME) and 20 it refuses, interleaved in one TCP write, and waits until
// they are settled.
func sendConflicting(t *testing.T, p *Proc, scenario string) (good, bad, sent []string, ledger Sender) {
	t.Helper()
	good, bad = Markers(scenario+"ok", 20), Markers(scenario+"bad", 20)
	var batch []string
	for i := range good {
		batch = append(batch, LineFrom("4711", good[i]), LineFrom("webmail", bad[i]))
	}
	SendTCP(t, p.Listen["syslog_tcp"], batch)
	sent = append(append(sent, good...), bad...)
	return good, bad, sent, p.WaitSettled(uint64(len(sent)))
}

// TestAMappingConflictGoesToTheDeadLetterStream: events the node refuses
// for good are stored once in the dead-letter data stream, the others once
// in their data stream; Kafka holds every one; nothing is dropped.
func TestAMappingConflictGoesToTheDeadLetterStream(t *testing.T) {
	n := NewNames("conflict")
	conflictTemplate(t, n)
	p := Start(t, "full.yaml", FullEnv(t, n, t.TempDir()))
	good, bad, sent, ledger := sendConflicting(t, p, "conflict")

	es := ExactlyOnce(t, "elasticsearch", sent, ESStored(t, n.DataStreams()), 0)
	dead := ESStored(t, n.DeadIndex)
	for _, m := range bad {
		require.Len(t, dead[m], 1, "refused %s is in the dead-letter stream", m)
	}
	for _, m := range good {
		require.Empty(t, dead[m], "stored %s is not dead-lettered", m)
	}
	AtLeastOnce(t, "kafka", sent, KafkaStored(t, KafkaTopics(t, n.TopicPrefix)...), 0)
	require.EqualValues(t, es.Stored, ledger.Delivered, "a dead-lettered event is delivered")
	require.Empty(t, ledger.Dropped)
	require.EqualValues(t, len(bad), p.Metric("siemfwd_sink_events_total", map[string]string{"sink": "elasticsearch", "outcome": "dead_lettered"}))
	require.Equal(t, 0, p.Stop())
}

// TestAFailingDeadLetterDestinationIsADropWithItsReason: the mapping
// conflict again, but the dead-letter index refuses writes too (a write
// block). The refused events are counted as dropped with reason
// dead_letter_failed, once, in /metrics and per sender in /senders (not as
// dead_lettered, not as delivered), and /readyz says not ready.
func TestAFailingDeadLetterDestinationIsADropWithItsReason(t *testing.T) {
	n := NewNames("deadfails")
	conflictTemplate(t, n)
	blocked := "logs-siemfwd.blocked-" + n.Namespace
	ESRequest(t, http.MethodPut, "/"+blocked, `{"settings": {"index.blocks.write": true}}`)
	env := FullEnv(t, n, t.TempDir())
	env["SIEMFWD_SINKS_ELASTICSEARCH_DEAD_LETTER_INDEX"] = blocked
	p := Start(t, "full.yaml", env)
	_, bad, sent, ledger := sendConflicting(t, p, "deadfails")

	dropped := p.Metric("siemfwd_sink_dropped_events_total", map[string]string{"sink": "elasticsearch", "reason": "dead_letter_failed"})
	es := ExactlyOnce(t, "elasticsearch", sent, ESStored(t, n.DataStreams(), blocked), int(dropped))
	require.Equal(t, len(bad), es.Missing)
	require.Zero(t, p.Metric("siemfwd_sink_events_total", map[string]string{"sink": "elasticsearch", "outcome": "dead_lettered"}),
		"a failed dead letter is not counted as dead-lettered")
	AtLeastOnce(t, "kafka", sent, KafkaStored(t, KafkaTopics(t, n.TopicPrefix)...), 0)
	require.EqualValues(t, es.Stored, ledger.Delivered, "/senders delivered what the sinks hold")
	require.Equal(t, map[string]uint64{"dead_letter_failed": uint64(len(bad))}, ledger.Dropped)
	ready, why := p.Ready()
	require.False(t, ready)
	require.Contains(t, why, "sink elasticsearch: dead-letter destination failing")
	require.Equal(t, 0, p.Stop())
}
