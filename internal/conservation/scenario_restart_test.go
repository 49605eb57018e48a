package conservation

import (
	"context"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
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

// streamer sends marked events at a steady pace until stopped, and
// remembers every marker it wrote or tried to write.
type streamer struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	sent []string
	err  error
}

// stream sends perTick events every tick to addr over network ("tcp": one
// connection, one write per tick; "udp": one datagram per event). from,
// when not empty, is the local IP address to send from (any 127.x.y.z on
// Linux), so that a receiver sees several senders on one machine.
func stream(t *testing.T, network, from, addr, scenario string, every time.Duration, perTick int) *streamer {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if from != "" {
		ip := net.ParseIP(from)
		require.NotNil(t, ip, "from %q", from)
		d.LocalAddr = &net.TCPAddr{IP: ip}
		if network == "udp" {
			d.LocalAddr = &net.UDPAddr{IP: ip}
		}
	}
	c, err := d.Dial(network, addr)
	require.NoError(t, err)
	write := func(batch []string) error {
		if network == "udp" {
			for _, m := range batch {
				if _, err := c.Write([]byte(Line(m))); err != nil {
					return err
				}
			}
			return nil
		}
		var b strings.Builder
		for _, m := range batch {
			b.WriteString(Line(m))
			b.WriteByte('\n')
		}
		_ = c.SetWriteDeadline(time.Now().Add(patience))
		_, err := io.WriteString(c, b.String())
		return err
	}
	s := &streamer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer c.Close()
		tick := time.NewTicker(every)
		defer tick.Stop()
		next := 0
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			batch := make([]string, perTick)
			for i := range batch {
				batch[i] = Marker(scenario, next+i)
			}
			next += perTick
			err := write(batch)
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

// finish stops the stream and returns what it sent; the receiver must
// have taken every write.
func (s *streamer) finish(t *testing.T) []string {
	t.Helper()
	sent, err := s.halt()
	require.NoError(t, err, "the sender was never refused")
	return sent
}

// halt stops the stream and returns what it sent or tried to send (the
// batch of a failed write included) and the write error that ended it, if
// any: a receiver that was killed refuses writes.
func (s *streamer) halt() ([]string, error) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.err
}

// TestRestartsMidStreamLoseNothing restarts the Elasticsearch node, then the
// Kafka broker, while a TCP sender streams events into configs/full.yaml:
// every event is stored once in Elasticsearch and at least once in Kafka
// (a repeat with the same event.id), nothing is dropped, and delivery
// resumes within seconds of each service coming back.
func TestRestartsMidStreamLoseNothing(t *testing.T) {
	n := NewNames("restarts")
	p := Start(t, "full.yaml", FullEnv(t, n, t.TempDir()))
	s := stream(t, "tcp", "", p.Listen["syslog_tcp"], "restarts", 50*time.Millisecond, 5) // 100 events/s
	waitFlowing := func(sink string) {
		t.Helper()
		before := p.Metric("siemfwd_sink_events_total", map[string]string{"sink": sink, "outcome": "sent"})
		poll.UntilOK(t, patience, func() string {
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
