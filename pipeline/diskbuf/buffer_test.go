package diskbuf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
)

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.MaxBytes = 1 << 30
	require.NoError(t, good.Validate())

	tests := []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"defaults lack max_bytes", func(c *Config) { c.MaxBytes = 0 }, []string{"max_bytes: required"}},
		{"tiny segment", func(c *Config) { c.SegmentBytes = 10 }, []string{"segment_bytes: must be >= 4096"}},
		{"segment over max", func(c *Config) { c.MaxBytes = 1 << 20; c.SegmentBytes = 2 << 20 }, []string{"segment_bytes: must be <= max_bytes"}},
		{"bad sync", func(c *Config) { c.Sync = "always" }, []string{`sync: must be "batch" or "interval"`}},
		{"interval without period", func(c *Config) { c.SyncInterval = 0 }, []string{"sync_interval: must be > 0"}},
		{"batch ignores period", func(c *Config) { c.Sync = SyncBatch; c.SyncInterval = 0 }, nil},
		{"negative ack interval", func(c *Config) { c.AckSyncInterval = -time.Second }, []string{"ack_sync_interval: must be >= 0"}},
		{"every problem at once", func(c *Config) { c.MaxBytes = -1; c.Sync = ""; c.AckSyncInterval = -1 },
			[]string{"max_bytes:", "sync:", "ack_sync_interval:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.modify(&c)
			err := c.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			require.Len(t, strings.Split(err.Error(), "\n"), len(tt.want))
		})
	}
	_, err := Open(t.TempDir(), DefaultConfig(), nil)
	require.ErrorContains(t, err, "max_bytes")
}

func TestRoundTripAcrossSegmentRolls(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, testConfig())
	defer b.Close()

	appendN(t, b, 0, 500, 100, 10) // 54 KB in 4 KB segments
	s := b.Stats()
	require.Greater(t, s.Segments, 10)
	require.Equal(t, int64(500), s.UnackedRecords)
	require.Equal(t, int64(500*(100+frameHeaderLen)), s.UnackedBytes)
	require.Len(t, segmentFiles(t, dir), s.Segments)
	var onDisk int64
	for _, f := range segmentFiles(t, dir) {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		onDisk += fi.Size()
	}
	require.Equal(t, onDisk, s.DiskBytes)

	// Reads in chunks that do not line up with batches or segments; acks lag behind.
	var got []int
	var positions []Position
	ctx := context.Background()
	for len(got) < 500 {
		recs, _, pos, err := b.Next(ctx, 7, 1<<20)
		require.NoError(t, err)
		require.LessOrEqual(t, len(recs), 7)
		got = append(got, nums(t, recs)...)
		positions = append(positions, pos)
		if len(positions) > 3 {
			require.NoError(t, b.Ack(positions[len(positions)-4]))
		}
	}
	require.Equal(t, seq(0, 500), got)
	require.NoError(t, b.Ack(positions[len(positions)-1]))
	s = b.Stats()
	require.Zero(t, s.UnackedRecords)
	require.Zero(t, s.UnackedBytes)
	require.Equal(t, 1, s.Segments, "every sealed segment was acknowledged and deleted")
	require.Len(t, segmentFiles(t, dir), 1)
	require.Zero(t, s.CorruptRecords)
}

func TestNextLimits(t *testing.T) {
	b := openT(t, t.TempDir(), testConfig())
	defer b.Close()
	appendN(t, b, 0, 10, 100, 10)
	ctx := context.Background()

	recs, _, _, err := b.Next(ctx, 3, 1<<20)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2}, nums(t, recs))

	recs, _, _, err = b.Next(ctx, 100, 250) // payload bytes: two records fit, a third would not
	require.NoError(t, err)
	require.Equal(t, []int{3, 4}, nums(t, recs))

	recs, _, _, err = b.Next(ctx, 100, 1) // always at least one
	require.NoError(t, err)
	require.Equal(t, []int{5}, nums(t, recs))

	recs, _, _, err = b.Next(ctx, 0, 1<<20) // non-positive count means one
	require.NoError(t, err)
	require.Equal(t, []int{6}, nums(t, recs))
}

