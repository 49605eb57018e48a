// Package kafka is the sink that produces events to Apache Kafka with
// segmentio/kafka-go, and a dead-letter destination that stores refused
// events in a Kafka topic. Callers alias it kafkasink.
//
// Every Write is synchronous and waits for acks=all, so a nil return means
// the in-sync replicas have every record. One record per event: the value is
// the event's ECS JSON (shared, not copied), the key and the topic come from
// templates, and two headers, event.dataset and siemfwd.source, let
// consumers route without parsing the value. In edge mode the value is the
// raw message with the header kafkaedge.HeaderEdge. In both modes the
// event.id header carries the event's id (pipeline.IDHeader): a consumer
// that has seen it drops a replayed record, and a siemfwd that reads the
// topic keeps it.
//
// # Templates
//
// The topic and key are text with placeholders in braces. A placeholder
// names one field or several separated by '|', and renders the first that is
// not empty: "kerio-{event.dataset}", "{source.ip|log.syslog.hostname}".
// The fields are event.dataset, event.kind, event.module,
// log.syslog.hostname, source.ip, data_stream.namespace and siemfwd.source
// (the configured source name). A topic that renders empty or to a name
// Kafka refuses goes to default_topic.
//
// # Errors
//
// Write sorts failures the way the pipeline's sink loop needs them:
//
//   - Transient, retried by the loop with backoff, events kept: broker
//     unreachable, connection reset, leader not available or moved, not
//     enough replicas, request timed out, a cancelled attempt, and any error
//     not listed below. The sink does not retry on its own, so the loop's
//     backoff and the shutdown deadline decide.
//   - Permanent, per record, dead-lettered: a record over max_message_bytes
//     (checked before sending), MESSAGE_TOO_LARGE from the broker for a
//     record sent alone, a missing topic when allow_auto_topic_creation is
//     off (checked against fresh metadata first), topic or cluster
//     authorization failed, an invalid topic, an invalid record or
//     timestamp, a policy violation, a compression the topic refuses.
//
// A failed Write returns a plain error when every event may be retried and
// pipeline.ItemErrors otherwise, so records that were acked are not sent
// again.
//
// # Producing
//
// Write produces with kafka-go's Client.RawProduce, one request per
// partition (split at batch_max_events and batch_max_bytes), all partitions
// at once and each partition's requests in order; the record batches are
// encoded by kafka/kafkabatch. It does not use kafka-go's Writer: the
// pipeline hands over whole batches and waits for them, and the Writer's
// own batching looked up the topic's metadata once per message, allocated
// batch_max_events message slots per batch and held every partition's last
// batch for batch_timeout, which cost about a third of the sink's CPU time
// and added a wait to every Write.
package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"sync"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	metadataapi "github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/sasl"

	"siemfwd/kafka/kafkabatch"
	"siemfwd/kafka/kafkaconn"
	"siemfwd/kafka/kafkaedge"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// Header keys every record of ecs mode carries (edge mode sends
// kafkaedge.HeaderEdge instead); both modes add pipeline.IDHeader.
const (
	HeaderDataset = "event.dataset"
	HeaderSource  = "siemfwd.source"
)

// recordOverhead over-estimates the bytes a record adds to its key, value
// and header strings (lengths, attributes, timestamp), so that the local
// size check is never more lenient than kafka-go's.
const recordOverhead = 64

// internLimit bounds the topic and header value caches; past it values are
// allocated per record instead (a template over source.ip is unbounded).
const internLimit = 4096

// maxPartitionWriters bounds the partitions written concurrently in one Write.
const maxPartitionWriters = 16

// errNoDocument refuses an event without JSON: an empty value would be a
// tombstone, which deletes the key in a compacted topic.
var errNoDocument = errors.New("event has no JSON document")

