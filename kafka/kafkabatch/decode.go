package kafkabatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/pierrec/lz4/v4"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// ErrCorrupt is wrapped by the errors of a batch whose CRC-32C does not
// match or whose layout is impossible.
var ErrCorrupt = errors.New("corrupt record batch")

// Record is one record of a batch. Key, Value and the header values alias
// the decoder's buffers (the record set, or the batch decompressed) and
// stay valid only until the next call to Next or Reset: copy what must
// outlive them.
type Record struct {
	Offset  int64
	Time    int64  // milliseconds since the epoch, as the batch says
	Key     []byte // nil when null
	Value   []byte // nil when null
	Headers []Header
}

// Header is a record header; Value is nil when null.
type Header struct {
	Key, Value []byte
}

// Attribute bits of a batch.
const (
	codecMask     = 7
	logAppendTime = 1 << 3
	controlBatch  = 1 << 5
)

// Decoder reads the records of a record set (the batches of one fetched
// partition, one after the other) without allocating per record. Control
// batches (transaction markers) are skipped; aborted transactions are not
// filtered, so fetch with read_uncommitted, whose responses list none.
// A decoder is used by one goroutine and reused between record sets.
type Decoder struct {
	set  []byte // the batches not read yet
	recs []byte // the records of the current batch not read yet
	left int    // how many of them
	end  int64  // the offset after the last batch started, -1 when none

	base, baseTime int64 // of the current batch
	appendTime     bool  // the broker's time (maxTime) for every record
	maxTime        int64

	rec  Record
	out  bytes.Buffer // the current batch decompressed
	src  bytes.Reader
	lz4  *lz4.Reader
	hdrs []Header
}

// Reset starts reading recordSet.
func (d *Decoder) Reset(recordSet []byte) {
	d.set, d.recs, d.left, d.end = recordSet, nil, 0, -1
}

// End returns the offset after the last batch of the set, control batches
// included, once Next returned io.EOF; -1 when the set held no whole batch.
func (d *Decoder) End() int64 { return d.end }

// Next returns the next record. At the end of the set it returns io.EOF:
// a batch cut off at the end (the fetch size limit) ends the set too. An
// error about a batch leaves the records before it read.
func (d *Decoder) Next() (*Record, error) {
	for d.left == 0 {
		if err := d.batch(); err != nil {
			return nil, err
		}
	}
	d.left--
	if err := d.record(); err != nil {
		d.left, d.set = 0, nil
		return nil, err
	}
	return &d.rec, nil
}

// batchHeader offsets, after the base offset and the batch length.
const (
	offMagic      = 16
	offCRC        = 17
	offAttributes = 21
	offLastDelta  = 23
	offBaseTime   = 27
	offMaxTime    = 35
	offCount      = 57
)

// batch starts the next batch, or returns io.EOF when there is none whole.
func (d *Decoder) batch() error {
	if len(d.set) < batchHeaderSize {
		return io.EOF
	}
	b := d.set
	base := int64(binary.BigEndian.Uint64(b))
	size := int64(int32(binary.BigEndian.Uint32(b[8:]))) + 12
	if size < batchHeaderSize {
		d.set = nil
		return fmt.Errorf("%w at offset %d: length %d", ErrCorrupt, base, size-12)
	}
	if size > int64(len(b)) {
		return io.EOF // cut off by the fetch size limit: fetched again from its start
	}
	b, d.set = b[:size], b[size:]
	if b[offMagic] != 2 {
		d.set = nil
		return fmt.Errorf("record batch at offset %d: message format v%d, only v2 is supported", base, b[offMagic])
	}
	if crc := crc32.Checksum(b[offAttributes:], castagnoli); crc != binary.BigEndian.Uint32(b[offCRC:]) {
		d.set = nil
		return fmt.Errorf("%w at offset %d: CRC-32C %08x, computed %08x", ErrCorrupt, base, binary.BigEndian.Uint32(b[offCRC:]), crc)
	}
	attrs := binary.BigEndian.Uint16(b[offAttributes:])
	d.end = max(d.end, base+int64(int32(binary.BigEndian.Uint32(b[offLastDelta:])))+1)
	count := int32(binary.BigEndian.Uint32(b[offCount:]))
	if attrs&controlBatch != 0 || count <= 0 {
		return nil
	}
	recs := b[batchHeaderSize:]
	if codec := attrs & codecMask; codec != 0 {
		var err error
		if recs, err = d.decompress(kafkago.Compression(codec), recs); err != nil {
			d.set = nil
			return fmt.Errorf("record batch at offset %d: %w", base, err)
		}
	}
	d.base, d.recs, d.left = base, recs, int(count)
	d.baseTime = int64(binary.BigEndian.Uint64(b[offBaseTime:]))
	d.maxTime = int64(binary.BigEndian.Uint64(b[offMaxTime:]))
	d.appendTime = attrs&logAppendTime != 0
	return nil
}

