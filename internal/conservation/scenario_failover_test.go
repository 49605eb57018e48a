package conservation

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
)

// The failover test runs the two-tier deployment of docs/scaling.md as real
// processes: two edges on configs/edge.yaml in front of the real broker, two
// indexers on configs/indexer.yaml in one consumer group behind it, and the
// real Elasticsearch node. Senders stream numbered events (unique markers)
// into both edges while it
//
//  1. kills one indexer with SIGKILL (and starts it again),
//  2. restarts an indexer with SIGTERM,
//  3. kills the disk-buffered edge with SIGKILL, then the memory-buffered
//     one, and starts each again on its data directory,
//  4. restarts Kafka while TCP and UDP senders stream,
//
// and after each step reads back every marker sent so far: each is in
// Elasticsearch at most once, each is in Kafka (repeats only with the same
// event.id), and one that is missing is either
//   - a TCP event sent to an edge that was then killed, and no more of those
//     are missing than the edge had not yet buffered (sent minus the
//     delivered count of its /senders ledger read just before the kill), or
//   - a UDP event that the edge counted as dropped (its ledger's drops plus
//     the kernel's receive-buffer drops of its socket), exactly as many.
//
// Elasticsearch and Kafka miss the same markers: the indexer tier loses
// nothing. Settings that differ from the shipped files: addresses, names, the
// data directories, the second edge's memory buffer (the case without a disk
// buffer), and the indexers' session_timeout of 6s (the broker's minimum,
// group.min.session.timeout.ms) with 1s heartbeats, so that a killed
// indexer's partitions move after about 6s instead of 30s.

// failoverSession is the indexers' session timeout in this test.
const failoverSession = 6 * time.Second

// sendersPerEdge TCP senders stream into each edge, each from its own
// loopback address, so that key_by: sender_address spreads them over
// partitions; each sends failoverPerTick events every failoverTick.
// An edge is killed once it has delivered killAfter events of the step.
const (
	killAfter       = 500
	sendersPerEdge  = 3
	failoverTick    = 40 * time.Millisecond
	failoverPerTick = 1 // 25 events/s per sender, 150/s in all
)

// twoTier is the deployment under test and what the test sent into it.
type twoTier struct {
	t        *testing.T
	names    Names
	topic    string
	group    string
	edges    []*tierEdge
	indexers []*Proc
	idxEnv   map[string]string

	sent  []string        // every marker sent, in every step
	udp   map[string]bool // the markers sent over UDP
	kills []edgeKill      // the edges killed, with what they had buffered
	phase int             // the steps' flows started so far

	// What the previous check saw, for the figures of one step.
	reported  int // kills whose figures were logged
	prevKafka int // Kafka's extra copies
	prevSent  int // markers sent
}

// tierEdge is one edge: its configuration, its current process, and the
// loopback network its senders send from.
type tierEdge struct {
	name     string
	env      map[string]string
	proc     *Proc
	net      int // senders send from 127.0.<net>.<i>
	accepted int // events sent to the current process over TCP and UDP
	udpSent  int // events sent over UDP, to every process
}

// edgeKill is an edge killed mid-stream: the TCP markers sent to it up to
// the kill (the batch that failed included) and its ledger read just before:
// received, delivered and in flight of those markers, and every drop the
// process counted since it started.
type edgeKill struct {
	edge   string
	window []string
	ledger Sender
}

// flow is one sender of a step: where it sends and how.
type flow struct {
	edge    *tierEdge
	network string
	s       *streamer
}

