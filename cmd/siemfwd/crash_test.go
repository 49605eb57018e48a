package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
)

// buildBinary compiles siemfwd once for the tests that run the real binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "siemfwd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

var seqRE = regexp.MustCompile(`user seq(\d+) not found`)

// countOutput reads the stdout file of every run so far and counts each
// sequence number. A run killed in the middle of a write can leave a partial
// last line; it is not an event (its batch was never acknowledged).
func countOutput(t *testing.T, path string) map[int]int {
	t.Helper()
	seen := map[int]int{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return seen
	}
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var doc struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(sc.Bytes(), &doc) != nil {
			continue
		}
		if m := seqRE.FindStringSubmatch(doc.Message); m != nil {
			n, _ := strconv.Atoi(m[1])
			seen[n]++
		}
	}
	return seen
}

// TestKillDashNineLosesNoFileLine tails Kerio log files that a writer keeps
// appending to (and rotating), kills siemfwd with SIGKILL at random points of
// its progress several times, restarts it each time, and checks that every
// numbered line reached the sink at least once: with the sink's queue in
// memory (file offsets wait for the sink) and with a disk buffer (offsets
// wait for the buffer, which replays after the crash).
func TestKillDashNineLosesNoFileLine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary several times; skipped with -short")
	}
	bin := buildBinary(t)
	t.Run("memory queue", func(t *testing.T) { killDashNine(t, bin, "") })
	t.Run("disk buffer", func(t *testing.T) {
		killDashNine(t, bin, "{type: disk, max_bytes: 1073741824, sync: batch, segment_bytes: 1048576}")
	})
}

func killDashNine(t *testing.T, bin, buffer string) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	require.NoError(t, os.MkdirAll(logs, 0o755))
	cfgPath := filepath.Join(dir, "siemfwd.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
log: {level: warn, format: text}
pipeline: {shutdown_timeout: 20s, data_dir: %q}
sources:
  kerio:
    type: file
    paths: [%q, %q]
    product: kerio_connect
    state_dir: %q
    poll_interval: 10ms
    rescan_interval: 50ms
    commit_interval: 20ms
    drain_timeout: 5s
sinks:
  out: {type: stdout%s}
`, filepath.Join(dir, "data"), filepath.Join(logs, "security.log"), filepath.Join(logs, "security.log.*"), filepath.Join(dir, "state"),
		map[bool]string{true: ", buffer: " + buffer}[buffer != ""])), 0o644))
	outPath := filepath.Join(dir, "out.ndjson")

	seed := rand.Uint64()
	if s := os.Getenv("SIEMFWD_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set SIEMFWD_CRASH_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	next := 0
	writeLines := func(n int) {
		f, err := os.OpenFile(filepath.Join(logs, "security.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		require.NoError(t, err)
		w := bufio.NewWriter(f)
		for range n {
			fmt.Fprintf(w, "[14/Mar/2026 09:15:02] Failed IMAP login from 203.0.113.%d, user seq%d not found.\n", next%250+1, next)
			next++
		}
		require.NoError(t, w.Flush())
		require.NoError(t, f.Close())
	}
	rotations := 0
	rotate := func() {
		// rename-and-create, keeping every old file (under a name the source
		// also tails): deleting a file nobody has read yet loses it, whatever
		// the reader does.
		rotations++
		require.NoError(t, os.Rename(filepath.Join(logs, "security.log"), filepath.Join(logs, fmt.Sprintf("security.log.%d", rotations))))
	}
	start := func() *exec.Cmd {
		out, err := os.OpenFile(outPath, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
		require.NoError(t, err)
		defer out.Close()
		// A run killed in the middle of a write left a partial line; end it, so
		// that the next run's first event starts a line of its own.
		if st, err := out.Stat(); err == nil && st.Size() > 0 {
			last := make([]byte, 1)
			if _, err := out.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
				_, err = out.Write([]byte("\n"))
				require.NoError(t, err)
			}
		}
		cmd := exec.Command(bin, "run", "-c", cfgPath)
		cmd.Stdout = out
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		// A failure while it runs: its goroutine dump (SIGQUIT) shows where it stood.
		t.Cleanup(func() {
			if t.Failed() {
				cmd.Process.Signal(syscall.SIGQUIT)
				cmd.Wait()
			}
		})
		return cmd
	}
	waitDelivered := func(want int) {
		poll.UntilOK(t, 120*time.Second, func() string {
			seen := countOutput(t, outPath)
			if len(seen) >= want {
				return ""
			}
			var missing []int
			for n := range next {
				if seen[n] == 0 {
					missing = append(missing, n)
				}
			}
			return fmt.Sprintf("%d of %d lines delivered, want %d; missing %v ... (last ones %v)",
				len(seen), next, want, missing[:min(len(missing), 20)], missing[max(0, len(missing)-5):])
		})
	}

	outSize := func() int64 {
		st, err := os.Stat(outPath)
		if err != nil {
			return 0
		}
		return st.Size()
	}
	// Each event is well over 500 bytes of JSON; kill once the output grew by
	// a random amount that the pending lines are sure to reach.
	const minEventBytes = 500
	inFlight := 0 // bound on what the kills can make siemfwd read again
	for round := range 6 {
		writeLines(2000 + rng.IntN(4000))
		rotated := rng.IntN(2) == 0
		if rotated {
			rotate()
			writeLines(500 + rng.IntN(2000))
		}
		// Choose the kill point before starting, so that a fast run cannot pass it unseen.
		pending := next - len(countOutput(t, outPath))
		target := outSize() + 1 + rng.Int64N(int64(max(pending, 1))*minEventBytes)
		cmd := start()

		if rng.IntN(3) == 0 {
			writeLines(500 + rng.IntN(2000)) // and lines that arrive while it runs
		}
		if pending > 0 {
			poll.Until(t, 60*time.Second, "the output to reach the kill point", func() bool { return outSize() >= target })
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		cmd.Wait()
		inFlight += next // at most every line written so far was read but not yet committed
		t.Logf("round %d: killed after %d of %d lines (rotated: %v)", round, len(countOutput(t, outPath)), next, rotated)
		writeLines(rng.IntN(1000)) // lines written while siemfwd is down
	}
	cmd := start()

	waitDelivered(next)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "a clean stop exits 0")

	seen := countOutput(t, outPath)
	dups := 0
	for n := range next {
		require.Positive(t, seen[n], "line %d lost", n)
		dups += seen[n] - 1
	}
	t.Logf("%d lines, %d duplicates over 6 kills", next, dups)
	require.LessOrEqual(t, dups, inFlight, "duplicates are bounded by what was in flight at the kills")
}