// Sink produces events to Kafka. Write and Close must not be called
// concurrently (the pipeline's sink loop calls them from one goroutine).
type Sink struct {
	cfg        Config
	log        *slog.Logger
	topic      template
	constTopic string // the topic when the template has no placeholder
	isConst    bool
	key        template
	keyBy      string // Config.keyBy()
	codec      kafkago.Compression
	tls        *tls.Config
	sasl       sasl.Mechanism

	cl      *client
	stale   bool                 // the next Write starts with a new client (fresh metadata)
	missing map[string]time.Time // topics fresh metadata said do not exist, and when

	topics         map[string]string // rendered topic names, interned
	values         map[string][]byte // header values, interned
	warnedFallback bool

	// Scratch reused between writes. kafka-go never holds it: records are
	// copied into a batch encoder before a request starts.
	msgs   []kafkago.Message
	idx    []int // msgs[i] carries events[idx[i]]
	hdrs   []kafkago.Header
	ids    []byte // the event.id header values of the batch being built
	keys   []byte
	bounds []int
	errs   []error
	edge   kafkaedge.Encoder // edge mode's header values
	part   []int             // partition of msgs[i]
	order  []int             // positions in msgs, grouped by topic and partition

	encoders sync.Pool // *kafkabatch.Encoder, one per partition written at once
}

// client is one kafka-go transport (connections and cached metadata). It is
// replaced as a whole when its metadata may be stale: kafka-go refreshes
// metadata only on a timer, not after NOT_LEADER.
type client struct {
	transport *kafkago.Transport
	kc        *kafkago.Client
	ids       []int // 0, 1, 2, ...: the partition list the balancer takes
	fresh     bool  // no Write has completed with it: its metadata is this Write's
}

// New validates cfg and builds the sink. It does not connect: kafka-go
// dials on the first Write. m is accepted for symmetry with the other sinks;
// the sink loop counts outcomes.
func New(cfg Config, log *slog.Logger, m *metrics.Metrics) (*Sink, error) {
	_ = m
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, log: log, missing: map[string]time.Time{},
		topics: map[string]string{}, values: map[string][]byte{}}
	s.topic, _ = parseTemplate(cfg.Topic)
	s.constTopic, s.isConst = s.topic.constant()
	s.key, _ = parseTemplate(cfg.Key)
	s.keyBy = cfg.keyBy()
	if cfg.KeyBy == "" && cfg.Mode == ModeEdge && cfg.Key != DefaultConfig().Key {
		log.Warn("key is not used: edge mode keys by sender_address unless key_by is template", "key", cfg.Key)
	}
	switch cfg.Compression {
	case "gzip":
		s.codec = kafkago.Gzip
	case "snappy":
		s.codec = kafkago.Snappy
	case "lz4":
		s.codec = kafkago.Lz4
	case "zstd":
		s.codec = kafkago.Zstd
	}
	var err error
	if s.tls, err = cfg.TLS.Build(); err != nil {
		return nil, err
	}
	if cfg.TLS.Enabled && cfg.TLS.InsecureSkipVerify {
		log.Warn("TLS CERTIFICATE VERIFICATION IS OFF (tls.insecure_skip_verify): anyone on the path can read and alter what is sent; use only in tests")
	}
	if s.sasl, err = cfg.SASL.Build(); err != nil {
		return nil, err
	}
	if s.sasl != nil && !cfg.TLS.Enabled {
		log.Warn("sasl without tls: credentials and events cross the network in clear", "mechanism", cfg.SASL.Mechanism)
	}
	s.encoders.New = func() any { return kafkabatch.NewEncoder(s.codec) }
	s.cl = s.newClient()
	return s, nil
}

func (s *Sink) newClient() *client {
	t := &kafkago.Transport{
		DialTimeout: s.cfg.DialTimeout,
		MetadataTTL: s.cfg.MetadataTTL,
		ClientID:    "siemfwd",
		TLS:         s.tls,
		SASL:        s.sasl,
	}
	kc := &kafkago.Client{Addr: kafkago.TCP(s.cfg.Brokers...), Transport: t, Timeout: s.cfg.WriteTimeout}
	return &client{transport: t, kc: kc, fresh: true}
}

// close closes the connections. No request is in flight: send waits for its own.
func (c *client) close() {
	c.transport.CloseIdleConnections()
}

