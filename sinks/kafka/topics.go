package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	kafkago "github.com/segmentio/kafka-go"
)

// ErrMissingTopics is what Start returns when topics the sink writes to do
// not exist and it may not create them.
var ErrMissingTopics = errors.New("topics do not exist")

// Start checks that the topics the sink can know before it sees an event
// exist: the topic when it is a constant, and default_topic (a dead-letter
// sink's topic is both). With create_topics it creates the missing ones;
// otherwise, unless the broker creates topics on first use
// (allow_auto_topic_creation), a missing topic is an error naming it, so a
// typo or a forgotten topic fails the start instead of dead-lettering every
// event. Brokers that do not answer are not an error: the sink retries its
// writes until they do, and Start only logs why it could not check.
func (s *Sink) Start(ctx context.Context) error {
	topics := []string{s.cfg.DefaultTopic}
	if s.isConst && s.constTopic != s.cfg.DefaultTopic {
		topics = append(topics, s.constTopic)
	}
	if !s.isConst && !s.cfg.CreateTopics && !s.cfg.AllowAutoTopicCreation {
		s.log.Warn("the topic template's topics cannot be checked before events arrive: records for a topic that does not exist are refused (dead-lettered); set create_topics: true to create them",
			"topic", s.cfg.Topic)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	missing, err := s.missingTopics(ctx, topics)
	if err != nil {
		s.log.Warn("cannot check the topics at start: brokers do not answer; the sink retries until they do", "topics", topics, "err", err)
		return nil
	}
	switch {
	case len(missing) == 0:
		return nil
	case s.cfg.CreateTopics:
		if err := s.createTopics(ctx, missing); err != nil {
			return err
		}
		s.log.Info("created topics", "topics", missing)
		return nil
	case s.cfg.AllowAutoTopicCreation:
		return nil
	}
	return fmt.Errorf("%w: %s (create them, or set create_topics: true)", ErrMissingTopics, strings.Join(missing, ", "))
}

// missingTopics asks the brokers which of topics do not exist.
func (s *Sink) missingTopics(ctx context.Context, topics []string) ([]string, error) {
	res, err := s.cl.kc.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, t := range res.Topics {
		switch {
		case errors.Is(t.Error, kafkago.UnknownTopicOrPartition):
			missing = append(missing, t.Name)
		case t.Error != nil:
			return nil, fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
	}
	slices.Sort(missing)
	return missing, nil
}

// createTopics creates topics with the configured partitions and
// replication factor; one that exists meanwhile is no error.
func (s *Sink) createTopics(ctx context.Context, topics []string) error {
	req := &kafkago.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafkago.TopicConfig{Topic: t,
			NumPartitions: s.cfg.TopicPartitions, ReplicationFactor: s.cfg.TopicReplicationFactor})
	}
	res, err := s.cl.kc.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics %s: %w", strings.Join(topics, ", "), err)
	}
	var errs []error
	for _, t := range topics {
		if e := res.Errors[t]; e != nil && !errors.Is(e, kafkago.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", t, e))
		}
	}
	return errors.Join(errs...)
}

// createMissing handles records refused because their topic does not exist
// when create_topics is on: it creates the topics and leaves the records'
// errors transient, so the sink loop sends them again (with fresh metadata,
// since an unknown topic marks the layout stale). A topic the brokers refuse
// to create refuses its records for good.
func (s *Sink) createMissing(ctx context.Context, errs []error) {
	var topics []string
	for k, i := range s.idx {
		if errors.Is(errs[i], kafkago.UnknownTopicOrPartition) && !slices.Contains(topics, s.msgs[k].Topic) {
			topics = append(topics, s.msgs[k].Topic)
		}
	}
	if len(topics) == 0 {
		return
	}
	err := s.createTopics(ctx, topics)
	if err == nil {
		s.log.Info("created topics", "topics", topics)
		return
	}
	var ke kafkago.Error
	if !errors.As(err, &ke) || !permanentCreateError(ke) {
		s.log.Warn("creating topics failed; retrying", "topics", topics, "err", err)
		return
	}
	for k, i := range s.idx {
		if errors.Is(errs[i], kafkago.UnknownTopicOrPartition) {
			errs[i] = &missingTopicError{topic: s.msgs[k].Topic, cause: err}
		}
	}
}

// permanentCreateError reports whether the brokers will never create the
// topic as asked.
func permanentCreateError(e kafkago.Error) bool {
	switch e {
	case kafkago.TopicAuthorizationFailed, kafkago.ClusterAuthorizationFailed, kafkago.InvalidTopic,
		kafkago.InvalidPartitionNumber, kafkago.InvalidReplicationFactor, kafkago.PolicyViolation,
		kafkago.InvalidConfiguration, kafkago.InvalidRequest:
		return true
	}
	return false
}
