package diskbuf

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeClosed writes records 0..n-1 of 100 bytes in batches of 5 to a new
// buffer in 4 KB segments and closes it.
func writeClosed(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	b := openT(t, dir, testConfig())
	appendN(t, b, 0, n, 100, 5)
	require.NoError(t, b.Close())
	return dir
}

// locate returns the segment file holding record i and the record's offset
// in it, found by content, so the test does not lean on the code under test.
func locate(t *testing.T, dir string, i int) (string, int) {
	t.Helper()
	marker := []byte(fmt.Sprintf("%08d:", i))
	for _, path := range segmentFiles(t, dir) {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		if at := bytes.Index(data, marker); at >= 0 {
			return path, at - frameHeaderLen
		}
	}
	t.Fatalf("record %d not found", i)
	return "", 0
}

// lastIn returns the highest record number in a segment file.
func lastIn(t *testing.T, path string, upTo int) int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	last := -1
	for i := range upTo {
		if bytes.Contains(data, []byte(fmt.Sprintf("%08d:", i))) {
			last = i
		}
	}
	return last
}

func flip(t *testing.T, path string, at int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, int64(at))
	require.NoError(t, err)
	b[0] ^= 0x5a
	_, err = f.WriteAt(b, int64(at))
	require.NoError(t, err)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

// TestTornOrDamagedTail is what kill -9 or a power cut leaves at the end of
// the newest segment: Open keeps every record before it, cuts the tail off,
// and counts one corrupt record.
func TestTornOrDamagedTail(t *testing.T) {
	const n = 200
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, last int) // last: offset of the last record
		kept   int
	}{
		{"cut in the payload", func(t *testing.T, path string, last int) {
			require.NoError(t, os.Truncate(path, int64(last+frameHeaderLen+30)))
		}, n - 1},
		{"cut in the record header", func(t *testing.T, path string, last int) {
			require.NoError(t, os.Truncate(path, int64(last+3)))
		}, n - 1},
		{"payload byte flipped", func(t *testing.T, path string, last int) { flip(t, path, last+frameHeaderLen+50) }, n - 1},
		{"length flipped", func(t *testing.T, path string, last int) { flip(t, path, last) }, n - 1},
		{"checksum flipped", func(t *testing.T, path string, last int) { flip(t, path, last+5) }, n - 1},
		{"zeros after the last record", func(t *testing.T, path string, _ int) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.Write(make([]byte, 3000))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeClosed(t, n)
			path, last := locate(t, dir, n-1)
			require.Equal(t, segmentFiles(t, dir)[len(segmentFiles(t, dir))-1], path, "the last record is in the newest segment")
			tt.damage(t, path, last)

			b := openT(t, dir, testConfig())
			s := b.Stats()
			require.Equal(t, int64(1), s.CorruptRecords)
			require.Positive(t, s.CorruptBytes)
			got, _ := readAvailable(t, b, 1000)
			require.Equal(t, seq(0, tt.kept), nums(t, got))
			require.NoError(t, b.Close())
			if tt.kept == n {
				require.Equal(t, int64(last+frameHeaderLen+100), fileSize(t, path), "cut right after the last good record")
			} else {
				require.Equal(t, int64(last), fileSize(t, path), "cut right after the last good record")
			}

			// The cut is made once: the next Open finds nothing wrong.
			b = openT(t, dir, testConfig())
			defer b.Close()
			require.Zero(t, b.Stats().CorruptRecords)
			got, _ = readAvailable(t, b, 1000)
			require.Equal(t, seq(0, tt.kept), nums(t, got))
		})
	}
}

// TestDamageInTheMiddleOfASegment: records before the damage are kept; the
// rest of that segment is lost (its framing cannot be trusted past the
// damage); later segments are kept.
func TestDamageInTheMiddleOfASegment(t *testing.T) {
	const n, bad = 300, 100
	dir := writeClosed(t, n)
	path, at := locate(t, dir, bad)
	lastOfSegment := lastIn(t, path, n)
	require.Less(t, lastOfSegment, n-1, "the damaged segment is not the newest")
	require.Greater(t, lastOfSegment, bad, "records follow the damaged one in its segment")
	flip(t, path, at+frameHeaderLen+40)

	b := openT(t, dir, testConfig())
	defer b.Close()
	s := b.Stats()
	require.Equal(t, int64(1), s.CorruptRecords)
	require.Equal(t, int64((lastOfSegment-bad+1)*(frameHeaderLen+100)), s.CorruptBytes)
	want := append(seq(0, bad), seq(lastOfSegment+1, n)...)
	require.Equal(t, int64(len(want)), s.UnackedRecords)
	got, last := readAvailable(t, b, 1000)
	require.Equal(t, want, nums(t, got))
	require.NoError(t, b.Ack(last))
	require.Zero(t, b.Stats().UnackedRecords)
}

