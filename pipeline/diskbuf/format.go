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
//	segment  = header record*
//	header   = "SFWDSEG" version(1 byte, = 1)                 8 bytes
//	record   = length(uint32) crc(uint32) payload(length bytes)
//	crc      = CRC-32C (Castagnoli) of the 4 length bytes, then the payload
//
// The checksum covers the length, so a damaged length is caught as surely as
// a damaged payload; a run of zeros (what some file systems show after a
// power cut) has a length of 0 and a crc of 0, which never matches.
//
//	ack file = "SFWDACK" version(1) segment(uint64) offset(uint64) crc(uint32 of the 24 bytes before)
const (
	segmentHeaderLen = 8
	frameHeaderLen   = 8
	segmentSuffix    = ".seg"
	ackFile          = "ack"
	ackTempFile      = "ack.tmp"
	lockFile         = "lock"
	ackFileLen       = 28
	formatVersion    = 1
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

func segmentHeader() []byte {
	h := make([]byte, segmentHeaderLen)
	copy(h, segmentMagic[:])
	h[7] = formatVersion
	return h
}

func validSegmentHeader(h []byte) bool {
	return len(h) >= segmentHeaderLen && string(h[:7]) == string(segmentMagic[:]) && h[7] == formatVersion
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
// payload after room for the header, which is then filled in.
func appendFrame(dst []byte, enc func(dst []byte, i int) []byte, i int) []byte {
	at := len(dst)
	dst = enc(append(dst, 0, 0, 0, 0, 0, 0, 0, 0), i)
	payload := dst[at+frameHeaderLen:]
	binary.LittleEndian.PutUint32(dst[at:at+4], uint32(len(payload)))
	crc := crc32.Update(crc32.Checksum(dst[at:at+4], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(dst[at+4:at+8], crc)
	return dst
}

// errBadRecord means the bytes at the read position are not a whole record
// with a valid checksum: a torn write or damage.
var errBadRecord = errors.New("bad record")

// readFrame reads one record from br, which is at offset off of a segment
// whose readable data ends at end. buf is reused for the payload when it is
// big enough; the returned slice aliases it. It returns errBadRecord when the
// frame is incomplete before end, longer than MaxRecordBytes, or fails its
// checksum, and other errors for I/O failures.
func readFrame(br *bufio.Reader, off, end int64, buf []byte) ([]byte, error) {
	if end-off < frameHeaderLen {
		return buf, errBadRecord
	}
	h, err := br.Peek(frameHeaderLen)
	if err != nil {
		return buf, unexpectedEOF(err)
	}
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	want := binary.LittleEndian.Uint32(h[4:8])
	crc := crc32.Checksum(h[0:4], castagnoli)
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
// good ones end. buf is scratch for payloads.
func scanSegment(f *os.File, start, size int64, buf []byte) (scanResult, []byte, error) {
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return scanResult{}, buf, err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	res := scanResult{end: start}
	for res.end < size {
		var err error
		buf, err = readFrame(br, res.end, size, buf)
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
	b[7] = formatVersion
	binary.LittleEndian.PutUint64(b[8:16], a.seq)
	binary.LittleEndian.PutUint64(b[16:24], uint64(a.off))
	binary.LittleEndian.PutUint32(b[24:28], crc32.Checksum(b[:24], castagnoli))
	return b
}

func decodeAck(b []byte) (ackState, bool) {
	if len(b) != ackFileLen || string(b[:7]) != string(ackMagic[:]) || b[7] != formatVersion ||
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