func TestTwoTierFailover(t *testing.T) {
	n := NewNames("failover")
	tt := &twoTier{t: t, names: n, topic: n.TopicPrefix + "raw", group: "cons-" + run + "-failover", udp: map[string]bool{}}
	brokers := strings.Join(testservice.Kafka(t), ",")
	for i, buffer := range []string{"disk", "memory"} {
		dir := t.TempDir()
		e := &tierEdge{name: fmt.Sprintf("edge%d-%s", i+1, buffer), net: i + 1, env: map[string]string{
			"SIEMFWD_PIPELINE_DATA_DIR":             dir,
			"SIEMFWD_SOURCES_SYSLOG_UDP_ADDRESS":    "127.0.0.1:0",
			"SIEMFWD_SOURCES_SYSLOG_TCP_ADDRESS":    "127.0.0.1:0",
			"SIEMFWD_SINKS_KAFKA_BROKERS":           brokers,
			"SIEMFWD_SINKS_KAFKA_TOPIC":             tt.topic,
			"SIEMFWD_SINKS_KAFKA_DEAD_LETTER_TOPIC": n.DeadTopic,
			"SIEMFWD_SINKS_KAFKA_BUFFER_TYPE":       buffer,
		}}
		// The first edge creates the topic (create_topics, topic_partitions).
		e.proc = Start(t, "edge.yaml", e.env)
		tt.edges = append(tt.edges, e)
	}
	tt.idxEnv = map[string]string{
		"SIEMFWD_PIPELINE_NAMESPACE":                    n.Namespace,
		"SIEMFWD_SOURCES_FROM_EDGES_BROKERS":            brokers,
		"SIEMFWD_SOURCES_FROM_EDGES_TOPICS":             tt.topic,
		"SIEMFWD_SOURCES_FROM_EDGES_GROUP_ID":           tt.group,
		"SIEMFWD_SOURCES_FROM_EDGES_SESSION_TIMEOUT":    failoverSession.String(),
		"SIEMFWD_SOURCES_FROM_EDGES_HEARTBEAT_INTERVAL": "1s",
		"SIEMFWD_SINKS_ELASTICSEARCH_ADDRESSES":         testservice.Elasticsearch(t),
		"SIEMFWD_SINKS_ELASTICSEARCH_DEAD_LETTER_INDEX": n.DeadIndex,
	}
	partitions := len(tt.partitions())
	t.Logf("topic %s: %d partitions", tt.topic, partitions)
	require.GreaterOrEqual(t, partitions, 2, "configs/edge.yaml creates a topic two indexers can share")
	for range 2 {
		tt.indexers = append(tt.indexers, Start(t, "indexer.yaml", tt.idxEnv))
	}
	tt.waitShared(partitions)

	// Step 1: kill -9 an indexer.
	{
		flows := tt.startFlows(false)
		i := tt.busyIndexer()
		victim, survivor := tt.indexers[i], tt.indexers[1-i]
		killed := time.Now()
		victim.Kill()
		takeover, maxLag := tt.waitHoldsAll(survivor, partitions, killed)
		t.Logf("FIGURE step1 takeover %s after SIGKILL (session_timeout %s); the survivor's lag gauges showed up to %.0f records waiting; the survivor's group log: %s",
			takeover.Round(10*time.Millisecond), failoverSession, maxLag, groupLog(survivor))
		tt.waitSent(survivor, "elasticsearch")
		tt.stopFlows(flows)
		tt.indexers[i] = Start(t, "indexer.yaml", tt.idxEnv)
		tt.waitShared(partitions)
		tt.check("step1")
	}

	// Step 2: SIGTERM an indexer and start it again.
	{
		flows := tt.startFlows(false)
		i := tt.busyIndexer()
		stopping, survivor := tt.indexers[i], tt.indexers[1-i]
		signalled := time.Now()
		stopping.Signal(syscall.SIGTERM)
		takeover, maxLag := tt.waitHoldsAll(survivor, partitions, signalled)
		code := stopping.Wait()
		tot := stopping.Totals()
		t.Logf("FIGURE step2 SIGTERM: exit %d, totals %+v; takeover %s after the signal; the survivor's lag gauges showed up to %.0f; its group log: %s",
			code, tot, takeover.Round(10*time.Millisecond), maxLag, groupLog(survivor))
		require.Equal(t, 0, code)
		require.Zero(t, tot.Abandoned, "a SIGTERM drains: nothing abandoned")
		tt.indexers[i] = Start(t, "indexer.yaml", tt.idxEnv)
		tt.waitShared(partitions)
		tt.busyIndexer()
		tt.stopFlows(flows)
		tt.check("step2")
	}

	// Step 3: kill -9 an edge with a disk buffer, then one without.
	{
		for _, e := range tt.edges {
			flows := tt.killEdge(e)
			e.proc = Start(t, "edge.yaml", e.env)
			e.accepted = 0
			// The restarted edge takes a reconnecting sender (and sends
			// what its disk buffer kept).
			flows = append(flows, tt.startFlow(e, "tcp", 0))
			tt.waitSent(e.proc, "kafka")
			tt.stopFlows(flows)
		}
		tt.check("step3")
	}

	// Step 4: restart Kafka.
	{
		flows := tt.startFlows(true)
		for _, e := range tt.edges {
			tt.waitSent(e.proc, "kafka")
		}
		down := time.Now()
		Restart(t, "kafka")
		back := time.Now()
		whileDown := map[string]string{}
		for _, e := range tt.edges {
			whileDown[e.name] = tt.drops(e)
		}
		for _, e := range tt.edges {
			tt.waitSent(e.proc, "kafka")
		}
		tt.busyIndexer()
		t.Logf("FIGURE step4 the broker was away %s (scripts/testenv/restart); delivery resumed %s after it was healthy again",
			back.Sub(down).Round(10*time.Millisecond), time.Since(back).Round(10*time.Millisecond))
		tt.stopFlows(flows)
		for _, e := range tt.edges {
			t.Logf("FIGURE step4 %s: UDP sent %d; dropped by the time the broker was back: %s; in all: %s",
				e.name, e.udpSent, whileDown[e.name], tt.drops(e))
		}
		tt.check("step4")
	}

	for _, p := range tt.indexers {
		require.Equal(t, 0, p.Stop())
	}
	for _, e := range tt.edges {
		require.Equal(t, 0, e.proc.Stop())
	}
}

