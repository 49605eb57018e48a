package diskbuf

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// appendMemos appends records from..to-1 of size bytes as one batch, each
// with its number as memo.
func appendMemos(t testing.TB, b *Buffer, from, to, size int) {
	t.Helper()
	var recs [][]byte
	var memos []any
	for i := from; i < to; i++ {
		recs = append(recs, rec(i, size))
		memos = append(memos, i)
	}
	require.NoError(t, b.AppendBatch(context.Background(), batchOf(recs, memos), true))
}

// batchOf is a Batch of recs with memos.
func batchOf(recs [][]byte, memos []any) Batch {
	var bound int64
	for _, r := range recs {
		bound += int64(len(r))
	}
	return Batch{Len: len(recs), Bound: bound, Memos: memos,
		Encode: func(dst []byte, i int) []byte { return append(dst, recs[i]...) }}
}

// readMixed reads everything available now, records and memos alike, in
// chunks of maxRecords and maxBytes, and returns the record numbers in
// order, how many came as memos, and the position after the last.
func readMixed(t testing.TB, b *Buffer, maxRecords, maxBytes int) (got []int, fromMemos int, last Position) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		recs, memos, pos, err := b.Next(ctx, maxRecords, maxBytes)
		if errors.Is(err, context.Canceled) {
			return got, fromMemos, last
		}
		require.NoError(t, err)
		require.LessOrEqual(t, len(recs)+len(memos), max(maxRecords, 1))
		got = append(got, nums(t, recs)...)
		for _, m := range memos {
			got = append(got, m.(int))
		}
		fromMemos += len(memos)
		last = pos
	}
}

func TestMemosStandInForTheirRecords(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, testConfig())
	// Batches with and without memos, across many small segments.
	for i := 0; i < 300; i += 20 {
		if i%40 == 0 {
			appendMemos(t, b, i, i+20, 100)
		} else {
			appendN(t, b, i, i+20, 100, 20)
		}
	}
	// Chunks that split batches: a memo run is handed out in parts, and the
	// reader goes from the file to memos and back.
	got, fromMemos, last := readMixed(t, b, 7, 1<<20)
	require.Equal(t, seq(0, 300), got)
	require.Equal(t, 160, fromMemos)
	require.NoError(t, b.Ack(last))
	require.Zero(t, b.Stats().UnackedRecords)

	// maxBytes applies to memos by their records' size, at least one.
	appendMemos(t, b, 300, 310, 100)
	_, memos, _, err := b.Next(context.Background(), 100, 250)
	require.NoError(t, err)
	require.Equal(t, []any{300, 301}, memos)
	_, memos, _, err = b.Next(context.Background(), 100, 1)
	require.NoError(t, err)
	require.Equal(t, []any{302}, memos)

	// Handed out as memos, not acknowledged: replayed from the file after a restart.
	require.NoError(t, b.Close())
	b = openT(t, dir, testConfig())
	defer b.Close()
	got, fromMemos, _ = readMixed(t, b, 64, 1<<20)
	require.Equal(t, seq(300, 310), got)
	require.Zero(t, fromMemos)
}

// TestNextCoalescesBatches: a reader that fell behind gets as much as its
// limits allow in one call, whatever batches it was appended in, records
// from the file and memos alike, in order. (It used to get one appended
// batch per call: a disk-buffered Kafka sink made one produce per source
// batch and fell behind at about 1.5k events/s.)
func TestNextCoalescesBatches(t *testing.T) {
	b := openT(t, t.TempDir(), testConfig())
	defer b.Close()
	appendN(t, b, 0, 3, 100, 3) // no memos: read from the file
	for i := 3; i < 60; i += 3 {
		appendMemos(t, b, i, i+3, 100)
	}
	recs, memos, pos, err := b.Next(context.Background(), 50, 1<<20)
	require.NoError(t, err)
	require.Len(t, recs, 3, "the records from the file come first")
	require.Len(t, memos, 47, "then the memos of many batches, up to maxRecords")
	want := seq(0, 50)
	got := nums(t, recs)
	for _, m := range memos {
		got = append(got, m.(int))
	}
	require.Equal(t, want, got)
	require.NoError(t, b.Ack(pos))

	// maxBytes bounds a coalesced read too.
	_, memos, _, err = b.Next(context.Background(), 1000, 250)
	require.NoError(t, err)
	require.Equal(t, []any{50, 51}, memos)
}

// smallHandoff opens a buffer whose hand-off bound is 1 MiB.
func smallHandoff(t testing.TB) *Buffer {
	cfg := testConfig()
	cfg.SegmentBytes = 4 << 20
	cfg.Sync = SyncInterval
	b := openT(t, t.TempDir(), cfg)
	b.mu.Lock()
	b.handoff = 1 << 20
	b.mu.Unlock()
	return b
}

func TestMemosOfAFailingReaderAreBounded(t *testing.T) {
	b := smallHandoff(t)
	defer b.Close()
	// Failing: writers never wait for it, they spill to the file.
	b.SetReaderFailing(true)
	const size, batch = 4 << 10, 16
	n := 2 * (1 << 20) / size // twice what memos may hold
	for i := 0; i < n; i += batch {
		appendMemos(t, b, i, i+batch, size)
	}
	b.mu.Lock()
	require.LessOrEqual(t, b.memoSize, b.handoff)
	b.mu.Unlock()
	got, fromMemos, _ := readMixed(t, b, 100, 1<<30)
	require.Equal(t, seq(0, n), got)
	require.Positive(t, fromMemos)
	require.Less(t, fromMemos, n, "the batches beyond the bound come from the file")
}

