package diskbuf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// testConfig is small enough for tests to roll segments often.
func testConfig() Config {
	c := DefaultConfig()
	c.MaxBytes = 1 << 30
	c.SegmentBytes = minSegmentBytes
	c.Sync = SyncBatch
	return c
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func openT(t testing.TB, dir string, cfg Config) *Buffer {
	t.Helper()
	b, err := Open(dir, cfg, testLogger(t))
	require.NoError(t, err)
	return b
}

// rec is record number i: the number, then filler that depends on it, so a
// damaged or misplaced record does not pass for another.
func rec(i, size int) []byte {
	p := []byte(fmt.Sprintf("%08d:", i))
	for len(p) < size {
		p = append(p, byte('a'+(i+len(p))%26))
	}
	return p
}

func recNum(t testing.TB, p []byte) int {
	t.Helper()
	var i int
	_, err := fmt.Sscanf(string(p[:8]), "%08d", &i)
	require.NoError(t, err, "record %q", p)
	require.Equal(t, string(rec(i, len(p))), string(p), "record %d damaged", i)
	return i
}

// appendN appends records from..to-1 of size bytes in batches of batch.
func appendN(t testing.TB, b *Buffer, from, to, size, batch int) {
	t.Helper()
	for i := from; i < to; i += batch {
		var recs [][]byte
		for j := i; j < min(i+batch, to); j++ {
			recs = append(recs, rec(j, size))
		}
		require.NoError(t, b.Append(recs))
	}
}

// readAvailable reads every record available now, without waiting, and
// returns them with the position after the last.
func readAvailable(t testing.TB, b *Buffer, maxRecords int) ([][]byte, Position) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Next still returns what is available
	var all [][]byte
	var last Position
	for {
		recs, _, pos, err := b.Next(ctx, maxRecords, 1<<20)
		if errors.Is(err, context.Canceled) {
			return all, last
		}
		require.NoError(t, err)
		require.NotEmpty(t, recs)
		all = append(all, recs...)
		last = pos
	}
}

func nums(t testing.TB, recs [][]byte) []int {
	t.Helper()
	out := make([]int, len(recs))
	for i, r := range recs {
		out[i] = recNum(t, r)
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	require.NoError(t, err)
	sort.Strings(m)
	return m
}

// snapshot copies the buffer's directory as a process killed at this moment
// would leave it (the page cache survives a kill), without the lock.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() == lockFile {
			continue
		}
		src, err := os.Open(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out, err := os.Create(filepath.Join(dst, e.Name()))
		require.NoError(t, err)
		_, err = io.Copy(out, src)
		require.NoError(t, err)
		require.NoError(t, out.Close())
		require.NoError(t, src.Close())
	}
	return dst
}
