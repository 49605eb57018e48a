// Package kafka is the source that consumes Apache Kafka topics as a
// member of a consumer group, with segmentio/kafka-go. Callers alias it
// kafkasrc. Several siemfwd instances with the same group_id share the
// partitions; when one leaves or dies, the others take its partitions over.
// kafka-go runs the group, the connections, offsets and commits; fetched
// record sets are read as bytes (rawFetch) and decoded by
// kafka/kafkabatch, which costs a fraction of kafka-go's decoder.
//
//	ConsumerGroup ─ Generation (assignment) ─┬─ fetcher (partition 0) ─┐  Fetch → batch of records
//	                                         ├─ fetcher (partition 1) ─┼→ out (blocks: backpressure)
//	                                         └─ …                      ┘  ≤ max_in_flight_batches unacked
//	commit loop: every commit_interval, per partition, the first offset not yet acknowledged
//
// # Delivery
//
// At least once. Nothing is committed on read: each batch (records of one
// partition) is registered in its partition's checkpoint before it is
// sent, and its Ack marks it done: nil or pipeline.ErrDropped (the
// operator's when_full policy chose to drop) count as done, any other error
// (abandoned at shutdown) does not. Every commit_interval the source commits,
// per partition, the end of the longest run of done batches from the start,
// so a batch acked out of order waits for those before it. A record is
// therefore committed only after every record before it in its partition
// was delivered; what was not is read again after a restart or by the
// member that takes the partition over.
//
// When a rebalance ends the generation (kafka-go's groups are eager: every
// partition is revoked), the source stops fetching, waits up to
// rebalance_timeout for the acks of its in-flight batches, commits what is
// contiguous, and only then lets the group move on. At shutdown it does the
// same with drain_timeout, then leaves the group.
//
// # Records
//
// Raw mode: the value is a syslog message or a Kerio log line (format). A
// record carrying edge headers (see kafkaedge.Encoder) gets back the receive
// time, peer, source name, sender profile and parsing hints of the edge
// siemfwd that produced it; its Elasticsearch _id is then the one the edge
// would have computed, so a redelivered record overwrites itself. Other
// records are received at their Kafka timestamp, and their ID is a hash of
// topic, partition, offset and timestamp, equally stable across redelivery.
//
// ECS mode: the value is an ECS JSON document from another siemfwd. The
// source sets JSON to it and reads the routing fields (RoutesFromECS), so
// the worker only passes it through. A value that is not a JSON object is
// counted as a parse failure and handled as a raw record instead, so it
// still becomes a document (tagged) rather than vanishing.
//
// Event.Offset is the record's Kafka offset, except for edge records of a
// file source, where it is the line's offset in its file (log.offset).
package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/fetch"

	"siemfwd/kafka/kafkabatch"
	"siemfwd/kafka/kafkaedge"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// Source is one Kafka consumer group member. Run it once.
type Source struct {
	name    string
	cfg     Config
	log     *slog.Logger
	raw     *pipeline.Origin // records without edge headers, and bad ECS values
	ecs     *pipeline.Origin // ECS documents
	topicRE *regexp.Regexp
	dialer  *kafkago.Dialer // the group coordinator's connections
	client  *kafkago.Client // fetches, offsets and metadata
	sem     chan struct{}   // one slot per in-flight batch
	m       sourceMetrics
	lag     *prometheus.GaugeVec
	now     func() time.Time // for records without a timestamp

	// draining, when set (by tests), is called when a generation has
	// stopped fetching and starts waiting for its acks.
	draining func(reason string)
}

// sourceMetrics are this source's collectors, curried with its name once.
type sourceMetrics struct {
	received       prometheus.Counter
	receivedBytes  prometheus.Counter
	ecsFailures    prometheus.Counter
	edgeFailures   prometheus.Counter
	batchFailures  prometheus.Counter
	rebalances     prometheus.Counter
	commitFailures prometheus.Counter
	offsetResets   prometheus.Counter
	inFlight       prometheus.Gauge
	assigned       prometheus.Gauge
}

// Formats of the parse failure metric this source counts.
const (
	failureECS  = "ecs"          // a value in ecs mode that is not a JSON object
	failureEdge = "edge_headers" // an edge header with a malformed value
	// A fetched record batch that cannot be decoded (bad CRC, impossible
	// layout): it is fetched again, never skipped.
	failureBatch = "record_batch"
)

// clientID names this program to the brokers.
const clientID = "siemfwd"