// partitions returns the topic's partition count from the transport's
// cached metadata (fetched when the topic is not in it yet).
func (c *client) partitions(ctx context.Context, topic string, autoCreate bool) (int, error) {
	r, err := c.transport.RoundTrip(ctx, c.kc.Addr, &metadataapi.Request{
		TopicNames: []string{topic}, AllowAutoTopicCreation: autoCreate})
	if err != nil {
		return 0, err
	}
	for _, t := range r.(*metadataapi.Response).Topics {
		if t.Name != topic {
			continue
		}
		switch {
		case t.ErrorCode != 0:
			return 0, kafkago.Error(t.ErrorCode)
		case len(t.Partitions) == 0:
			return 0, kafkago.LeaderNotAvailable // a topic being created
		}
		return len(t.Partitions), nil
	}
	return 0, kafkago.UnknownTopicOrPartition
}

// partitionIDs returns 0..n-1 without allocating per message.
func (c *client) partitionIDs(n int) []int {
	for len(c.ids) < n {
		c.ids = append(c.ids, len(c.ids))
	}
	return c.ids[:n]
}

// Write produces one record per event and returns when every one is acked
// by all in-sync replicas (nil), or with the failures sorted into transient
// and permanent (see the package doc).
func (s *Sink) Write(ctx context.Context, events []*pipeline.Event) error {
	if len(events) == 0 {
		return nil
	}
	if s.stale {
		s.cl.close()
		s.cl = s.newClient()
		s.stale = false
	}
	errs := s.build(events)
	s.send(ctx, s.cfg.BatchMaxEvents, s.msgs, s.idx, errs)
	if ctx.Err() == nil {
		s.resendTooLarge(ctx, errs)
		s.verifyMissing(ctx, errs)
	}
	s.cl.fresh = false
	return s.result(events, errs)
}

// build turns events into messages in s.msgs and returns the per-event
// errors, with the events that cannot be sent already failed.
func (s *Sink) build(events []*pipeline.Event) []error {
	n := len(events)
	s.errs = resize(s.errs, n)
	clear(s.errs)
	errs := s.errs
	s.msgs, s.idx = s.msgs[:0], s.idx[:0]
	if cap(s.hdrs) < 3*n {
		s.hdrs = make([]kafkago.Header, 0, 3*n)
	}
	s.hdrs = s.hdrs[:0]
	// The event.id header values, in one arena sized up front so that the
	// slices taken from it stay valid.
	idBytes := 0
	for _, ev := range events {
		idBytes += len(ev.ID)
	}
	if cap(s.ids) < idBytes {
		s.ids = make([]byte, 0, idBytes)
	}
	s.ids = s.ids[:0]
	s.keys = s.keys[:0]
	s.bounds = resize(s.bounds, n+1)
	// Keys first, into one arena; slices are taken once it stops growing.
	for i, ev := range events {
		s.bounds[i] = len(s.keys)
		s.keys = s.appendKey(s.keys, ev)
	}
	s.bounds[n] = len(s.keys)
	s.edge.Reset()
	edge := s.cfg.Mode == ModeEdge
	now := time.Now()
	for i, ev := range events {
		var key []byte
		if a, b := s.bounds[i], s.bounds[i+1]; b > a {
			key = s.keys[a:b:b]
		}
		value := ev.JSON
		if edge {
			value = ev.Raw
		}
		if len(value) == 0 {
			errs[i] = errNoDocument
			continue
		}
		h := len(s.hdrs)
		if edge {
			// One header: the indexer reads the source name and the rest of
			// the receive metadata from it, and parses the dataset itself.
			s.hdrs = s.edge.Append(s.hdrs, ev)
		} else {
			src := ""
			if ev.Origin != nil {
				src = ev.Origin.Source
			}
			s.hdrs = append(s.hdrs, kafkago.Header{Key: HeaderDataset, Value: s.intern(ev.Routes.Dataset)},
				kafkago.Header{Key: HeaderSource, Value: s.intern(src)})
		}
		if ev.ID != "" {
			a := len(s.ids)
			s.ids = append(s.ids, ev.ID...)
			s.hdrs = append(s.hdrs, kafkago.Header{Key: pipeline.IDHeader, Value: s.ids[a:len(s.ids):len(s.ids)]})
		}
		size := recordSize(key, value, s.hdrs[h:])
		if size > s.cfg.MaxMessageBytes {
			s.hdrs = s.hdrs[:h]
			errs[i] = &tooLargeError{size: size, max: s.cfg.MaxMessageBytes}
			continue
		}
		t := ev.Received
		if t.IsZero() {
			t = now
		}
		end := len(s.hdrs)
		s.msgs = append(s.msgs, kafkago.Message{Topic: s.topicFor(ev), Key: key, Value: value,
			Headers: s.hdrs[h:end:end], Time: t})
		s.idx = append(s.idx, i)
	}
	return errs
}

