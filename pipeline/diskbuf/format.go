package diskbuf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// On-disk format, little endian.
//
//	segment  = header record* [end]
//	header   = "SFWDSEG" version(1 byte, = 2) seq(uint64) crc(uint32 of the 16 bytes before)   20 bytes
//	record   = length(uint32) crc(uint32) payload(length bytes)
//	crc      = CRC-32C (Castagnoli) of the 8 seq bytes, the 4 length bytes, then the payload
//	end      = 0xffffffff crc(uint32, of the 8 seq bytes and the 4 length bytes)
//
// The checksum covers the length, so a damaged length is caught as surely as
// a damaged payload; a run of zeros (what some file systems show after a
// power cut) has a length of 0 and a crc of 0, which never matches. It also
// covers the segment's sequence number (the one in its name and header),
// because segment files are reused: a fully acknowledged segment is kept as
// the spare and becomes the next new segment, overwritten from the start
// instead of freed and allocated again (which cost more than the writing, see
// Buffer.roll). Past the new records such a file still holds its old ones;
// their checksums were made with another seq, so they never pass for new
// ones. Every write to a reused file ends with the end mark, which the next
// write overwrites: after a crash, Open finds where the data ends without
// mistaking the old records for damage. A new file needs no end mark: its
// data ends where the file does.
//
// Version 1 segments (an 8-byte header without seq, checksums without it, no
// end mark; never reused) are still read.
//
//	ack file = "SFWDACK" version(1) segment(uint64) offset(uint64) crc(uint32 of the 24 bytes before)
const (
	segmentHeaderLen   = 20
	v1SegmentHeaderLen = 8
	frameHeaderLen     = 8
	segmentSuffix      = ".seg"
	spareFile          = "spare"
	ackFile            = "ack"
	ackTempFile        = "ack.tmp"
	lockFile           = "lock"
	ackFileLen         = 28
	formatVersion      = 2
	ackVersion         = 1
	endMark            = 0xffffffff
)

var (
	segmentMagic = [7]byte{'S', 'F', 'W', 'D', 'S', 'E', 'G'}
	ackMagic     = [7]byte{'S', 'F', 'W', 'D', 'A', 'C', 'K'}
	castagnoli   = crc32.MakeTable(crc32.Castagnoli)
)

// MaxRecordBytes is the largest record Append accepts. It also bounds what
// the reader believes of a length field, so that a damaged one never makes it
// allocate more than this.
const MaxRecordBytes = 64 << 20

func segmentHeader(seq uint64) []byte {
	h := make([]byte, segmentHeaderLen)
	copy(h, segmentMagic[:])
	h[7] = formatVersion
	binary.LittleEndian.PutUint64(h[8:16], seq)
	binary.LittleEndian.PutUint32(h[16:20], crc32.Checksum(h[:16], castagnoli))
	return h
}

// segmentFormat is what a segment's header says: where its records start and
// the checksum seed of its records (crcSeed).
type segmentFormat struct {
	start int64
	seed  uint32
}

// parseSegmentHeader checks the start of a segment file named seq. ok is
// false for a damaged header; stale is true for a good header of an older
// seq: a spare file renamed for reuse whose header the crash kept from being
// rewritten.
func parseSegmentHeader(h []byte, seq uint64) (f segmentFormat, ok, stale bool) {
	if len(h) < v1SegmentHeaderLen || string(h[:7]) != string(segmentMagic[:]) {
		return f, false, false
	}
	switch {
	case h[7] == 1:
		return segmentFormat{start: v1SegmentHeaderLen}, true, false
	case h[7] == formatVersion && len(h) >= segmentHeaderLen &&
		crc32.Checksum(h[:16], castagnoli) == binary.LittleEndian.Uint32(h[16:20]):
		switch hseq := binary.LittleEndian.Uint64(h[8:16]); {
		case hseq == seq:
			return segmentFormat{start: segmentHeaderLen, seed: crcSeed(seq)}, true, false
		case hseq < seq:
			return f, false, true
		}
	}
	return f, false, false
}

// crcSeed is the checksum of a segment's seq, where its records' checksums start.
func crcSeed(seq uint64) uint32 {
	return crc32.Checksum(binary.LittleEndian.AppendUint64(nil, seq), castagnoli)
}

func segmentName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, segmentSuffix) }

// parseSegmentName returns the sequence number of a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// appendFrame appends record i of a batch, framed, to dst: enc appends the
// payload after room for the header, which is then filled in. seed is the
// segment's crcSeed.
func appendFrame(dst []byte, seed uint32, enc func(dst []byte, i int) []byte, i int) []byte {
	at := len(dst)
	dst = enc(append(dst, 0, 0, 0, 0, 0, 0, 0, 0), i)
	payload := dst[at+frameHeaderLen:]
	binary.LittleEndian.PutUint32(dst[at:at+4], uint32(len(payload)))
	crc := crc32.Update(crc32.Update(seed, castagnoli, dst[at:at+4]), castagnoli, payload)
	binary.LittleEndian.PutUint32(dst[at+4:at+8], crc)
	return dst
}