func TestDamagedSegmentHeader(t *testing.T) {
	const n = 300
	dir := writeClosed(t, n)
	files := segmentFiles(t, dir)
	flip(t, files[1], 2)
	lostFrom := lastIn(t, files[0], n) + 1
	lostTo := lastIn(t, files[1], n) + 1

	b := openT(t, dir, testConfig())
	defer b.Close()
	require.Equal(t, int64(1), b.Stats().CorruptRecords)
	got, _ := readAvailable(t, b, 1000)
	require.Equal(t, append(seq(0, lostFrom), seq(lostTo, n)...), nums(t, got))
	require.NoFileExists(t, files[1])
}

func TestEmptySegmentFileFromAnInterruptedRollIsNotCorrupt(t *testing.T) {
	dir := writeClosed(t, 20)
	require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(999)), nil, 0o640))
	b := openT(t, dir, testConfig())
	defer b.Close()
	require.Zero(t, b.Stats().CorruptRecords)
	got, _ := readAvailable(t, b, 1000)
	require.Equal(t, seq(0, 20), nums(t, got))
	appendN(t, b, 20, 25, 100, 5)
	got, _ = readAvailable(t, b, 1000)
	require.Equal(t, seq(20, 25), nums(t, got), "new segments are numbered after every file found")
}

// TestDamageFoundWhileReading: the disk changes under an open buffer. The
// reader skips the rest of the damaged segment, counts it, and goes on.
func TestDamageFoundWhileReading(t *testing.T) {
	const n, bad = 300, 150
	dir := t.TempDir()
	b := openT(t, dir, testConfig())
	defer b.Close()
	appendN(t, b, 0, n, 100, 5)
	recs, _, _, err := b.Next(context.Background(), 10, 1<<20)
	require.NoError(t, err)
	require.Equal(t, seq(0, 10), nums(t, recs))

	path, at := locate(t, dir, bad)
	lastOfSegment := lastIn(t, path, n)
	flip(t, path, at+frameHeaderLen+40)

	got, last := readAvailable(t, b, 1000)
	require.Equal(t, append(seq(10, bad), seq(lastOfSegment+1, n)...), nums(t, got))
	s := b.Stats()
	require.Equal(t, int64(1), s.CorruptRecords)
	require.Equal(t, int64((lastOfSegment-bad+1)*(frameHeaderLen+100)), s.CorruptBytes)
	require.NoError(t, b.Ack(last))
	require.Zero(t, b.Stats().UnackedRecords)
	require.Zero(t, b.Stats().UnackedBytes)
}

// TestReusedSegmentAfterACrash: acknowledged segments come back as new ones
// (the same file), and a process killed while writing to such a file, which
// still holds its old records past the new ones, leaves exactly the
// unacknowledged new records, nothing counted as damage; a torn write there
// is cut like any other.
func TestReusedSegmentAfterACrash(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.AckSyncInterval = 0 // saved at once: the snapshot replays from it
	b := openT(t, dir, cfg)
	defer b.Close()
	appendN(t, b, 0, 200, 100, 5) // several 4 KB segments
	got, pos := readAvailable(t, b, 1000)
	require.Equal(t, seq(0, 200), nums(t, got))
	require.NoError(t, b.Ack(pos))
	spare, err := os.Stat(filepath.Join(dir, spareFile))
	require.NoError(t, err, "an acknowledged segment is kept as the spare")

	// 20-byte records: the next segment starts in the spare, and its data
	// ends in the middle of the old records.
	n := 200
	for ; n < 250 || len(segmentFiles(t, dir)) < 2; n += 5 {
		appendN(t, b, n, n+5, 20, 5)
	}
	reused := false
	for _, path := range segmentFiles(t, dir) {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		reused = reused || os.SameFile(spare, fi)
	}
	require.True(t, reused, "the spare file became a new segment")

	killed := snapshot(t, dir)
	after := openT(t, killed, cfg)
	replayed, _ := readAvailable(t, after, 1000)
	require.Equal(t, seq(200, n), nums(t, replayed), "only new records, none of the old ones")
	require.Zero(t, after.Stats().CorruptRecords)
	require.NoError(t, after.Close())

	// A torn last write: its end mark is not there.
	path, at := locate(t, killed, 210)
	flip(t, path, at+frameHeaderLen+1)
	torn := openT(t, killed, cfg)
	defer torn.Close()
	kept, _ := readAvailable(t, torn, 1000)
	require.Equal(t, seq(200, 210), nums(t, kept)[:10])
	require.Equal(t, int64(1), torn.Stats().CorruptRecords)
}