// formatECS is the pipeline.Format of passed-through ECS documents: the
// worker leaves their JSON and Routes as the source set them.
const formatECS = pipeline.FormatECS

// New checks cfg and prepares a source called name. It does not connect:
// Run does (Start acquires nothing). m is the process's metrics; km the Kafka sources' own (shared by
// every Kafka source, registered once by the caller).
func New(name string, cfg Config, log *slog.Logger, m *metrics.Metrics, km *Metrics) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "source", "source", name)
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err) // Validate loaded it already
	}
	tlsCfg, err := cfg.TLS.Build()
	if err != nil {
		return nil, err
	}
	if cfg.TLS.Enabled && cfg.TLS.InsecureSkipVerify {
		log.Warn("TLS CERTIFICATE VERIFICATION IS OFF (tls.insecure_skip_verify): anyone on the path can read and alter what is received; use only in tests")
	}
	mech, err := cfg.SASL.Build()
	if err != nil {
		return nil, err
	}
	if mech != nil && !cfg.TLS.Enabled {
		log.Warn("sasl without tls: credentials and events cross the network in clear", "mechanism", cfg.SASL.Mechanism)
	}
	format := pipeline.FormatSyslog
	if cfg.Format == FormatLine {
		format = pipeline.FormatLine
	}
	s := &Source{
		name: name,
		cfg:  cfg,
		log:  log,
		raw: &pipeline.Origin{Source: name, Transport: "kafka", Format: format, Location: loc,
			Product: cfg.Product, Log: cfg.Log, Charset: cfg.Charset},
		ecs:    &pipeline.Origin{Source: name, Transport: "kafka", Format: formatECS, Location: loc},
		dialer: &kafkago.Dialer{Timeout: cfg.DialTimeout, DualStack: true, TLS: tlsCfg, SASLMechanism: mech, ClientID: clientID},
		client: &kafkago.Client{
			Addr: kafkago.TCP(cfg.Brokers...),
			// Bounds every request, fetches included (roundTrip), so a broker
			// that stops answering cannot stall a partition: a fetch may wait
			// fetch_max_wait at the broker, hence twice that plus Kafka's
			// usual request timeout.
			Timeout:   2*cfg.FetchMaxWait + 30*time.Second,
			Transport: &kafkago.Transport{DialTimeout: cfg.DialTimeout, TLS: tlsCfg, SASL: mech, ClientID: clientID},
		},
		sem: make(chan struct{}, cfg.MaxInFlightBatches),
		m: sourceMetrics{
			received:       m.SourceReceived.WithLabelValues(name),
			receivedBytes:  m.SourceReceivedBytes.WithLabelValues(name),
			ecsFailures:    m.ParseFailures.WithLabelValues(name, failureECS),
			edgeFailures:   m.ParseFailures.WithLabelValues(name, failureEdge),
			batchFailures:  m.ParseFailures.WithLabelValues(name, failureBatch),
			rebalances:     km.Rebalances.WithLabelValues(name),
			commitFailures: km.CommitFailures.WithLabelValues(name),
			offsetResets:   km.OffsetResets.WithLabelValues(name),
			inFlight:       km.InFlight.WithLabelValues(name),
			assigned:       km.PartitionsAssigned.WithLabelValues(name),
		},
		lag: km.Lag,
		now: time.Now,
	}
	if cfg.TopicRegex != "" {
		s.topicRE = regexp.MustCompile("^(?:" + cfg.TopicRegex + ")$") // Validate compiled it
	}
	return s, nil
}

// Name returns the configured source name.
func (s *Source) Name() string { return s.name }

// Start acquires nothing: Run connects, and retries a broker that does not
// answer (another member or a restarted broker may be there soon), so a
// broker that is down at start is not fatal. The settings it needs (TLS
// files, SASL) were read by New.
func (s *Source) Start(context.Context) error { return nil }

// Close closes the idle connections to the brokers (Run closes them too
// when it returns).
func (s *Source) Close(context.Context) error {
	s.client.Transport.(*kafkago.Transport).CloseIdleConnections()
	return nil
}

