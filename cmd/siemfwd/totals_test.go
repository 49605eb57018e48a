package main

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
)

// totalsLine waits for the exit line of totals.
func (s *siemfwd) totalsLine(t *testing.T) map[string]any {
	t.Helper()
	select {
	case rec := <-s.logs.totals:
		return rec
	case <-time.After(60 * time.Second):
		t.Fatal("no totals line")
		return nil
	}
}

func sendTCP(t *testing.T, addr string, msgs []string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	for _, m := range msgs {
		_, err := c.Write([]byte(m + "\n"))
		require.NoError(t, err)
	}
}

// TestExitLogsTotalsThatMatchTheOutput: the last line says what became of
// every event, and it agrees with what the sink holds.
func TestExitLogsTotalsThatMatchTheOutput(t *testing.T) {
	s := startSiemfwd(t, fmt.Sprintf(e2eConfig, ", linger: 1h, max_events: 100000"), 3)
	sendTCP(t, s.addr["tcp"], messages("tcp", 300))
	poll.Until(t, 30*time.Second, "300 events received", func() bool {
		return s.metric(t, "siemfwd_source_received_events_total", map[string]string{"source": "tcp"}) == 300
	})
	require.Equal(t, 0, s.stop(t))
	rec := s.totalsLine(t)
	require.EqualValues(t, 300, rec["received"])
	require.Equal(t, map[string]any{"console": float64(len(s.stdout.lines()))}, rec["delivered"])
	require.Len(t, s.stdout.lines(), 300)
	require.EqualValues(t, 0, rec["abandoned"])
}

// deafWriter blocks every write until released: a stdout pipe nobody reads.
type deafWriter struct{ release chan struct{} }

func (d deafWriter) Write(p []byte) (int, error) {
	<-d.release
	return len(p), nil
}

// TestAbandonedEventsAreCountedAndTheExitCodeSaysSo: a sink stuck at the
// shutdown deadline costs what it holds; the totals count it and siemfwd
// exits non-zero.
func TestAbandonedEventsAreCountedAndTheExitCodeSaysSo(t *testing.T) {
	deaf := deafWriter{release: make(chan struct{})}
	defer close(deaf.release) // after the test: let the stuck goroutine end for the leak check
	s := startSiemfwdTo(t, "pipeline: {shutdown_timeout: 400ms}\n"+fmt.Sprintf(e2eConfig, ""), 3, deaf)
	sendTCP(t, s.addr["tcp"], messages("tcp", 100))
	poll.Until(t, 30*time.Second, "100 events received", func() bool {
		return s.metric(t, "siemfwd_source_received_events_total", map[string]string{"source": "tcp"}) == 100
	})
	require.Equal(t, 1, s.stop(t))
	rec := s.totalsLine(t)
	require.EqualValues(t, 100, rec["received"])
	require.EqualValues(t, 100, rec["abandoned"], "every event is held by the stuck sink")
}