// startFlows starts sendersPerEdge TCP senders into every edge, and with
// udp one UDP sender more into each.
func (tt *twoTier) startFlows(udp bool) []flow {
	tt.t.Helper()
	tt.phase++
	var flows []flow
	for _, e := range tt.edges {
		for i := range sendersPerEdge {
			flows = append(flows, tt.startFlow(e, "tcp", i))
		}
		if udp {
			flows = append(flows, tt.startFlow(e, "udp", sendersPerEdge))
		}
	}
	return flows
}

func (tt *twoTier) startFlow(e *tierEdge, network string, i int) flow {
	tt.t.Helper()
	scenario := fmt.Sprintf("fo%de%dp%ds%d", tt.phase, e.net, e.proc.cmd.Process.Pid, i)
	from := fmt.Sprintf("127.0.%d.%d", e.net, i+1)
	return flow{edge: e, network: network, s: stream(tt.t, network, from, e.proc.Listen["syslog_"+network], scenario, failoverTick, failoverPerTick)}
}

// stopFlows stops the flows of live edges and records what they sent.
func (tt *twoTier) stopFlows(flows []flow) {
	tt.t.Helper()
	for _, f := range flows {
		sent := f.s.finish(tt.t)
		tt.record(f, sent)
	}
}

func (tt *twoTier) record(f flow, sent []string) {
	tt.sent = append(tt.sent, sent...)
	f.edge.accepted += len(sent)
	if f.network == "udp" {
		f.edge.udpSent += len(sent)
		for _, m := range sent {
			tt.udp[m] = true
		}
	}
}

// killEdge settles the deployment, starts the senders of a step, kills e
// with SIGKILL while they stream, and records what they sent to it and what
// its ledger said, just before, it had buffered of them. It returns the
// other edges' flows, still streaming.
func (tt *twoTier) killEdge(e *tierEdge) []flow {
	tt.t.Helper()
	tt.settle()
	base := e.proc.Ledger() // everything sent before is delivered
	flows := tt.startFlows(false)
	tt.waitDelivered(e, base.Delivered+killAfter)
	last := e.proc.Ledger()
	e.proc.Kill()
	kill := edgeKill{edge: e.name, ledger: Sender{
		Received: last.Received - base.Received, Delivered: last.Delivered - base.Delivered, InFlight: last.InFlight,
		Dropped: last.Dropped,
	}}
	var others []flow
	for _, f := range flows {
		if f.edge != e {
			others = append(others, f)
			continue
		}
		sent, _ := f.s.halt() // a write after the kill fails
		tt.sent = append(tt.sent, sent...)
		kill.window = append(kill.window, sent...)
	}
	tt.t.Logf("killed %s: its senders sent %d; its ledger just before: received %d, delivered (buffered) %d, in flight %d",
		e.name, len(kill.window), kill.ledger.Received, kill.ledger.Delivered, kill.ledger.InFlight)
	tt.kills = append(tt.kills, kill)
	return others
}

// waitDelivered waits until e's ledger has delivered n events.
func (tt *twoTier) waitDelivered(e *tierEdge, n uint64) {
	tt.t.Helper()
	poll.UntilOK(tt.t, patience, func() string {
		if got := e.proc.Ledger().Delivered; got < n {
			return fmt.Sprintf("%s delivered %d of %d", e.name, got, n)
		}
		return ""
	})
}

// waitSent waits until p's sink has sent more than it had.
func (tt *twoTier) waitSent(p *Proc, sink string) {
	tt.t.Helper()
	sent := map[string]string{"sink": sink, "outcome": "sent"}
	before := p.Metric("siemfwd_sink_events_total", sent)
	poll.UntilOK(tt.t, patience, func() string {
		if got := p.Metric("siemfwd_sink_events_total", sent); got <= before {
			return fmt.Sprintf("sink %s sent %v, no more than %v", sink, got, before)
		}
		return ""
	})
}