// Run consumes until ctx ends, then drains (drain_timeout), commits, leaves
// the group and returns. It returns nil: a broker that cannot be reached or
// refuses is logged and retried, never fatal, because another member or a
// restarted broker may fix it.
func (s *Source) Run(ctx context.Context, out chan<- pipeline.Batch) error {
	defer s.client.Transport.(*kafkago.Transport).CloseIdleConnections()
	s.log.Info("starting", "group", s.cfg.GroupID, "topics", s.cfg.Topics, "topic_regex", s.cfg.TopicRegex)
	var last []string
	warned := false
	for ctx.Err() == nil {
		topics, err := s.resolveTopics(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil && !warned {
				s.log.Warn("cannot list topics; retrying", "err", err)
				warned = true
			}
		case len(topics) == 0:
			if !warned {
				s.log.Warn("none of the topics exists yet; checking again", "topics", s.cfg.Topics,
					"topic_regex", s.cfg.TopicRegex, "every", s.cfg.TopicRefreshInterval)
				warned = true
			}
		default:
			warned = false
			if !slices.Equal(topics, last) {
				s.log.Info("consuming", "topics", topics)
				last = topics
			}
			s.runGroup(ctx, topics, out)
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.cfg.TopicRefreshInterval):
		}
	}
	s.log.Info("stopped")
	return nil
}

// resolveTopics returns the configured topics that exist now, or those
// topic_regex matches now. A group that joins before its topic exists gets
// no partitions and would keep none, so a topic the edges create later is
// picked up by the watch and a rejoin.
func (s *Source) resolveTopics(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout+5*time.Second)
	defer cancel()
	md, err := s.client.Metadata(ctx, &kafkago.MetadataRequest{})
	if err != nil {
		return nil, err
	}
	var topics []string
	for _, t := range md.Topics {
		if t.Internal || t.Error != nil || len(t.Partitions) == 0 {
			continue
		}
		if s.topicRE != nil && s.topicRE.MatchString(t.Name) || s.topicRE == nil && slices.Contains(s.cfg.Topics, t.Name) {
			topics = append(topics, t.Name)
		}
	}
	slices.Sort(topics)
	return topics, nil
}

// runGroup is one membership with a fixed topic list: generation after
// generation until ctx ends or, with topic_regex, the matching topics change.
func (s *Source) runGroup(ctx context.Context, topics []string, out chan<- pipeline.Batch) {
	groupCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := kafkago.FirstOffset
	if s.cfg.StartOffset == StartLatest {
		start = kafkago.LastOffset
	}
	debug := kafkago.LoggerFunc(func(msg string, args ...any) {
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("kafka-go: " + fmt.Sprintf(msg, args...))
		}
	})
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                     s.cfg.GroupID,
		Brokers:                s.cfg.Brokers,
		Dialer:                 s.dialer,
		Topics:                 topics,
		HeartbeatInterval:      s.cfg.HeartbeatInterval,
		SessionTimeout:         s.cfg.SessionTimeout,
		RebalanceTimeout:       s.joinTimeout(),
		WatchPartitionChanges:  true,
		PartitionWatchInterval: s.cfg.TopicRefreshInterval,
		JoinGroupBackoff:       2 * time.Second,
		StartOffset:            start,
		Logger:                 debug,
		ErrorLogger:            debug,
	})
	if err != nil { // only a bad config, which Validate excludes
		s.log.Error("cannot create the consumer group", "err", err)
		<-ctx.Done()
		return
	}
	var watcher sync.WaitGroup
	watcher.Go(func() { s.watchTopics(groupCtx, topics, cancel) })
	watcher.Go(func() { s.watchLag(groupCtx, topics) })

	// Closing the group first makes kafka-go end the current generation
	// and wait for consume, which commits over the generation's connection,
	// before it leaves; a generation ending on its own would rejoin instead.
	closed := make(chan struct{})
	closeGroup := sync.OnceFunc(func() {
		go func() {
			_ = cg.Close() // always nil
			close(closed)
		}()
	})
	stop := context.AfterFunc(groupCtx, closeGroup)
	defer stop()

	failures := 0
	for {
		gen, err := cg.Next(groupCtx)
		if err != nil {
			if groupCtx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed) {
				break
			}
			failures++
			// RebalanceInProgress is the normal answer while others rejoin.
			if errors.Is(err, kafkago.RebalanceInProgress) || failures > 1 && failures%10 != 0 {
				s.log.Debug("joining the group failed; retrying", "err", err, "failures", failures)
			} else {
				s.log.Warn("joining the group failed; retrying", "err", err, "failures", failures)
			}
			continue
		}
		failures = 0
		s.m.rebalances.Inc()
		done := make(chan struct{})
		gen.Start(func(genCtx context.Context) {
			defer close(done)
			s.consume(ctx, groupCtx, genCtx, gen, out)
		})
		<-done
	}
	cancel()
	watcher.Wait()
	closeGroup()
	t := time.NewTimer(s.cfg.DrainTimeout + s.joinTimeout())
	defer t.Stop()
	select {
	case <-closed:
	case <-t.C:
		s.log.Warn("leaving the group takes too long; going on without waiting")
	}
}