// appendKey appends ev's record key (key_by) to dst; nothing means no key.
func (s *Sink) appendKey(dst []byte, ev *pipeline.Event) []byte {
	switch s.keyBy {
	case KeyBySenderAddress:
		if ev.Peer.IsValid() {
			return ev.Peer.Addr().Unmap().AppendTo(dst)
		}
		return append(dst, ev.Routes.Hostname...)
	case KeyByHostname:
		if ev.Routes.Hostname == "" && ev.Peer.IsValid() {
			return ev.Peer.Addr().Unmap().AppendTo(dst)
		}
		return append(dst, ev.Routes.Hostname...)
	}
	return s.key.render(dst, ev)
}

// recordSize over-estimates a record's bytes in a produce request.
func recordSize(key, value []byte, hdrs []kafkago.Header) int {
	size := len(key) + len(value) + recordOverhead
	for _, hd := range hdrs {
		size += len(hd.Key) + len(hd.Value)
	}
	return size
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

var empty = []byte{}

// intern returns v as bytes, shared between records with the same value.
func (s *Sink) intern(v string) []byte {
	if v == "" {
		return empty
	}
	if b, ok := s.values[v]; ok {
		return b
	}
	b := []byte(v)
	if len(s.values) < internLimit {
		s.values[v] = b
	}
	return b
}

// topicFor renders the topic template, falling back to default_topic.
func (s *Sink) topicFor(ev *pipeline.Event) string {
	if s.isConst {
		return s.constTopic
	}
	var buf [128]byte
	b := s.topic.render(buf[:0], ev)
	if t, ok := s.topics[string(b)]; ok {
		return t
	}
	if !kafkaconn.LegalTopic(string(b)) {
		if !s.warnedFallback {
			s.warnedFallback = true
			s.log.Warn("topic template rendered an illegal topic name; using default_topic (logged once)",
				"rendered", string(b), "default_topic", s.cfg.DefaultTopic)
		}
		return s.cfg.DefaultTopic
	}
	t := string(b)
	if len(s.topics) < internLimit {
		s.topics[t] = t
	}
	return t
}

// send produces msgs and records each message's error at errs[idx[i]]. It
// groups them by topic and partition (murmur2 over the key, as the Java
// client; random without a key), then writes every partition concurrently,
// each in requests of at most maxRecords records and batch_max_bytes bytes,
// in order. A topic whose metadata fails fails only its own records.
func (s *Sink) send(ctx context.Context, maxRecords int, msgs []kafkago.Message, idx []int, errs []error) {
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	if !sort.IsSorted(byTopic{msgs, idx}) {
		sort.Stable(byTopic{msgs, idx})
	}
	n := len(msgs)
	s.part = resize(s.part, n)
	s.order = resize(s.order, n)
	type run struct {
		topic     string
		partition int
		from, to  int // s.order[from:to]
	}
	var runs []run
	var balancer kafkago.Murmur2Balancer
	for from := 0; from < n; {
		topic := msgs[from].Topic
		to := from + 1
		for to < n && msgs[to].Topic == topic {
			to++
		}
		np, err := s.cl.partitions(ctx, topic, s.cfg.AllowAutoTopicCreation)
		if err != nil {
			for k := from; k < to; k++ {
				errs[idx[k]] = err
			}
			from = to
			continue
		}
		// Counting sort of msgs[from:to] by partition into s.order[from:to].
		ids := s.cl.partitionIDs(np)
		counts := make([]int, np+1)
		for k := from; k < to; k++ {
			p := balancer.Balance(msgs[k], ids...)
			s.part[k] = p
			counts[p+1]++
		}
		for p := 1; p <= np; p++ {
			counts[p] += counts[p-1]
		}
		for p := 0; p < np; p++ {
			if counts[p+1] > counts[p] {
				runs = append(runs, run{topic: topic, partition: p, from: from + counts[p], to: from + counts[p+1]})
			}
		}
		for k := from; k < to; k++ {
			p := s.part[k]
			s.order[from+counts[p]] = k
			counts[p]++
		}
		from = to
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxPartitionWriters)
	for _, r := range runs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.produceRun(ctx, maxRecords, r.topic, r.partition, msgs, idx, s.order[r.from:r.to], errs)
		})
	}
	wg.Wait()
}