// appendEnd appends the end mark of a segment whose crcSeed is seed.
func appendEnd(dst []byte, seed uint32) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, endMark)
	return binary.LittleEndian.AppendUint32(dst, crc32.Update(seed, castagnoli, dst[len(dst)-4:]))
}

var (
	// errBadRecord means the bytes at the read position are not a whole
	// record with a valid checksum: a torn write or damage.
	errBadRecord = errors.New("bad record")
	// errEnd means the read position holds a valid end mark.
	errEnd = errors.New("end of data")
)

// readFrame reads one record from br, which is at offset off of a segment
// whose readable data ends at end and whose crcSeed is seed. buf is reused
// for the payload when it is big enough; the returned slice aliases it. It
// returns errEnd at an end mark, errBadRecord when the frame is incomplete
// before end, longer than MaxRecordBytes, or fails its checksum, and other
// errors for I/O failures.
func readFrame(br *bufio.Reader, off, end int64, buf []byte, seed uint32) ([]byte, error) {
	if end-off < frameHeaderLen {
		return buf, errBadRecord
	}
	h, err := br.Peek(frameHeaderLen)
	if err != nil {
		return buf, unexpectedEOF(err)
	}
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	want := binary.LittleEndian.Uint32(h[4:8])
	crc := crc32.Update(seed, castagnoli, h[0:4])
	if n == endMark && crc == want {
		return buf, errEnd
	}
	if n > MaxRecordBytes || off+frameHeaderLen+n > end {
		return buf, errBadRecord
	}
	if _, err := br.Discard(frameHeaderLen); err != nil {
		return buf, unexpectedEOF(err)
	}
	if buf == nil || int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(br, buf); err != nil {
		return buf, unexpectedEOF(err)
	}
	if crc32.Update(crc, castagnoli, buf) != want {
		return buf, errBadRecord
	}
	return buf, nil
}

// unexpectedEOF maps a short read inside the known size to errBadRecord: the
// file shrank under us, which is damage, not an I/O failure to retry.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errBadRecord
	}
	return err
}

// scanResult is what a scan of a segment's records found.
type scanResult struct {
	end     int64 // offset after the last good record
	records int64 // good records from the start offset
	bad     bool  // the data after end is not a good record (torn or damaged)
}

// scanSegment checks every record of f from start to size and says where the
// good ones end: at the first bad record or end mark. seed is the segment's
// crcSeed; buf is scratch for payloads.
func scanSegment(f *os.File, start, size int64, seed uint32, buf []byte) (scanResult, []byte, error) {
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return scanResult{}, buf, err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	res := scanResult{end: start}
	for res.end < size {
		var err error
		buf, err = readFrame(br, res.end, size, buf, seed)
		if errors.Is(err, errEnd) {
			return res, buf, nil
		}
		if errors.Is(err, errBadRecord) {
			res.bad = true
			return res, buf, nil
		}
		if err != nil {
			return res, buf, err
		}
		res.end += frameHeaderLen + int64(len(buf))
		res.records++
	}
	return res, buf, nil
}

// ackState is the persisted acknowledged position: everything before offset
// in segment seq, and every earlier segment, was delivered.
type ackState struct {
	seq uint64
	off int64
}

func encodeAck(a ackState) []byte {
	b := make([]byte, ackFileLen)
	copy(b, ackMagic[:])
	b[7] = ackVersion
	binary.LittleEndian.PutUint64(b[8:16], a.seq)
	binary.LittleEndian.PutUint64(b[16:24], uint64(a.off))
	binary.LittleEndian.PutUint32(b[24:28], crc32.Checksum(b[:24], castagnoli))
	return b
}

func decodeAck(b []byte) (ackState, bool) {
	if len(b) != ackFileLen || string(b[:7]) != string(ackMagic[:]) || b[7] != ackVersion ||
		crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:28]) {
		return ackState{}, false
	}
	off := binary.LittleEndian.Uint64(b[16:24])
	if off > 1<<62 {
		return ackState{}, false
	}
	return ackState{seq: binary.LittleEndian.Uint64(b[8:16]), off: int64(off)}, true
}

// writeFileAtomic replaces dir/name with data: a temporary file, fsync,
// rename, then fsync of the directory so the rename itself is durable.
func writeFileAtomic(dir, name, tmp string, data []byte) error {
	tmpPath := filepath.Join(dir, tmp)
	f, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmpPath, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the directory's entries (created, renamed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
