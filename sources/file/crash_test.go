package file

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// The crash test runs the source in a child process (this test binary,
// re-executed), kills it with SIGKILL at random points of its progress,
// starts it again on the same state directory, and checks that every line
// written to the files was delivered at least once. The child's "sink"
// appends each batch to a file and fsyncs it before acking, as a durable
// sink would, so what was acked is on disk when the kill comes.

const crashChildEnv = "SIEMFWD_FILE_CRASH_CHILD"

func crashLine(i int) string {
	return fmt.Sprintf("[29/Nov/2026 09:00:00] crash test line %07d", i)
}

func TestCrashAndRestartLosesNothing(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	require.NoError(t, os.Mkdir(logDir, 0o755))
	stateDir := filepath.Join(dir, "state")
	delivered := filepath.Join(dir, "delivered.txt")
	logPath := filepath.Join(logDir, "a.log")

	seed := time.Now().UnixNano()
	if v := os.Getenv("SIEMFWD_CRASH_SEED"); v != "" { // to replay a failure
		seed, err = strconv.ParseInt(v, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("seed %d (SIEMFWD_CRASH_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	next := 0 // the next line number to write
	write := func(path string, n int) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		require.NoError(t, err)
		w := bufio.NewWriter(f)
		for range n {
			w.WriteString(crashLine(next) + "\n")
			next++
		}
		require.NoError(t, w.Flush())
		require.NoError(t, f.Close())
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+strings.Join([]string{logDir, stateDir, delivered}, string(os.PathListSeparator)))
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("child-%d.log", time.Now().UnixNano())))
		require.NoError(t, err)
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		return cmd
	}
	kill := func(cmd *exec.Cmd) {
		require.NoError(t, cmd.Process.Kill()) // SIGKILL, to this child's PID only
		_ = cmd.Wait()
	}

	rotations := 0
	change := func() { // more lines, sometimes after a rename rotation
		if rng.IntN(3) == 0 {
			rotations++
			require.NoError(t, os.Rename(logPath, fmt.Sprintf("%s.%d", logPath, rotations)))
		}
		write(logPath, 1+rng.IntN(5000))
	}
	write(logPath, 20000)
	for round := range 6 {
		cmd := start()
		// Kill at a random point of its progress: after a random share of
		// what is left was delivered (progress, not time, so the machine's
		// speed does not matter; a share of 0 kills it while it starts).
		left := len(missing(t, delivered, next))
		target := left - rng.IntN(left+1)
		poll.Until(t, patience, "child progress", func() bool { return len(missing(t, delivered, next)) <= target })
		if rng.IntN(2) == 0 {
			change() // while it runs
		}
		kill(cmd)
		t.Logf("round %d: killed with %d of %d lines delivered", round, next-len(missing(t, delivered, next)), next)
		change() // while it is down
	}
	// A last run that is let finish.
	cmd := start()
	defer kill(cmd)
	poll.Until(t, patience, "every line delivered", func() bool { return len(missing(t, delivered, next)) == 0 })
	total := countLines(t, delivered)
	t.Logf("%d lines written, %d delivered (%d duplicates from batches in flight at the kills)", next, total, total-next)
}

// countLines counts the lines in the delivered file.
func countLines(t testing.TB, path string) int {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(b), "\n")
}

// missing returns the line numbers below n that were never delivered.
func missing(t testing.TB, path string, n int) []int {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		b = nil
	} else {
		require.NoError(t, err)
	}
	seen := make([]bool, n)
	for _, l := range strings.Split(string(b), "\n") {
		i := strings.LastIndexByte(l, ' ')
		if k, err := strconv.Atoi(l[i+1:]); err == nil && k < n {
			seen[k] = true
		}
	}
	var miss []int
	for i, ok := range seen {
		if !ok {
			miss = append(miss, i)
		}
	}
	return miss
}

// TestCrashChild is the child of TestCrashAndRestartLosesNothing: it runs
// until it is killed (or, should the parent die, for a minute).
func TestCrashChild(t *testing.T) {
	env := os.Getenv(crashChildEnv)
	if env == "" {
		t.Skip("only run as the child of TestCrashAndRestartLosesNothing")
	}
	parts := strings.Split(env, string(os.PathListSeparator))
	require.Len(t, parts, 3)
	logDir, stateDir, delivered := parts[0], parts[1], parts[2]

	cfg := DefaultConfig()
	cfg.Paths = []string{filepath.Join(logDir, "a.log*")}
	cfg.StateDir = stateDir
	cfg.BatchEvents = 64
	cfg.RescanInterval = 5 * time.Millisecond
	cfg.PollInterval = 5 * time.Millisecond
	cfg.CommitInterval = 5 * time.Millisecond
	src, err := New("files", cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)), metrics.New())
	require.NoError(t, err)

	out, err := os.OpenFile(delivered, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	queue := make(chan pipeline.Batch, 8)
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Two "workers", so acks come out of order.
	for range 2 {
		wg.Go(func() {
			for b := range queue {
				var sb strings.Builder
				for _, ev := range b.Events {
					sb.Write(ev.Raw)
					sb.WriteByte('\n')
				}
				mu.Lock()
				_, werr := out.WriteString(sb.String())
				if werr == nil {
					werr = out.Sync()
				}
				mu.Unlock()
				b.Done(werr)
			}
		})
	}
	require.NoError(t, src.Run(ctx, queue))
	close(queue)
	wg.Wait()
}
