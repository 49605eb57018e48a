package stdout

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"siemfwd/internal/poll"
	"siemfwd/pipeline"
)

func events(n, size int) []*pipeline.Event {
	evs := make([]*pipeline.Event, n)
	for i := range evs {
		evs[i] = &pipeline.Event{JSON: fmt.Appendf(nil, `{"n":%d,"pad":%q}`, i, strings.Repeat("x", size))}
	}
	return evs
}

// TestAStuckPipeGetsNoHalfLine: siemfwd exits at the shutdown deadline while
// a write into a pipe blocks (its reader is stuck); what reached the pipe
// ends at a line's end. Closing the write end stands in for the exit.
func TestAStuckPipeGetsNoHalfLine(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	s := New(w)
	evs := events(2000, 300) // 600 kB: far more than the pipe holds
	done := make(chan error, 1)
	go func() { done <- s.Write(context.Background(), evs) }()
	// Wait until the pipe is full and the write blocks.
	poll.Until(t, 30*time.Second, "32 KiB in the pipe", func() bool {
		n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ)
		require.NoError(t, err)
		return n >= 32<<10 // the writer is well into it, and soon blocks
	})
	require.NoError(t, w.Close())
	werr := <-done
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(data), "\n"), "the last line is whole: %q", tail(data))
	var items pipeline.ItemErrors
	require.True(t, errors.As(werr, &items), "the events not written are reported: %v", werr)
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		require.True(t, json.Valid(sc.Bytes()), sc.Text())
		lines++
	}
	require.Equal(t, len(evs)-len(items), lines, "what was written is what Write reports as written")
}

func tail(b []byte) []byte { return b[max(0, len(b)-40):] }

// TestWriteStopsBetweenChunksWhenCtxEnds: at the shutdown deadline the sink
// stops at a chunk boundary and reports the rest as not written.
func TestWriteStopsBetweenChunksWhenCtxEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var sb strings.Builder
	err := New(&sb).Write(ctx, events(3, 10))
	var items pipeline.ItemErrors
	require.True(t, errors.As(err, &items))
	require.Len(t, items, 3)
	require.ErrorIs(t, items[0].Err, context.Canceled)
	require.Empty(t, sb.String())
}

func TestWriteWritesEveryLine(t *testing.T) {
	var sb strings.Builder
	evs := events(3000, 200) // several chunks
	require.NoError(t, New(&sb).Write(context.Background(), evs))
	lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
	require.Len(t, lines, len(evs))
	for i, l := range lines {
		require.Equal(t, string(evs[i].JSON), l)
	}
}