// groupLog is what an indexer logged about its group membership, with times.
func groupLog(p *Proc) string {
	var out []string
	for _, rec := range p.Logs() {
		msg, _ := rec["msg"].(string)
		if strings.HasPrefix(msg, "partitions ") || strings.Contains(msg, "group") {
			out = append(out, fmt.Sprintf("%v %s %v/%v", rec["time"], msg, rec["partitions"], rec["err"]))
		}
	}
	return strings.Join(out, "; ")
}

// busyIndexer waits until an indexer indexes more than it had, and returns
// its position. Which indexer holds the senders' partitions is up to the
// group's assignment, so the one to fail is chosen among those that work.
func (tt *twoTier) busyIndexer() int {
	tt.t.Helper()
	sent := map[string]string{"sink": "elasticsearch", "outcome": "sent"}
	before := make([]float64, len(tt.indexers))
	for i, p := range tt.indexers {
		before[i] = p.Metric("siemfwd_sink_events_total", sent)
	}
	busy := -1
	poll.UntilOK(tt.t, patience, func() string {
		for i, p := range tt.indexers {
			if p.Metric("siemfwd_sink_events_total", sent) > before[i] {
				busy = i
				return ""
			}
		}
		return "no indexer indexes"
	})
	return busy
}

// drops describes what e's process counted as dropped: its ledger's drops
// by reason and the kernel's drops on its UDP socket.
func (tt *twoTier) drops(e *tierEdge) string {
	tt.t.Helper()
	return fmt.Sprintf("ledger %v, kernel %v", e.proc.Ledger().Dropped,
		e.proc.Metric("siemfwd_source_kernel_dropped_events_total", nil))
}

// waitHoldsAll waits until p holds every partition, and returns how long
// after start that was and the largest sum of lag gauges p showed meanwhile.
func (tt *twoTier) waitHoldsAll(p *Proc, partitions int, start time.Time) (time.Duration, float64) {
	tt.t.Helper()
	var maxLag float64
	poll.UntilOK(tt.t, patience, func() string {
		maxLag = max(maxLag, p.Metric("siemfwd_kafka_consumer_lag_messages", nil))
		if got := p.Metric("siemfwd_kafka_partitions_assigned", nil); got != float64(partitions) {
			return fmt.Sprintf("the survivor holds %v of %d partitions", got, partitions)
		}
		return ""
	})
	return time.Since(start), maxLag
}

// waitShared waits until every indexer holds some of the partitions and
// together they hold them all.
func (tt *twoTier) waitShared(partitions int) {
	tt.t.Helper()
	poll.UntilOK(tt.t, patience, func() string {
		total := 0.0
		var held []float64
		for _, p := range tt.indexers {
			got := p.Metric("siemfwd_kafka_partitions_assigned", nil)
			held = append(held, got)
			total += got
		}
		if slices.Contains(held, 0) || total != float64(partitions) {
			return fmt.Sprintf("the indexers hold %v of %d partitions", held, partitions)
		}
		return ""
	})
}

// partitions lists the topic's partitions.
func (tt *twoTier) partitions() []int {
	tt.t.Helper()
	conn, err := kafkago.Dial("tcp", testservice.Kafka(tt.t)[0])
	require.NoError(tt.t, err)
	defer conn.Close()
	parts, err := conn.ReadPartitions(tt.topic)
	require.NoError(tt.t, err)
	var ids []int
	for _, p := range parts {
		ids = append(ids, p.ID)
	}
	sort.Ints(ids)
	return ids
}

// caughtUp says why the group has not committed every record of the topic
// ("" when it has): an indexer commits only what Elasticsearch acknowledged.
func (tt *twoTier) caughtUp(ids []int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(testservice.Kafka(tt.t)...)}
	var reqs []kafkago.OffsetRequest
	for _, id := range ids {
		reqs = append(reqs, kafkago.LastOffsetOf(id))
	}
	ends, err := client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{tt.topic: reqs}})
	if err != nil {
		return fmt.Sprintf("list offsets: %v", err)
	}
	committed, err := client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: tt.group, Topics: map[string][]int{tt.topic: ids}})
	if err == nil {
		err = committed.Error
	}
	if err != nil {
		return fmt.Sprintf("fetch committed offsets: %v", err)
	}
	at := map[int]int64{}
	for _, p := range committed.Topics[tt.topic] {
		at[p.Partition] = p.CommittedOffset
	}
	for _, p := range ends.Topics[tt.topic] {
		if p.Error != nil {
			return fmt.Sprintf("partition %d: %v", p.Partition, p.Error)
		}
		if p.LastOffset > 0 && at[p.Partition] != p.LastOffset {
			return fmt.Sprintf("partition %d: committed %d of %d", p.Partition, at[p.Partition], p.LastOffset)
		}
	}
	return ""
}

