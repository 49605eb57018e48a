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

// frame appends payload as one framed record of segment 1.
func frame(dst, payload []byte) []byte {
	return appendFrame(dst, crcSeed(1), func(d []byte, _ int) []byte { return append(d, payload...) }, 0)
}

// FuzzReadSegment writes arbitrary bytes as segment file 1 and opens the
// buffer on it. Open must not fail or panic, and every record read back must
// be the next well-formed frame of the input, checked here independently of
// the package's reader (format.go describes the format).
func FuzzReadSegment(f *testing.F) {
	valid := segmentHeader(1)
	for i := range 5 {
		valid = frame(valid, rec(i, 10*i))
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add(append(append([]byte{}, valid...), make([]byte, 64)...))
	flipped := append([]byte{}, valid...)
	flipped[40] ^= 1
	f.Add(flipped)
	f.Add(segmentHeader(1))
	f.Add([]byte{})
	f.Add([]byte("SFWDSEG\x01\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Add(frame(segmentHeader(1), nil))
	// A reused file: new records, the end mark, then the old segment's records.
	old := segmentHeader(1)
	for i := range 5 {
		old = appendFrame(old, crcSeed(7), func(d []byte, _ int) []byte { return append(d, rec(i, 30)...) }, 0)
	}
	reused := append(appendEnd(frame(segmentHeader(1), rec(9, 20)), crcSeed(1)), old[len(valid)/2:]...)
	f.Add(reused)
	f.Add(append(segmentHeader(0), valid[segmentHeaderLen:]...)) // a spare renamed, its header not yet rewritten
	f.Add(append(segmentHeader(2), valid[segmentHeaderLen:]...)) // a header from the future: damage
	v1 := []byte("SFWDSEG\x01")
	for i := range 3 {
		v1 = appendFrame(v1, 0, func(d []byte, _ int) []byte { return append(d, rec(i, 15)...) }, 0)
	}
	f.Add(v1)

	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o640))
		b, err := Open(dir, testConfig(), nil)
		require.NoError(t, err)
		defer b.Close()
		got, _ := readAvailable(t, b, 3)

		castagnoli := crc32.MakeTable(crc32.Castagnoli)
		var seq []byte // checksums start with the seq bytes (version 2) or nothing (version 1)
		off, good, stale := 0, false, false
		if len(data) >= 8 && string(data[:7]) == "SFWDSEG" {
			switch {
			case data[7] == 1:
				off, good = 8, true
			case data[7] == 2 && len(data) >= 20 && crc32.Checksum(data[:16], castagnoli) == binary.LittleEndian.Uint32(data[16:20]):
				seq, off = data[8:16], 20
				good = binary.LittleEndian.Uint64(seq) == 1
				stale = binary.LittleEndian.Uint64(seq) < 1
			}
		}
		crcOf := func(parts ...[]byte) uint32 {
			return crc32.Checksum(bytes.Join(append([][]byte{seq}, parts...), nil), castagnoli)
		}
		for i, r := range got {
			require.LessOrEqual(t, off+frameHeaderLen+len(r), len(data), "record %d beyond the input", i)
			h := data[off : off+frameHeaderLen]
			require.Equal(t, uint32(len(r)), binary.LittleEndian.Uint32(h[0:4]), "record %d length", i)
			require.True(t, bytes.Equal(data[off+frameHeaderLen:off+frameHeaderLen+len(r)], r), "record %d payload", i)
			require.Equal(t, crcOf(h[0:4], r), binary.LittleEndian.Uint32(h[4:8]), "record %d returned with a bad checksum", i)
			off += frameHeaderLen + len(r)
		}
		s := b.Stats()
		require.LessOrEqual(t, s.CorruptRecords, int64(1))
		switch {
		case good:
			endMark := len(data)-off >= 8 && binary.LittleEndian.Uint32(data[off:]) == 0xffffffff &&
				binary.LittleEndian.Uint32(data[off+4:]) == crcOf(data[off:off+4])
			if endMark {
				require.Zero(t, s.CorruptBytes, "the data ends at the end mark; what follows is old")
			} else {
				require.Equal(t, int64(len(data)-off), s.CorruptBytes, "everything after the good records is cut")
			}
		case stale:
			require.Empty(t, got)
			require.Zero(t, s.CorruptBytes, "a spare whose header was not yet rewritten holds nothing new")
		default:
			require.Empty(t, got)
			require.Equal(t, int64(len(data)), s.CorruptBytes, "a segment without a good header is dropped whole")
		}
	})
}