func TestRestartReplaysExactlyTheUnacked(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, testConfig())
	appendN(t, b, 0, 300, 100, 25)
	recs, _, pos, err := b.Next(context.Background(), 120, 1<<20)
	require.NoError(t, err)
	require.Equal(t, seq(0, 120), nums(t, recs))
	require.NoError(t, b.Ack(pos))
	// Read but not acknowledged: in flight when we stop, so delivered again.
	recs, _, _, err = b.Next(context.Background(), 50, 1<<20)
	require.NoError(t, err)
	require.Equal(t, seq(120, 170), nums(t, recs))
	require.NoError(t, b.Close())

	b = openT(t, dir, testConfig())
	require.Equal(t, int64(180), b.Stats().UnackedRecords)
	got, last := readAvailable(t, b, 64)
	require.Equal(t, seq(120, 300), nums(t, got))
	appendN(t, b, 300, 310, 100, 10) // new records go after the replayed ones
	more, _ := readAvailable(t, b, 64)
	require.Equal(t, seq(300, 310), nums(t, more))
	require.NoError(t, b.Ack(last))
	require.NoError(t, b.Close())

	b = openT(t, dir, testConfig())
	defer b.Close()
	got, _ = readAvailable(t, b, 64)
	require.Equal(t, seq(300, 310), nums(t, got))
}

func TestEverythingAckedLeavesNothingToReplay(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, testConfig())
	appendN(t, b, 0, 100, 100, 10)
	_, last := readAvailable(t, b, 1000)
	require.NoError(t, b.Ack(last))
	require.NoError(t, b.Close())

	b = openT(t, dir, testConfig())
	require.Zero(t, b.Stats().UnackedRecords)
	require.Equal(t, 1, b.Stats().Segments)
	appendN(t, b, 100, 105, 100, 5)
	got, _ := readAvailable(t, b, 1000)
	require.Equal(t, seq(100, 105), nums(t, got), "new segments are numbered after the acknowledged one")
	require.NoError(t, b.Close())
}

// TestAckPersistedWithoutClose is a kill -9 after Ack: the directory as the
// process left it, with the ack file written because ack_sync_interval is 0.
func TestAckPersistedWithoutClose(t *testing.T) {
	cfg := testConfig()
	cfg.AckSyncInterval = 0
	dir := t.TempDir()
	b := openT(t, dir, cfg)
	defer b.Close()
	appendN(t, b, 0, 100, 100, 10)
	recs, _, pos, err := b.Next(context.Background(), 60, 1<<20)
	require.NoError(t, err)
	require.Equal(t, seq(0, 60), nums(t, recs))
	require.NoError(t, b.Ack(pos))

	killed := snapshot(t, dir)
	c := openT(t, killed, cfg)
	defer c.Close()
	got, _ := readAvailable(t, c, 1000)
	require.Equal(t, seq(60, 100), nums(t, got))
}

// TestUnsavedAckReplays: killed before the ack file was written, the
// acknowledged records come again (duplicates), and nothing is lost.
func TestUnsavedAckReplays(t *testing.T) {
	cfg := testConfig()
	cfg.AckSyncInterval = time.Hour
	dir := t.TempDir()
	b := openT(t, dir, cfg)
	defer b.Close()
	appendN(t, b, 0, 100, 100, 10)
	_, _, pos, err := b.Next(context.Background(), 60, 1<<20)
	require.NoError(t, err)
	require.NoError(t, b.Ack(pos)) // deletes whole segments, but the ack file is not written yet

	killed := snapshot(t, dir)
	c := openT(t, killed, cfg)
	defer c.Close()
	got, _ := readAvailable(t, c, 1000)
	require.NotEmpty(t, got)
	first := recNum(t, got[0])
	require.LessOrEqual(t, first, 60, "nothing unacknowledged is skipped")
	require.Equal(t, seq(first, 100), nums(t, got))
}