// decompress returns the records of a compressed batch, in d.out.
func (d *Decoder) decompress(codec kafkago.Compression, data []byte) ([]byte, error) {
	d.src.Reset(data)
	d.out.Reset()
	var r io.Reader
	switch codec {
	case kafkago.Lz4:
		if d.lz4 == nil {
			d.lz4 = lz4.NewReader(&d.src)
		} else {
			d.lz4.Reset(&d.src)
		}
		r = d.lz4
	case kafkago.Gzip, kafkago.Snappy, kafkago.Zstd:
		rc := compress.Compression(codec).Codec().NewReader(&d.src)
		defer rc.Close()
		r = rc
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, codec)
	}
	if _, err := d.out.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, codec, err)
	}
	return d.out.Bytes(), nil
}

// record decodes the next record of the current batch into d.rec.
func (d *Decoder) record() error {
	size, rest, ok := varint(d.recs)
	if !ok || size < 0 || size > int64(len(rest)) {
		return d.corrupt("record length")
	}
	b := rest[:size]
	d.recs = rest[size:]
	if len(b) == 0 {
		return d.corrupt("empty record")
	}
	b = b[1:] // attributes: unused
	var tsDelta, offDelta, n int64
	if tsDelta, b, ok = varint(b); !ok {
		return d.corrupt("timestamp")
	}
	if offDelta, b, ok = varint(b); !ok {
		return d.corrupt("offset")
	}
	r := &d.rec
	r.Offset = d.base + offDelta
	r.Time = d.baseTime + tsDelta
	if d.appendTime {
		r.Time = d.maxTime
	}
	if r.Key, b, ok = nullable(b); !ok {
		return d.corrupt("key")
	}
	if r.Value, b, ok = nullable(b); !ok {
		return d.corrupt("value")
	}
	if n, b, ok = varint(b); !ok || n < 0 || n > int64(len(b)) { // a header takes 2 bytes at least
		return d.corrupt("header count")
	}
	d.hdrs = d.hdrs[:0]
	for range n {
		var h Header
		if h.Key, b, ok = nullable(b); !ok || h.Key == nil {
			return d.corrupt("header key")
		}
		if h.Value, b, ok = nullable(b); !ok {
			return d.corrupt("header value")
		}
		d.hdrs = append(d.hdrs, h)
	}
	r.Headers = d.hdrs
	return nil
}

func (d *Decoder) corrupt(what string) error {
	return fmt.Errorf("%w at offset %d: bad %s", ErrCorrupt, d.base, what)
}

// varint reads a zig-zag varint; one byte, the common case, inline.
func varint(b []byte) (int64, []byte, bool) {
	if len(b) > 0 && b[0] < 0x80 {
		u := int64(b[0])
		return u>>1 ^ -(u & 1), b[1:], true
	}
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, b, false
	}
	return v, b[n:], true
}

// nullable reads a length-prefixed field; length -1 is nil.
func nullable(b []byte) (v, rest []byte, ok bool) {
	n, b, ok := varint(b)
	switch {
	case !ok || n < -1 || n > int64(len(b)):
		return nil, b, false
	case n == -1:
		return nil, b, true
	}
	return b[:n:n], b[n:], true
}
