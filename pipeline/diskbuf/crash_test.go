package diskbuf

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The crash test runs a writer in a child process (this test binary,
// re-executed), kills it with SIGKILL at a random point of its progress, and
// checks that every record whose Append had returned is there, in order, and
// undamaged. It does so several times on the same directory, so each round
// also recovers what the previous kill left.

const (
	crashDirEnv   = "SIEMFWD_DISKBUF_CRASH_DIR"
	crashStartEnv = "SIEMFWD_DISKBUF_CRASH_START"
	crashLimit    = 200_000 // the child stops by itself, should the parent not kill it
)

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrashKeepsEveryAppendedRecord")
	}
	start, err := strconv.Atoi(os.Getenv(crashStartEnv))
	require.NoError(t, err)
	cfg := testConfig()
	cfg.Sync = SyncBatch
	cfg.SegmentBytes = 64 << 10
	b, err := Open(dir, cfg, nil)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(uint64(start), 1))
	out := bufio.NewWriter(os.Stdout)
	for i := start; i < start+crashLimit; {
		recs := make([][]byte, 1+rng.IntN(8))
		for j := range recs {
			recs[j] = rec(i+j, 20+rng.IntN(500))
		}
		require.NoError(t, b.Append(recs))
		i += len(recs)
		fmt.Fprintf(out, "appended %d\n", i-1)
		require.NoError(t, out.Flush())
	}
	require.NoError(t, b.Close())
}

func TestCrashKeepsEveryAppendedRecord(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SIEMFWD_CRASH_SEED"); v != "" { // to replay a failure
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("seed %d (SIEMFWD_CRASH_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()

	next := 0 // the first record number of the next round
	for round := range 4 {
		killAfter := 1 + rng.IntN(1500) // appends reported before the kill
		cmd := exec.Command(exe, "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStartEnv+"="+strconv.Itoa(next))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		reported := -1
		lines := 0
		sc := bufio.NewScanner(stdout)
		for lines < killAfter && sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "appended "); ok {
				reported, err = strconv.Atoi(n)
				require.NoError(t, err)
				lines++
			}
		}
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait() // "signal: killed"
		require.Equal(t, killAfter, lines, "the child stopped early; see its stderr")

		b := openT(t, dir, testConfig())
		got, _ := readAvailable(t, b, 4096) // recNum checks every record's content
		s := b.Stats()
		require.NoError(t, b.Close())
		require.GreaterOrEqual(t, len(got), reported+1, "round %d: records whose Append returned are missing", round)
		require.Equal(t, seq(0, len(got)), nums(t, got), "round %d: all records, in order, from the first", round)
		t.Logf("round %d: killed after %d appends (last reported %d), found %d records, corrupt %d",
			round, killAfter, reported, len(got), s.CorruptRecords)
		next = len(got)
	}
}