func TestDamagedAckFileReplaysEverything(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, testConfig())
	appendN(t, b, 0, 20, 100, 10)
	recs, _, pos, err := b.Next(context.Background(), 5, 1<<20)
	require.NoError(t, err)
	require.Equal(t, seq(0, 5), nums(t, recs))
	require.NoError(t, b.Ack(pos))
	require.NoError(t, b.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, ackFile), []byte("garbage"), 0o640))

	b = openT(t, dir, testConfig())
	defer b.Close()
	got, _ := readAvailable(t, b, 1000)
	require.Equal(t, seq(0, 20), nums(t, got))
}

func TestErrFullThenSpaceAfterAck(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBytes = 4 * minSegmentBytes
	dir := t.TempDir()
	b := openT(t, dir, cfg)
	defer b.Close()

	const size = 500 // 508 bytes framed: 8 per 4 KB segment
	n := 0
	for ; ; n++ {
		err := b.Append([][]byte{rec(n, size)})
		if errors.Is(err, ErrFull) {
			break
		}
		require.NoError(t, err)
	}
	require.Equal(t, int(cfg.MaxBytes)/(size+frameHeaderLen), n)
	s := b.Stats()
	require.LessOrEqual(t, s.UnackedBytes, cfg.MaxBytes)
	require.Equal(t, int64(1), s.Refused)
	require.Equal(t, 4, s.Segments)
	firstSegment := segmentFiles(t, dir)[0]

	// AppendWait does not write while full; with an ended ctx it gives up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, b.AppendWait(ctx, [][]byte{rec(n, size)}), context.Canceled)
	require.ErrorIs(t, b.Append([][]byte{rec(n, size)}), ErrFull)

	// A waiting AppendWait goes on once an Ack frees space.
	done := make(chan error, 1)
	go func() { done <- b.AppendWait(context.Background(), [][]byte{rec(n, size)}) }()

	recs, _, pos, err := b.Next(context.Background(), 8, 1<<20) // the first segment, exactly
	require.NoError(t, err)
	require.Equal(t, seq(0, 8), nums(t, recs))
	require.NoError(t, b.Ack(pos))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("AppendWait did not return after space was freed")
	}
	require.NoFileExists(t, firstSegment, "the acknowledged segment was deleted")
	require.Len(t, segmentFiles(t, dir), b.Stats().Segments)
	require.NoError(t, b.Append([][]byte{rec(n+1, size)}))
	got, _ := readAvailable(t, b, 1000)
	require.Equal(t, seq(8, n+2), nums(t, got))
}

func TestTooLarge(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBytes = 8 * minSegmentBytes
	b := openT(t, t.TempDir(), cfg)
	defer b.Close()
	big := make([][]byte, 10)
	for i := range big {
		big[i] = make([]byte, minSegmentBytes)
	}
	require.ErrorIs(t, b.Append(big), ErrTooLarge)
	require.ErrorIs(t, b.AppendWait(context.Background(), big), ErrTooLarge)
	require.ErrorIs(t, b.Append([][]byte{make([]byte, MaxRecordBytes+1)}), ErrTooLarge)
	// A record bigger than a segment is fine: it gets a segment of its own.
	require.NoError(t, b.Append([][]byte{rec(1, 2*minSegmentBytes)}))
	require.NoError(t, b.Append([][]byte{rec(2, 10)}))
	got, _ := readAvailable(t, b, 10)
	require.Equal(t, []int{1, 2}, nums(t, got))
	require.Zero(t, b.Stats().Refused)
}

func TestLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, testConfig())
	_, err := Open(dir, testConfig(), nil)
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorContains(t, err, fmt.Sprint(os.Getpid()))
	require.NoError(t, b.Close())
	b = openT(t, dir, testConfig())
	require.NoError(t, b.Close())
}