// settle waits until every edge has passed on what it accepted (ledger
// settled, disk buffer empty) and the group has committed every record.
func (tt *twoTier) settle() {
	tt.t.Helper()
	for _, e := range tt.edges {
		poll.UntilOK(tt.t, patience, func() string {
			l := e.proc.Ledger()
			kernel := e.proc.Metric("siemfwd_source_kernel_dropped_events_total", nil)
			buffered := e.proc.Metric("siemfwd_disk_buffer_events", nil)
			if int(l.Received)+int(kernel) < e.accepted || l.InFlight > 0 || buffered > 0 {
				return fmt.Sprintf("%s: accepted %d, received %d (kernel drops %v), in flight %d, disk buffer %v",
					e.name, e.accepted, l.Received, kernel, l.InFlight, buffered)
			}
			return ""
		})
	}
	ids := tt.partitions()
	poll.UntilOK(tt.t, patience, func() string { return tt.caughtUp(ids) })
}

// check settles the deployment and checks every marker sent so far.
func (tt *twoTier) check(step string) {
	t := tt.t
	t.Helper()
	tt.settle()
	// What the edges counted as dropped: their ledgers' drops plus the
	// kernel's drops on their UDP sockets; a killed edge's drops as its
	// ledger said just before.
	counted := 0
	for _, e := range tt.edges {
		for _, n := range e.proc.Ledger().Dropped {
			counted += int(n)
		}
		counted += int(e.proc.Metric("siemfwd_source_kernel_dropped_events_total", nil))
	}
	for _, k := range tt.kills {
		for _, n := range k.ledger.Dropped {
			counted += int(n)
		}
	}
	es := ESStored(t, tt.names.DataStreams())
	kafka := KafkaStored(t, tt.topic)

	// Every missing marker is one the doc says may be lost, counted.
	var missing, missingUDP []string
	for _, m := range tt.sent {
		if len(es[m]) == 0 {
			missing = append(missing, m)
			if tt.udp[m] {
				missingUDP = append(missingUDP, m)
			}
		}
	}
	lostAtKills := 0
	for i, k := range tt.kills {
		lost := 0
		for _, m := range k.window {
			if len(es[m]) == 0 {
				lost++
			}
		}
		notBuffered := len(k.window) - int(k.ledger.Delivered)
		if i >= tt.reported {
			t.Logf("FIGURE %s kill -9 %s: sent %d, buffered per its ledger %d, lost %d (at most %d: sent but not yet buffered; "+
				"received but not buffered %d, sent but not read %d)", step, k.edge, len(k.window), k.ledger.Delivered, lost,
				notBuffered, k.ledger.Received-k.ledger.Delivered, len(k.window)-int(k.ledger.Received))
		}
		assert.LessOrEqual(t, lost, notBuffered, "%s lost events it had buffered", k.edge)
		lostAtKills += lost
	}
	assert.Len(t, missingUDP, counted, "every missing UDP event is counted as dropped by its edge")
	assert.Len(t, missing, lostAtKills+len(missingUDP), "a missing TCP event was sent to an edge that was killed")

	esCount := ExactlyOnce(t, "elasticsearch "+step, tt.sent, es, len(missing))
	kafkaCount := AtLeastOnce(t, "kafka "+step, tt.sent, kafka, len(missing))
	for _, m := range missing {
		assert.Empty(t, kafka[m], "%s is in Kafka but not in Elasticsearch: the indexers lost it", m)
	}
	for _, m := range tt.sent {
		if len(es[m]) == 1 && len(kafka[m]) > 0 {
			assert.Equal(t, kafka[m][0].EventID, es[m][0].EventID, "%s: the document's event.id is the record's", m)
		}
	}
	t.Logf("FIGURE %s: sent %d in this step; %d in all (%d over UDP), in Elasticsearch %d, duplicates in Elasticsearch %d, "+
		"extra copies in Kafka %d (%d in this step, same event.id), missing %d (%d at edge kills, %d UDP counted as dropped)",
		step, len(tt.sent)-tt.prevSent, len(tt.sent), len(tt.udp), esCount.Stored, esCount.Duplicated, kafkaCount.Duplicated,
		kafkaCount.Duplicated-tt.prevKafka, len(missing), lostAtKills, len(missingUDP))
	tt.prevKafka = kafkaCount.Duplicated
	tt.reported = len(tt.kills)
	tt.prevSent = len(tt.sent)
}
