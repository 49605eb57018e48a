package pipeline_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
)

// outageSink fails every Write until up, then records when it delivered.
type outageSink struct {
	up          time.Time
	mu          sync.Mutex
	deliveredAt time.Time
}

func (s *outageSink) Write(context.Context, []*pipeline.Event) error {
	if time.Now().Before(s.up) {
		return errors.New("connection refused")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deliveredAt.IsZero() {
		s.deliveredAt = time.Now()
	}
	return nil
}

func (*outageSink) Start(context.Context) error { return nil }

func (*outageSink) Close(context.Context) error { return nil }

// After a long outage the backoff has grown to its cap; with the defaults
// delivery resumes within a few seconds of the destination coming back.
func TestDeliveryResumesWithinSecondsOfADestinationComingBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		outage := 2 * time.Minute
		s := &outageSink{up: time.Now().Add(outage)}
		src := newListSource([]string{"d|event|1"})
		start(t, pipeline.DefaultConfig(), src, pipeline.NamedSink{Name: "s", Sink: s, Config: pipeline.DefaultSinkConfig()})
		<-src.acked
		s.mu.Lock()
		defer s.mu.Unlock()
		require.LessOrEqual(t, s.deliveredAt.Sub(s.up), 3*time.Second, "stalled after the destination came back")
	})
}