func TestNextWaitsForAppendAndCloseWakesIt(t *testing.T) {
	b := openT(t, t.TempDir(), testConfig())
	type result struct {
		recs [][]byte
		err  error
	}
	results := make(chan result)
	read := func() {
		recs, _, _, err := b.Next(context.Background(), 10, 1<<20)
		results <- result{recs, err}
	}
	go read()
	require.NoError(t, b.Append([][]byte{rec(1, 50)}))
	r := <-results
	require.NoError(t, r.err)
	require.Equal(t, []int{1}, nums(t, r.recs))

	go read() // nothing more: waits until Close
	require.NoError(t, b.Close())
	r = <-results
	require.ErrorIs(t, r.err, ErrClosed)

	require.ErrorIs(t, b.Append([][]byte{rec(2, 50)}), ErrClosed)
	require.ErrorIs(t, b.Ack(Position{}), ErrClosed)
	require.NoError(t, b.Close(), "Close twice is harmless")
}

func TestNextHonoursContext(t *testing.T) {
	b := openT(t, t.TempDir(), testConfig())
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, _, _, err := b.Next(ctx, 1, 1)
		done <- err
	}()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestAckBeyondWhatWasReadIsRefused(t *testing.T) {
	b := openT(t, t.TempDir(), testConfig())
	defer b.Close()
	appendN(t, b, 0, 10, 10, 10)
	_, _, p1, err := b.Next(context.Background(), 5, 1<<20)
	require.NoError(t, err)
	fake := p1
	fake.bytes += 1000
	require.Error(t, b.Ack(fake))
	require.NoError(t, b.Ack(p1))
	require.NoError(t, b.Ack(p1), "a repeated ack is a no-op")
	require.Equal(t, int64(5), b.Stats().UnackedRecords)
}

// TestConcurrentAppendOneReader: several writers (sharing fsyncs) and one
// reader that acks as it goes. Each writer's records come out in its order.
func TestConcurrentAppendOneReader(t *testing.T) {
	for _, mode := range []string{SyncBatch, SyncInterval} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig()
			cfg.Sync = mode
			cfg.SyncInterval = time.Millisecond
			cfg.SegmentBytes = 64 << 10
			cfg.MaxBytes = 256 << 10 // small enough that writers hit ErrFull and wait
			b := openT(t, t.TempDir(), cfg)
			defer b.Close()

			const writers, batches, per = 4, 100, 8
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range batches {
						recs := make([][]byte, per)
						for j := range recs {
							recs[j] = []byte(fmt.Sprintf("w%d-%06d-%s", w, i*per+j, strings.Repeat("x", 200)))
						}
						if err := b.AppendWait(context.Background(), recs); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			next := make([]int, writers)
			total := 0
			for total < writers*batches*per {
				recs, _, pos, err := b.Next(context.Background(), 50, 64<<10)
				require.NoError(t, err)
				for _, r := range recs {
					var w, i int
					_, err := fmt.Sscanf(string(r), "w%d-%06d-", &w, &i)
					require.NoError(t, err)
					require.Equal(t, next[w], i, "writer %d out of order", w)
					next[w]++
				}
				total += len(recs)
				require.NoError(t, b.Ack(pos))
			}
			wg.Wait()
			s := b.Stats()
			require.Zero(t, s.UnackedRecords)
			require.Zero(t, s.CorruptRecords)
			t.Logf("%s: %d appends, %d fsyncs", mode, writers*batches, s.Syncs)
		})
	}
}

func TestIntervalSyncHappensInTheBackground(t *testing.T) {
	cfg := testConfig()
	cfg.Sync = SyncInterval
	cfg.SyncInterval = time.Millisecond
	b := openT(t, t.TempDir(), cfg)
	defer b.Close()
	before := b.Stats().Syncs
	require.NoError(t, b.Append([][]byte{rec(1, 10)}))
	poll.Until(t, time.Minute, "an interval sync", func() bool { return b.Stats().Syncs > before })
	b.mu.Lock()
	defer b.mu.Unlock()
	require.False(t, b.synced.before(segPos{b.active.seq, b.active.end}))
}