// joinTimeout is the rebalance timeout announced to the coordinator: how
// long it waits for this member to rejoin. It covers noticing the rebalance
// (a heartbeat), draining (rebalance_timeout) and committing.
func (s *Source) joinTimeout() time.Duration {
	return s.cfg.RebalanceTimeout + s.cfg.HeartbeatInterval + 5*time.Second
}

// watchTopics ends the membership when the topics to consume change: a
// configured topic was created, or topic_regex matches others.
func (s *Source) watchTopics(ctx context.Context, current []string, changed context.CancelFunc) {
	t := time.NewTicker(s.cfg.TopicRefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		topics, err := s.resolveTopics(ctx)
		if err != nil || slices.Equal(topics, current) {
			continue
		}
		s.log.Info("matching topics changed; rejoining", "topics", topics)
		changed()
		return
	}
}

// partition is one assigned partition within one generation.
type partition struct {
	topic     string
	id        int
	tr        *tracker
	committed int64 // last committed position; -1 when none is known
	start     int64 // where fetching starts
	ids       pipeline.IDScope
}

// genState is what a generation's fetchers and acks share.
type genState struct {
	inflight atomic.Int64
	idle     chan struct{} // signalled when inflight drops to 0
}

// consume serves one generation: it fetches every assigned partition and
// commits acknowledged offsets until the generation ends (genCtx) or the
// membership does (groupCtx); then it drains and commits a last time.
func (s *Source) consume(ctx, groupCtx, genCtx context.Context, gen *kafkago.Generation, out chan<- pipeline.Batch) {
	stop, cancel := context.WithCancel(groupCtx)
	defer cancel()
	go func() {
		select {
		case <-genCtx.Done():
			cancel()
		case <-stop.Done():
		}
	}()

	var parts []*partition
	for topic, as := range gen.Assignments {
		for _, a := range as {
			p := &partition{topic: topic, id: a.ID, committed: -1, start: a.Offset,
				ids: pipeline.KafkaScope(s.name, topic, int32(a.ID))}
			if a.Offset >= 0 {
				p.committed = a.Offset
			}
			parts = append(parts, p)
		}
	}
	slices.SortFunc(parts, func(a, b *partition) int {
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		return a.id - b.id
	})
	s.log.Info("partitions assigned", "generation", gen.ID, "partitions", len(parts))
	s.m.assigned.Set(float64(len(parts)))
	defer s.m.assigned.Set(0)
	if s.log.Enabled(ctx, slog.LevelDebug) {
		for _, p := range parts {
			s.log.Debug("partition assigned", "generation", gen.ID, "topic", p.topic, "partition", p.id, "offset", p.start)
		}
	}
	if !s.resolveStarts(stop, parts) {
		return // ended before it began: nothing fetched, nothing to commit
	}
	gs := &genState{idle: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	for _, p := range parts {
		p.tr = newTracker(p.start)
		wg.Go(func() { s.fetch(stop, p, out, gs) })
	}

	tick := time.NewTicker(s.cfg.CommitInterval)
	defer tick.Stop()
	commitWarned := false
loop:
	for {
		select {
		case <-stop.Done():
			break loop
		case <-tick.C:
			if err := s.commit(gen, parts); err != nil {
				if !commitWarned {
					s.log.Warn("commit failed; retrying at the next interval", "err", err)
					commitWarned = true
				}
			} else {
				commitWarned = false
			}
		}
	}

	// Stop fetching, wait for the acks, commit, release.
	wg.Wait()
	timeout := s.cfg.RebalanceTimeout
	reason := "rebalance"
	if ctx.Err() != nil {
		timeout, reason = s.cfg.DrainTimeout, "shutdown"
	}
	s.log.Debug("draining partitions", "reason", reason, "in_flight", gs.inflight.Load(), "timeout", timeout)
	if s.draining != nil {
		s.draining(reason)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
wait:
	for gs.inflight.Load() > 0 {
		select {
		case <-gs.idle:
		case <-deadline.C:
			break wait
		}
	}
	left := gs.inflight.Load()
	err := s.commit(gen, parts)
	switch {
	case err != nil:
		s.log.Warn("partitions released; final commit failed, the next owner reads again from the last commit",
			"reason", reason, "generation", gen.ID, "err", err, "unacked_batches", left)
	case left > 0:
		s.log.Warn("partitions released with unacknowledged batches; the next owner reads them again",
			"reason", reason, "generation", gen.ID, "unacked_batches", left)
	default:
		s.log.Info("partitions released", "reason", reason, "generation", gen.ID, "partitions", len(parts))
	}
}

// resolveStarts turns the start offsets of partitions the group has no
// commit for (FirstOffset, LastOffset) into absolute offsets, so that the
// first commit pins them: a restart before anything arrives then resumes
// there instead of at a later "latest". It retries until stop ends.
func (s *Source) resolveStarts(stop context.Context, parts []*partition) bool {
	backoff := 100 * time.Millisecond
	for {
		req := map[string][]kafkago.OffsetRequest{}
		for _, p := range parts {
			if p.start < 0 {
				req[p.topic] = append(req[p.topic], kafkago.OffsetRequest{Partition: p.id, Timestamp: p.start})
			}
		}
		if len(req) == 0 {
			return true
		}
		err := s.listOffsets(stop, req, func(topic string, po kafkago.PartitionOffsets) {
			for _, p := range parts {
				if p.topic == topic && p.id == po.Partition && p.start < 0 {
					if p.start == kafkago.FirstOffset {
						p.start = po.FirstOffset
					} else {
						p.start = po.LastOffset
					}
				}
			}
		})
		if err != nil {
			s.log.Debug("cannot look up start offsets; retrying", "err", err)
		}
		select {
		case <-stop.Done():
			return false
		default:
		}
		if err != nil {
			select {
			case <-stop.Done():
				return false
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// listOffsets asks for offsets and calls each for every partition answered
// without error.
func (s *Source) listOffsets(ctx context.Context, req map[string][]kafkago.OffsetRequest, each func(string, kafkago.PartitionOffsets)) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout+5*time.Second)
	defer cancel()
	res, err := s.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: req})
	if err != nil {
		return err
	}
	var errs []error
	for topic, pos := range res.Topics {
		for _, po := range pos {
			if po.Error != nil {
				errs = append(errs, fmt.Errorf("%s/%d: %w", topic, po.Partition, po.Error))
				continue
			}
			each(topic, po)
		}
	}
	return errors.Join(errs...)
}

// commit commits every partition whose acknowledged position moved.
func (s *Source) commit(gen *kafkago.Generation, parts []*partition) error {
	offsets := map[string]map[int]int64{}
	for _, p := range parts {
		if p.tr == nil {
			continue
		}
		if pos := p.tr.position(); pos > p.committed {
			if offsets[p.topic] == nil {
				offsets[p.topic] = map[int]int64{}
			}
			offsets[p.topic][p.id] = pos
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	if err := gen.CommitOffsets(offsets); err != nil {
		s.m.commitFailures.Inc()
		return err
	}
	for _, p := range parts {
		if pos, ok := offsets[p.topic][p.id]; ok {
			p.committed = pos
		}
	}
	return nil
}

// watchLag exports the group's lag on every partition of topics, every
// lag_interval until ctx ends, then removes the source's lag series. It asks
// the brokers, not this member, so a partition whose owner died shows its
// waiting records while the coordinator has not yet given it to a survivor.
func (s *Source) watchLag(ctx context.Context, topics []string) {
	defer s.lag.DeletePartialMatch(prometheus.Labels{"source": s.name})
	t := time.NewTicker(s.cfg.LagInterval)
	defer t.Stop()
	warned := false
	for {
		if err := s.groupLag(ctx, topics); err != nil && ctx.Err() == nil && !warned {
			s.log.Warn("cannot look up the group's lag; the lag gauges keep their last values", "err", err)
			warned = true
		} else if err == nil {
			warned = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// groupLag sets the lag gauge of every partition of topics: its end offset
// minus the group's committed offset or, without a commit, minus where the
// group would start (start_offset). Partitions the look-ups did not answer
// keep their last value.
func (s *Source) groupLag(ctx context.Context, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout+5*time.Second)
	defer cancel()
	md, err := s.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return err
	}
	ids := map[string][]int{}
	for _, t := range md.Topics {
		for _, p := range t.Partitions {
			ids[t.Name] = append(ids[t.Name], p.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	res, err := s.client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: s.cfg.GroupID, Topics: ids})
	if err != nil {
		return err
	}
	if res.Error != nil {
		return res.Error
	}
	type topicPartition struct {
		topic string
		id    int
	}
	committed := map[topicPartition]int64{}
	ends := map[string][]kafkago.OffsetRequest{}
	starts := map[string][]kafkago.OffsetRequest{} // partitions without a commit, from earliest
	for topic, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				continue
			}
			committed[topicPartition{topic, p.Partition}] = p.CommittedOffset
			ends[topic] = append(ends[topic], kafkago.OffsetRequest{Partition: p.Partition, Timestamp: kafkago.LastOffset})
			if p.CommittedOffset < 0 && s.cfg.StartOffset == StartEarliest {
				starts[topic] = append(starts[topic], kafkago.OffsetRequest{Partition: p.Partition, Timestamp: kafkago.FirstOffset})
			}
		}
	}
	// One request cannot ask twice for a partition, so the starts of
	// uncommitted partitions are a second one.
	var errs []error
	if len(starts) > 0 {
		errs = append(errs, s.listOffsets(ctx, starts, func(topic string, po kafkago.PartitionOffsets) {
			committed[topicPartition{topic, po.Partition}] = po.FirstOffset
		}))
	}
	errs = append(errs, s.listOffsets(ctx, ends, func(topic string, po kafkago.PartitionOffsets) {
		pos := committed[topicPartition{topic, po.Partition}]
		if pos < 0 { // no commit, and the group starts at the end (latest) or the start is unknown
			pos = po.LastOffset
			if s.cfg.StartOffset == StartEarliest {
				return
			}
		}
		s.lag.WithLabelValues(s.name, topic, strconv.Itoa(po.Partition)).Set(float64(max(0, po.LastOffset-pos)))
	}))
	return errors.Join(errs...)
}

// fetch reads one partition until stop ends, sending batches downstream.
func (s *Source) fetch(stop context.Context, p *partition, out chan<- pipeline.Batch, gs *genState) {
	f := fetcher{s: s, p: p, out: out, gs: gs, stop: stop, edge: kafkaedge.NewDecoder(s.raw)}
	offset := p.start
	backoff := 100 * time.Millisecond
	failures := 0
	for stop.Err() == nil {
		res, err := f.roundTrip(offset)
		if err == nil && res.err != nil {
			err = res.err
		}
		if err == nil {
			next, ok, derr := f.records(res.records, offset)
			if !ok {
				return
			}
			offset = next
			if derr == nil {
				failures, backoff = 0, 100*time.Millisecond
				continue
			}
			err = derr
		}
		if stop.Err() != nil {
			return
		}
		if errors.Is(err, kafkago.OffsetOutOfRange) {
			offset = f.reset(offset)
			continue
		}
		failures++
		if failures == 1 || failures%20 == 0 {
			s.log.Warn("fetch failed; retrying", "topic", p.topic, "partition", p.id, "offset", offset, "err", err, "failures", failures)
		}
		select {
		case <-stop.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// roundTrip fetches the partition from offset, waiting up to
// fetch_max_wait for records.
func (f *fetcher) roundTrip(offset int64) (*fetchResult, error) {
	s := f.s
	if f.raw == nil {
		f.raw = &rawFetch{clientID: clientID}
	}
	f.raw.req = f.request(offset)
	ctx, cancel := context.WithTimeout(f.stop, s.client.Timeout)
	defer cancel()
	res, err := s.client.Transport.RoundTrip(ctx, s.client.Addr, f.raw)
	if err != nil {
		f.raw = nil // the connection may still use its buffer
		return nil, err
	}
	return res.(*fetchResult), nil
}

// request is the Fetch request of the partition from offset. The isolation
// is read_uncommitted (kafka-go's default), whose responses list no aborted
// transactions for kafkabatch to filter.
func (f *fetcher) request(offset int64) fetch.Request {
	s, p := f.s, f.p
	return fetch.Request{ReplicaID: -1, MaxWaitTime: int32(s.cfg.FetchMaxWait.Milliseconds()), MinBytes: 1,
		MaxBytes: int32(s.cfg.FetchMaxBytes), SessionID: -1, SessionEpoch: -1,
		Topics: []fetch.RequestTopic{{Topic: p.topic, Partitions: []fetch.RequestPartition{{Partition: int32(p.id),
			CurrentLeaderEpoch: -1, FetchOffset: offset, LogStartOffset: -1, PartitionMaxBytes: int32(s.cfg.FetchMaxBytes)}}}}}
}

// fetcher is the state of one partition's fetch loop.
type fetcher struct {
	s     *Source
	p     *partition
	out   chan<- pipeline.Batch
	gs    *genState
	stop  context.Context
	edge  *kafkaedge.Decoder
	raw   *rawFetch
	dec   kafkabatch.Decoder
	hdrs  []kafkago.Header // the edge headers of the current record
	alloc slab
	idBuf []byte
}

// records turns one fetched record set into batches and sends them. It
// returns the offset to fetch next, false when stop ended it, and the error
// of a batch that could not be decoded (counted), after sending the records
// before it.
func (f *fetcher) records(set []byte, offset int64) (int64, bool, error) {
	s := f.s
	next := offset
	var evs []*pipeline.Event
	var bytes int
	var err error
	sentEnd := offset
	f.dec.Reset(set)
	for {
		rec, derr := f.dec.Next()
		if errors.Is(derr, io.EOF) {
			next = max(next, f.dec.End()) // past control batches and compacted-away offsets
			break
		}
		if derr != nil {
			s.m.batchFailures.Inc()
			err = derr
			break
		}
		if rec.Offset < offset {
			continue // a batch may start before the offset asked for
		}
		next = rec.Offset + 1
		ev := f.event(rec)
		if ev == nil {
			continue
		}
		if evs == nil {
			evs = make([]*pipeline.Event, 0, s.cfg.BatchEvents)
		}
		evs = append(evs, ev)
		bytes += len(ev.Raw)
		if len(evs) == s.cfg.BatchEvents {
			if !f.send(evs, bytes, next) {
				return 0, false, nil
			}
			evs, bytes, sentEnd = nil, 0, next
		}
	}
	if len(evs) > 0 {
		if !f.send(evs, bytes, next) {
			return 0, false, nil
		}
	} else if next > sentEnd {
		f.p.tr.skip(next) // offsets without events
	}
	return next, true, err
}

// event builds the event of one record, or nil for a record without a
// value (a tombstone: nothing to log).
//
// The record's bytes alias the decoder's buffers, reused for the next
// batch and fetch, while the event lives on in the pipeline: its Raw is a
// copy, and kafkaedge copies what it keeps of the headers.
func (f *fetcher) event(rec *kafkabatch.Record) *pipeline.Event {
	s := f.s
	if len(rec.Value) == 0 {
		return nil
	}
	ev := f.alloc.event()
	ev.Raw = f.alloc.bytes(len(rec.Value))
	copy(ev.Raw, rec.Value)
	ev.Offset = rec.Offset
	ev.ID = f.recordID(rec)
	ev.Received = time.UnixMilli(rec.Time)
	if rec.Time <= 0 {
		ev.Received = s.now()
	}
	if s.cfg.Mode == ModeECS {
		ev.Raw = trimSpace(ev.Raw)
		routes, err := RoutesFromECS(ev.Raw)
		if err == nil {
			ev.Origin = s.ecs
			ev.JSON = ev.Raw
			ev.Routes = routes
			if t, ok := kafkaedge.Received(f.edgeHeaders(rec.Headers)); ok {
				ev.Received = t
			}
			return ev
		}
		s.m.ecsFailures.Inc()
		if s.log.Enabled(f.stop, slog.LevelDebug) {
			s.log.Debug("value is not an ECS document; parsing it as raw", "topic", f.p.topic, "partition", f.p.id, "offset", rec.Offset, "err", err)
		}
	}
	ev.Origin = s.raw
	if len(rec.Headers) > 0 {
		edge, err := f.edge.Apply(ev, f.edgeHeaders(rec.Headers))
		if err != nil {
			s.m.edgeFailures.Inc()
			if s.log.Enabled(f.stop, slog.LevelDebug) {
				s.log.Debug("malformed edge headers", "topic", f.p.topic, "partition", f.p.id, "offset", rec.Offset, "err", err)
			}
		}
		if edge {
			return ev
		}
	}
	ev.Raw = trimNewline(ev.Raw)
	return ev
}

// recordID returns the event id of a record: the one in its event.id
// header, written by the upstream siemfwd that accepted the event, or else
// one minted from where the record is (topic, partition, offset and
// timestamp), so that a redelivery keeps it. A header that is not a valid
// id is ignored (and counted as an edge header failure).
func (f *fetcher) recordID(rec *kafkabatch.Record) string {
	for _, h := range rec.Headers {
		if string(h.Key) != pipeline.IDHeader {
			continue
		}
		if pipeline.ValidID(h.Value) {
			return string(h.Value)
		}
		f.s.m.edgeFailures.Inc()
		break
	}
	f.idBuf = f.p.ids.AppendKafka(f.idBuf[:0], rec.Offset, rec.Time)
	return string(f.idBuf)
}

// edgeHeaders returns the record's kafkaedge.HeaderEdge headers, the only
// ones kafkaedge reads, as kafka-go headers without copying their values
// or making a string of every key.
func (f *fetcher) edgeHeaders(hs []kafkabatch.Header) []kafkago.Header {
	f.hdrs = f.hdrs[:0]
	for _, h := range hs {
		if string(h.Key) == kafkaedge.HeaderEdge {
			f.hdrs = append(f.hdrs, kafkago.Header{Key: kafkaedge.HeaderEdge, Value: h.Value})
		}
	}
	return f.hdrs
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case ' ', '\t', '\r', '\n':
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return b
}

// send registers the batch that ends at end with the partition's
// checkpoint and sends it, waiting for an in-flight slot and for room in
// out. It returns false, with the batch forgotten, when stop ends first.
func (f *fetcher) send(evs []*pipeline.Event, bytes int, end int64) bool {
	s, p, gs := f.s, f.p, f.gs
	select {
	case s.sem <- struct{}{}:
	case <-f.stop.Done():
		return false
	}
	e := p.tr.add(end)
	gs.inflight.Add(1)
	s.m.inFlight.Inc()
	release := func() {
		<-s.sem
		s.m.inFlight.Dec()
		if gs.inflight.Add(-1) == 0 {
			select {
			case gs.idle <- struct{}{}:
			default:
			}
		}
	}
	b := pipeline.Batch{Events: evs, Ack: func(err error) {
		if err == nil || errors.Is(err, pipeline.ErrDropped) {
			p.tr.ack(e)
		}
		release()
	}}
	select {
	case f.out <- b:
		s.m.received.Add(float64(len(evs)))
		s.m.receivedBytes.Add(float64(bytes))
		return true
	case <-f.stop.Done():
		p.tr.abandon(e)
		release()
		return false
	}
}

// reset handles a position the partition no longer has (deleted by
// retention, or a log truncated): it restarts at start_offset's end of the
// partition and returns the new position.
func (f *fetcher) reset(offset int64) int64 {
	s, p := f.s, f.p
	ts := kafkago.FirstOffset
	if s.cfg.StartOffset == StartLatest {
		ts = kafkago.LastOffset
	}
	next := int64(-1)
	err := s.listOffsets(f.stop, map[string][]kafkago.OffsetRequest{p.topic: {{Partition: p.id, Timestamp: ts}}},
		func(_ string, po kafkago.PartitionOffsets) {
			if ts == kafkago.FirstOffset {
				next = po.FirstOffset
			} else {
				next = po.LastOffset
			}
		})
	if err != nil || next < 0 {
		select {
		case <-f.stop.Done():
		case <-time.After(time.Second):
		}
		return offset
	}
	s.m.offsetResets.Inc()
	s.log.Warn("offset out of range; restarting at start_offset", "topic", p.topic, "partition", p.id,
		"offset", offset, "start_offset", s.cfg.StartOffset, "new_offset", next)
	if next >= offset {
		p.tr.skip(next)
	} else {
		p.tr.reset(next)
	}
	return next
}

// slab hands out events and byte slices from larger blocks, so a batch
// costs a few allocations instead of two per record. A block stays alive
// while any event cut from it does; in-flight batches are bounded, so
// is that memory.
type slab struct {
	evs []pipeline.Event
	buf []byte
}

const (
	slabEvents = 64
	slabBytes  = 64 << 10
)

func (a *slab) event() *pipeline.Event {
	if len(a.evs) == 0 {
		a.evs = make([]pipeline.Event, slabEvents)
	}
	ev := &a.evs[0]
	a.evs = a.evs[1:]
	return ev
}

func (a *slab) bytes(n int) []byte {
	if n > slabBytes/8 {
		return make([]byte, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, slabBytes)
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return a.buf[l : l+n : l+n]
}

var _ pipeline.Source = (*Source)(nil)