// produceRun writes the records msgs[order[...]] of one partition in
// requests of at most maxRecords records and batch_max_bytes bytes, one
// after the other. Each goroutine writes only its own records' errs.
func (s *Sink) produceRun(ctx context.Context, maxRecords int, topic string, partition int,
	msgs []kafkago.Message, idx, order []int, errs []error) {
	enc := s.encoders.Get().(*kafkabatch.Encoder)
	for len(order) > 0 {
		end, total := 0, int64(0)
		for end < len(order) && end < maxRecords {
			m := &msgs[order[end]]
			size := int64(recordSize(m.Key, m.Value, m.Headers))
			if end > 0 && total+size > s.cfg.BatchMaxBytes {
				break
			}
			total += size
			end++
		}
		batch, err := enc.Encode(msgs, order[:end])
		if err == nil {
			var res *kafkago.ProduceResponse
			res, err = s.cl.kc.RawProduce(ctx, &kafkago.RawProduceRequest{
				Topic: topic, Partition: partition, RequiredAcks: kafkago.RequireAll,
				RawRecords: protocol.RawRecordSet{Reader: batch},
			})
			if err == nil && res.Error != nil {
				err = res.Error
			}
		}
		if err != nil && ctx.Err() != nil {
			// kafka-go may still be reading the batch: the encoder is not
			// reused, and the rest of the partition is not tried.
			for _, k := range order {
				errs[idx[k]] = err
			}
			return
		}
		for _, k := range order[:end] {
			errs[idx[k]] = err
		}
		order = order[end:]
	}
	s.encoders.Put(enc)
}

type byTopic struct {
	msgs []kafkago.Message
	idx  []int
}

func (b byTopic) Len() int           { return len(b.msgs) }
func (b byTopic) Less(i, j int) bool { return b.msgs[i].Topic < b.msgs[j].Topic }
func (b byTopic) Swap(i, j int) {
	b.msgs[i], b.msgs[j] = b.msgs[j], b.msgs[i]
	b.idx[i], b.idx[j] = b.idx[j], b.idx[i]
}

// resendTooLarge sends again, each alone, the records the broker refused as
// too large. The broker's limit applies to a whole compressed batch, so a
// batch can be refused although each of its records fits; only a record
// refused on its own is dead-lettered.
func (s *Sink) resendTooLarge(ctx context.Context, errs []error) {
	var msgs []kafkago.Message
	var idx []int
	for k, i := range s.idx {
		if isTooLarge(errs[i]) {
			msgs = append(msgs, s.msgs[k])
			idx = append(idx, i)
			errs[i] = nil
		}
	}
	if len(msgs) == 0 {
		return
	}
	s.log.Debug("broker refused a batch as too large; sending its records one by one", "records", len(msgs))
	s.send(ctx, 1, msgs, idx, errs)
}

// verifyMissing handles records refused because their topic does not exist,
// when topics are not created automatically. kafka-go answers that from
// cached metadata, which may predate the topic's creation, so unless the
// metadata is this Write's own, or the topic was found missing recently,
// the client is replaced and the records are sent once more. What is still
// missing then is missing indeed.
func (s *Sink) verifyMissing(ctx context.Context, errs []error) {
	if s.cfg.CreateTopics {
		s.createMissing(ctx, errs)
		return
	}
	if s.cfg.AllowAutoTopicCreation {
		return
	}
	var msgs []kafkago.Message
	var idx []int
	now := time.Now()
	for k, i := range s.idx {
		if !errors.Is(errs[i], kafkago.UnknownTopicOrPartition) {
			continue
		}
		topic := s.msgs[k].Topic
		if s.cl.fresh {
			s.missing[topic] = now
		}
		if at, ok := s.missing[topic]; ok && now.Sub(at) < s.cfg.MetadataTTL {
			errs[i] = &missingTopicError{topic: topic}
			continue
		}
		msgs = append(msgs, s.msgs[k])
		idx = append(idx, i)
		errs[i] = nil
	}
	if len(msgs) == 0 {
		return
	}
	s.cl.close()
	s.cl = s.newClient()
	s.send(ctx, s.cfg.BatchMaxEvents, msgs, idx, errs)
	for k, i := range idx {
		if errors.Is(errs[i], kafkago.UnknownTopicOrPartition) {
			s.missing[msgs[k].Topic] = now
			errs[i] = &missingTopicError{topic: msgs[k].Topic}
		}
	}
	for t, at := range s.missing {
		if now.Sub(at) >= s.cfg.MetadataTTL {
			delete(s.missing, t)
		}
	}
}

