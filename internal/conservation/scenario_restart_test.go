package conservation

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Restart bounces a test service (kafka or es) with scripts/testenv/restart,
// keeping its data, and returns once it is healthy again. It acts on the
// services the SIEMFWD_TESTENV_* environment names: make test's own, or a
// private set (never the one other people's tests use).
func Restart(t *testing.T, service string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "scripts", "testenv", "restart"), service)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "scripts/testenv/restart %s: %s", service, out)
}

// streamer sends marked events over one TCP connection at a steady pace
// until stopped, and remembers every marker it wrote.
type streamer struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	sent []string
	err  error
}

func stream(t *testing.T, addr, scenario string, every time.Duration, perTick int) *streamer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.NoError(t, err)
	s := &streamer{stop: make(chan struct{}), done: make(chan struct{})}
	markers := Markers(scenario, 999999)
	go func() {
		defer close(s.done)
		defer c.Close()
		w := bufio.NewWriter(c)
		tick := time.NewTicker(every)
		defer tick.Stop()
		next := 0
		for {
			select {
			case <-s.stop:
				s.mu.Lock()
				s.err = w.Flush()
				s.mu.Unlock()
				return
			case <-tick.C:
			}
			batch := markers[next : next+perTick]
			next += perTick
			for _, m := range batch {
				w.WriteString(Line(m) + "\n")
			}
			err := w.Flush()
			s.mu.Lock()
			s.sent = append(s.sent, batch...)
			s.err = err
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// count returns how many events were sent so far.
func (s *streamer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}

// finish stops the stream and returns what it sent.
func (s *streamer) finish(t *testing.T) []string {
	t.Helper()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NoError(t, s.err, "the TCP sender was never refused")
	return s.sent
}

// TestRestartsMidStreamLoseNothing restarts the Elasticsearch node, then the
// Kafka broker, while a TCP sender streams events into configs/full.yaml:
// every event is stored once in Elasticsearch and at least once in Kafka
// (a repeat with the same event.id), nothing is dropped, and delivery
// resumes within seconds of each service coming back.
func TestRestartsMidStreamLoseNothing(t *testing.T) {
	n := NewNames("restarts")
	p := Start(t, "full.yaml", FullEnv(t, n, t.TempDir()))
	s := stream(t, p.Listen["syslog_tcp"], "restarts", 50*time.Millisecond, 5) // 100 events/s
	waitFlowing := func(sink string) {
		t.Helper()
		before := p.Metric("siemfwd_sink_events_total", map[string]string{"sink": sink, "outcome": "sent"})
		Eventually(t, func() string {
			if p.Metric("siemfwd_sink_events_total", map[string]string{"sink": sink, "outcome": "sent"}) <= before {
				return sink + " delivers nothing"
			}
			return ""
		})
	}
	waitFlowing("elasticsearch")
	for _, svc := range []struct{ name, sink string }{{"es", "elasticsearch"}, {"kafka", "kafka"}} {
		Restart(t, svc.name)
		back := time.Now()
		waitFlowing(svc.sink)
		resumed := time.Since(back)
		t.Logf("%s: delivery resumed %s after the service was healthy again (%d events sent so far)", svc.name, resumed, s.count())
		require.Less(t, resumed, 15*time.Second, "%s: delivery stalled after the service came back", svc.name)
	}
	sent := s.finish(t)
	ledger := p.WaitSettled(uint64(len(sent)))

	es := ExactlyOnce(t, "elasticsearch", sent, ESStored(t, n.DataStreams()), 0)
	kafka := AtLeastOnce(t, "kafka", sent, KafkaStored(t, KafkaTopics(t, n.TopicPrefix)...), 0)
	require.EqualValues(t, es.Stored, ledger.Delivered)
	require.EqualValues(t, kafka.Stored, ledger.Delivered)
	require.Empty(t, ledger.Dropped)
	require.Equal(t, 0, p.Stop())
}