func TestAppendBatchChecksItsArguments(t *testing.T) {
	b := openT(t, t.TempDir(), testConfig())
	defer b.Close()
	ctx := context.Background()
	require.Error(t, b.AppendBatch(ctx, batchOf([][]byte{rec(0, 10)}, []any{}), true), "a memo per record")
	short := batchOf([][]byte{rec(0, 10)}, nil)
	short.Bound = 5
	require.Error(t, b.AppendBatch(ctx, short, true), "records over the bound")
	require.Zero(t, b.Stats().UnackedRecords, "nothing written")
	cfg := testConfig()
	cfg.MaxBytes = minSegmentBytes
	full := openT(t, t.TempDir(), cfg)
	defer full.Close()
	require.NoError(t, full.AppendBatch(ctx, batchOf([][]byte{rec(0, 3000)}, []any{0}), false))
	require.ErrorIs(t, full.AppendBatch(ctx, batchOf([][]byte{rec(1, 3000)}, []any{1}), false), ErrFull)
	require.NoError(t, b.AppendBatch(ctx, batchOf([][]byte{rec(0, 10)}, []any{0}), true))
	_, memos, _, err := b.Next(ctx, 10, 1<<20)
	require.NoError(t, err)
	require.Equal(t, []any{0}, memos)
}

// readLive reads n records while writers append them, and returns their
// numbers in order and which of them came as memos.
func readLive(t testing.TB, b *Buffer, n int) (got []int, asMemo map[int]bool) {
	t.Helper()
	asMemo = map[int]bool{}
	for len(got) < n {
		recs, memos, pos, err := b.Next(context.Background(), 100, 1<<30)
		require.NoError(t, err)
		got = append(got, nums(t, recs)...)
		for _, m := range memos {
			got = append(got, m.(int))
			asMemo[m.(int)] = true
		}
		require.NoError(t, b.Ack(pos))
	}
	return got, asMemo
}

// appendAsync appends records from..to-1 in batches from another goroutine;
// the returned channel yields its error once done.
func appendAsync(b *Buffer, from, to, size, batch int) <-chan error {
	done := make(chan error, 1)
	go func() {
		for i := from; i < to; i += batch {
			var recs [][]byte
			var memos []any
			for j := i; j < i+batch; j++ {
				recs = append(recs, rec(j, size))
				memos = append(memos, j)
			}
			if err := b.AppendBatch(context.Background(), batchOf(recs, memos), true); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

func TestWritersWaitForAHealthyReader(t *testing.T) {
	b := smallHandoff(t)
	defer b.Close()
	const size, batch = 4 << 10, 16
	n := 8 * (1 << 20) / size // eight times what memos may hold
	done := appendAsync(b, 0, n, size, batch)
	got, asMemo := readLive(t, b, n)
	require.NoError(t, <-done)
	require.Equal(t, seq(0, n), got)
	require.Len(t, asMemo, n, "the writer waited for the reader: nothing was read back from the file")
}

func TestWritersSpillWhileTheReaderFailsAndWaitOnceItRecovers(t *testing.T) {
	b := smallHandoff(t)
	defer b.Close()
	const size, batch = 4 << 10, 16
	n := 4 * (1 << 20) / size

	// Failing: the writer does not wait (no reader runs), all on disk.
	b.SetReaderFailing(true)
	require.NoError(t, <-appendAsync(b, 0, n, size, batch))
	require.EqualValues(t, n, b.Stats().UnackedRecords)

	// Recovered: the writer waits until the reader has read the backlog
	// from the file, then hands off again.
	b.SetReaderFailing(false)
	done := appendAsync(b, n, 3*n, size, batch)
	got, asMemo := readLive(t, b, 3*n)
	require.NoError(t, <-done)
	require.Equal(t, seq(0, 3*n), got)
	fromFile := 0
	for i := range n {
		if !asMemo[i] {
			fromFile++
		}
	}
	require.Positive(t, fromFile, "the backlog beyond the bound came from the file")
	for i := n; i < 3*n; i++ {
		require.True(t, asMemo[i], "record %d, appended after the recovery, came from the file", i)
	}
}

func TestAWriterWaitingForTheReaderSpillsWhenItFails(t *testing.T) {
	b := smallHandoff(t)
	defer b.Close()
	const size, batch = 4 << 10, 16
	n := 4 * (1 << 20) / size
	// The writer fills the hand-off and waits; the reader then fails instead
	// of reading, which lets the writer finish.
	done := appendAsync(b, 0, n, size, batch)
	b.SetReaderFailing(true)
	require.NoError(t, <-done)
	require.EqualValues(t, n, b.Stats().UnackedRecords)
	got, _, _ := readMixed(t, b, 100, 1<<30)
	require.Equal(t, seq(0, n), got)
}

func TestAWriterWaitingForTheReaderWritesWhenItsContextEnds(t *testing.T) {
	b := smallHandoff(t)
	defer b.Close()
	const size = 4 << 10
	appendMemos(t, b, 0, 1<<20/size, size) // the hand-off is full, the reader healthy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, b.AppendBatch(ctx, batchOf([][]byte{rec(1000, size)}, []any{1000}), true))
	require.EqualValues(t, 1<<20/size+1, b.Stats().UnackedRecords, "stored, not refused")
}
