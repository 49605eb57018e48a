package syslog

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTCPFrameTimeoutClosesATrickler: a sender that trickles one byte at a
// time never trips the idle timeout (an hour here); the frame timeout
// closes it anyway, and a sender of whole frames on another connection
// keeps being served. The trickled bytes are
// forwarded as a cut frame, like any frame a closed connection leaves.
func TestTCPFrameTimeoutClosesATrickler(t *testing.T) {
	cfg := tcpConfig()
	cfg.IdleTimeout = time.Hour
	cfg.FrameTimeout = 200 * time.Millisecond
	h := start(t, cfg, 16)
	trickler := h.dial(t)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		// The trickle is the behaviour under test, not a synchronisation.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			if _, err := trickler.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	require.NoError(t, trickler.SetReadDeadline(time.Now().Add(patience)))
	_, err := trickler.Read(make([]byte, 1))
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the source kept the trickling connection")
	require.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "got %v", err)
	<-closed

	whole := h.dial(t)
	_, err = whole.Write([]byte("<13>whole\n"))
	require.NoError(t, err)
	got := raws(h.events(t, 2))
	require.Regexp(t, "^x+$", got[0], "the trickled bytes are forwarded (flagged), not lost")
	require.Equal(t, "<13>whole", got[1])
}

func TestTrackedConnDeadline(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name              string
		idle, frame       time.Duration
		frameStartedSince time.Duration // 0 = no frame in progress
		want              time.Time
	}{
		{"idle only", time.Minute, 0, 0, now.Add(time.Minute)},
		{"between frames", time.Minute, 10 * time.Second, 0, now.Add(time.Minute)},
		{"frame ends first", time.Minute, 10 * time.Second, 4 * time.Second, now.Add(6 * time.Second)},
		{"idle ends first", 5 * time.Second, time.Minute, time.Second, now.Add(5 * time.Second)},
		{"frame without idle", 0, 10 * time.Second, 3 * time.Second, now.Add(7 * time.Second)},
		{"neither", 0, 0, 0, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &trackedConn{idle: tt.idle, frameTimeout: tt.frame}
			if tt.frameStartedSince > 0 {
				c.frameStart = now.Add(-tt.frameStartedSince)
			}
			require.Equal(t, tt.want, c.deadline(now))
			c.frameDone()
			require.True(t, c.frameStart.IsZero())
		})
	}
}
