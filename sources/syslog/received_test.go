package syslog

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// scriptedConn is a connection whose reads return the given chunks one per
// Read, each after setting the clock to its arrival time, then io.EOF. The
// clock moves only inside Read, so the test does not depend on timing.
type scriptedConn struct {
	net.Conn // nil: only the methods below are used
	clock    *fakeClock
	chunks   []chunk
}

type chunk struct {
	after time.Duration // since the previous chunk
	data  string
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	ch := c.chunks[0]
	c.clock.Advance(ch.after)
	n := copy(p, ch.data)
	if n == len(ch.data) {
		c.chunks = c.chunks[1:]
	} else {
		c.chunks[0].data, c.chunks[0].after = ch.data[n:], 0
	}
	return n, nil
}

func (c *scriptedConn) Close() error { return nil }
func (c *scriptedConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 5140}
}

// serveScript runs one connection of a TCP source over chunks and returns
// its events.
func serveScript(t *testing.T, clock *fakeClock, chunks []chunk) []*pipeline.Event {
	t.Helper()
	src, err := New("test", tcpConfig(), slog.New(slog.DiscardHandler), metrics.New(), nil)
	require.NoError(t, err)
	src.now = clock.Now
	c := &trackedConn{Conn: &scriptedConn{clock: clock, chunks: chunks}, now: src.now}
	out := make(chan pipeline.Batch, 16)
	src.serve(context.Background(), c, out)
	close(out)
	var events []*pipeline.Event
	for b := range out {
		events = append(events, b.Events...)
	}
	return events
}

// Issue 13, finding 9: the receive time was refreshed only when the read
// buffer was empty at a frame boundary, so a frame that began in one read
// and ended in a later one, and every frame after it in that read, got the
// time of the earlier read.
func TestReceiveTimeIsWhenTheLastByteArrived(t *testing.T) {
	line2 := "<13>Apr  1 12:00:00 h app: line 2 is long enough to be split in two"
	for _, tt := range []struct {
		name string
		enc  func(string) string
	}{
		{"lf", func(m string) string { return m + "\n" }},
		{"octet", func(m string) string { return octetFrame(m) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			t0 := clock.Now()
			first := tt.enc("<13>line 1")
			second := tt.enc(line2)
			third := tt.enc("<13>line 3")
			events := serveScript(t, clock, []chunk{
				{data: first + second[:40]},
				{after: 3 * time.Second, data: second[40:] + third},
			})
			require.Len(t, events, 3)
			require.Equal(t, []string{"<13>line 1", line2, "<13>line 3"},
				[]string{string(events[0].Raw), string(events[1].Raw), string(events[2].Raw)})
			require.Equal(t, t0, events[0].Received)
			require.Equal(t, t0.Add(3*time.Second), events[1].Received, "a split frame has the time of its last part")
			require.Equal(t, t0.Add(3*time.Second), events[2].Received)
		})
	}
}

func octetFrame(m string) string { return strconv.Itoa(len(m)) + " " + m }
