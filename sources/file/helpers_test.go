package file

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// patience bounds every wait in these tests. It is far longer than any step
// needs, so it only matters when something is broken.
const patience = 20 * time.Second

// testConfig reads dir/*.log with every interval so long that only kicks
// (h.kick) make the source rescan, poll and commit.
func testConfig(t testing.TB, dir string) Config {
	cfg := DefaultConfig()
	cfg.Paths = []string{filepath.Join(dir, "*.log")}
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.RescanInterval = time.Hour
	cfg.PollInterval = time.Hour
	cfg.CommitInterval = time.Hour
	cfg.DrainTimeout = patience
	return cfg
}

// harness runs a source against a fake pipeline: a goroutine that takes
// batches from out and acks each at once, or, with hold, keeps them for the
// test to ack in any order.
type harness struct {
	t    testing.TB
	src  *Source
	m    *metrics.Metrics
	out  chan pipeline.Batch
	hold bool

	cancel   context.CancelFunc
	done     chan error
	consumed chan struct{}
	once     sync.Once
	runErr   error

	mu      sync.Mutex
	batches []pipeline.Batch // every batch, in arrival order
}

func start(t testing.TB, cfg Config, hold bool) *harness {
	t.Helper()
	m := metrics.New()
	src, err := New("files", cfg, slog.New(slog.NewTextHandler(t.Output(), nil)), m)
	require.NoError(t, err)
	h := &harness{t: t, src: src, m: m, hold: hold, out: make(chan pipeline.Batch, 4),
		done: make(chan error, 1), consumed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- src.Run(ctx, h.out) }()
	go func() {
		defer close(h.consumed)
		for b := range h.out {
			h.mu.Lock()
			h.batches = append(h.batches, b)
			h.mu.Unlock()
			if !hold {
				b.Done(nil)
			}
		}
	}()
	t.Cleanup(func() { h.stop() })
	return h
}

// stop cancels Run, waits for it to return and for the consumer to end,
// and returns Run's error.
func (h *harness) stop() error {
	h.once.Do(func() {
		h.cancel()
		select {
		case h.runErr = <-h.done:
		case <-time.After(patience):
			h.t.Fatal("Run did not return after cancel")
		}
		close(h.out) // Run never sends after it returned
		<-h.consumed
	})
	return h.runErr
}

// kick makes the source rescan, poll every open file and commit now.
func (h *harness) kick() { h.src.wake.Kick() }

// eventually kicks the source until cond holds, failing after patience.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	poll.Until(h.t, patience, what, func() bool {
		if cond() {
			return true
		}
		h.kick()
		return false
	})
}

// events returns every event received so far, in arrival order.
func (h *harness) events() []*pipeline.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var evs []*pipeline.Event
	for _, b := range h.batches {
		evs = append(evs, b.Events...)
	}
	return evs
}

// waitEvents kicks until at least n events arrived and returns them.
func (h *harness) waitEvents(n int) []*pipeline.Event {
	h.t.Helper()
	h.eventually(fmt.Sprintf("%d events", n), func() bool { return len(h.events()) >= n })
	return h.events()
}

// batch returns the i-th batch received (hold mode).
func (h *harness) batch(i int) pipeline.Batch {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.batches[i]
}

func (h *harness) nbatches() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.batches)
}

// raws returns the events' Raw bytes as strings.
func raws(evs []*pipeline.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = string(ev.Raw)
	}
	return out
}

// byFile groups the events' lines by Origin.FilePath.
func byFile(evs []*pipeline.Event) map[string][]string {
	m := map[string][]string{}
	for _, ev := range evs {
		m[ev.Origin.FilePath] = append(m[ev.Origin.FilePath], string(ev.Raw))
	}
	return m
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func appendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(content)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// numbered returns lines "<prefix> i" for i in [from, to), each with an LF.
func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// savedOffsets reads the offsets file: path → offset.
func savedOffsets(t testing.TB, cfg Config) map[string]int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cfg.StateDir, "files.offsets.json"))
	require.NoError(t, err)
	var sf stateFile
	require.NoError(t, json.Unmarshal(b, &sf))
	m := map[string]int64{}
	for _, rec := range sf.Files {
		m[rec.Path] = rec.Offset
	}
	return m
}

// savedRecordOffsets returns the offsets of every record saved for path.
func savedRecordOffsets(t testing.TB, cfg Config, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cfg.StateDir, "files.offsets.json"))
	require.NoError(t, err)
	var sf stateFile
	require.NoError(t, json.Unmarshal(b, &sf))
	var offs []int64
	for _, rec := range sf.Files {
		if rec.Path == path {
			offs = append(offs, rec.Offset)
		}
	}
	return offs
}

// openPaths returns the paths of the open files as they were opened, sorted.
func (h *harness) openPaths() []string {
	h.src.mu.Lock()
	defer h.src.mu.Unlock()
	var ps []string
	for _, t := range h.src.open {
		ps = append(ps, t.path)
	}
	slices.Sort(ps)
	return ps
}