// result turns per-event errors into Write's answer and notes whether the
// next Write needs fresh metadata.
func (s *Sink) result(events []*pipeline.Event, errs []error) error {
	failed, transient := 0, 0
	var first error
	for _, e := range errs {
		if e == nil {
			continue
		}
		failed++
		if first == nil {
			first = e
		}
		if !permanent(e) {
			transient++
			if staleLayout(e) {
				s.stale = true
			}
		}
	}
	switch {
	case failed == 0:
		return nil
	case transient == len(events):
		return fmt.Errorf("kafka: %d records not acked: %w", len(events), first)
	}
	items := make(pipeline.ItemErrors, 0, failed)
	for i, e := range errs {
		if e == nil {
			continue
		}
		if permanent(e) {
			e = pipeline.Permanent(fmt.Errorf("kafka: %w", e))
		} else {
			e = fmt.Errorf("kafka: %w", e)
		}
		items = append(items, pipeline.ItemError{Index: i, Err: e})
	}
	return items
}

// Close waits for kafka-go's goroutines and closes the connections, or
// gives up when ctx ends (kafka-go bounds what is left by write_timeout).
func (s *Sink) Close(ctx context.Context) error {
	done := make(chan struct{})
	cl := s.cl
	go func() {
		cl.close()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kafka: close: %w", ctx.Err())
	}
}

// tooLargeError refuses a record before it is sent.
type tooLargeError struct{ size, max int }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("record of about %d bytes is over max_message_bytes (%d)", e.size, e.max)
}

// missingTopicError refuses a record for a topic that fresh metadata does
// not list, or that the brokers refused to create (cause).
type missingTopicError struct {
	topic string
	cause error
}

func (e *missingTopicError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("topic %q does not exist and cannot be created: %v", e.topic, e.cause)
	}
	return fmt.Sprintf("topic %q does not exist (create it, or set create_topics: true)", e.topic)
}

func (e *missingTopicError) Unwrap() error { return kafkago.UnknownTopicOrPartition }

func isTooLarge(err error) bool {
	return err != nil && errors.Is(err, kafkago.MessageSizeTooLarge)
}

// permanent reports whether retrying err cannot succeed. Unknown topics are
// permanent only once verifyMissing has confirmed them (missingTopicError).
func permanent(err error) bool {
	var tl *tooLargeError
	var mt *missingTopicError
	if errors.As(err, &tl) || errors.As(err, &mt) || errors.Is(err, errNoDocument) || isTooLarge(err) {
		return true
	}
	var ke kafkago.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafkago.RecordListTooLarge, kafkago.InvalidTopic,
			kafkago.TopicAuthorizationFailed, kafkago.ClusterAuthorizationFailed,
			kafkago.InvalidRecord, kafkago.InvalidTimestamp, kafkago.UnsupportedForMessageFormat,
			kafkago.PolicyViolation, kafkago.UnsupportedCompressionType:
			return true
		}
	}
	return false
}

// staleLayout reports whether a transient err suggests the cached cluster
// layout is out of date (a leader moved, a broker went away), so the next
// Write should start from fresh metadata.
func staleLayout(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ke kafkago.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafkago.RequestTimedOut, kafkago.NotEnoughReplicas, kafkago.NotEnoughReplicasAfterAppend,
			kafkago.ThrottlingQuotaExceeded:
			return false // the right broker answered; it only needs time
		}
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrClosedPipe)
}

var _ pipeline.Sink = (*Sink)(nil)
