package diskbuf

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// frame appends payload as one framed record.
func frame(dst, payload []byte) []byte {
	return appendFrame(dst, func(d []byte, _ int) []byte { return append(d, payload...) }, 0)
}

// FuzzReadSegment writes arbitrary bytes as a segment file and opens the
// buffer on it. Open must not fail or panic, and every record read back must
// be the next well-formed frame of the input, checked here independently of
// the package's reader.
func FuzzReadSegment(f *testing.F) {
	valid := segmentHeader()
	for i := range 5 {
		valid = frame(valid, rec(i, 10*i))
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add(append(append([]byte{}, valid...), make([]byte, 64)...))
	flipped := append([]byte{}, valid...)
	flipped[40] ^= 1
	f.Add(flipped)
	f.Add(segmentHeader())
	f.Add([]byte{})
	f.Add([]byte("SFWDSEG\x01\xff\xff\xff\xff\x00\x00\x00\x00"))
	empty := frame(segmentHeader(), nil)
	f.Add(empty)

	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o640))
		b, err := Open(dir, testConfig(), nil)
		require.NoError(t, err)
		defer b.Close()
		got, _ := readAvailable(t, b, 3)

		off := segmentHeaderLen
		for i, r := range got {
			require.LessOrEqual(t, off+frameHeaderLen+len(r), len(data), "record %d beyond the input", i)
			h := data[off : off+frameHeaderLen]
			require.Equal(t, uint32(len(r)), binary.LittleEndian.Uint32(h[0:4]), "record %d length", i)
			require.True(t, bytes.Equal(data[off+frameHeaderLen:off+frameHeaderLen+len(r)], r), "record %d payload", i)
			want := crc32.Checksum(append(append([]byte{}, h[0:4]...), r...), crc32.MakeTable(crc32.Castagnoli))
			require.Equal(t, want, binary.LittleEndian.Uint32(h[4:8]), "record %d returned with a bad checksum", i)
			off += frameHeaderLen + len(r)
		}
		s := b.Stats()
		require.LessOrEqual(t, s.CorruptRecords, int64(1))
		if validSegmentHeader(data) {
			require.Equal(t, int64(len(data)-off), s.CorruptBytes, "everything after the good records is cut")
		} else {
			require.Empty(t, got)
			require.Equal(t, int64(len(data)), s.CorruptBytes, "a segment without a good header is dropped whole")
		}
	})
}
