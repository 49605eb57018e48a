// Package kafkabatch encodes and decodes Kafka record batches (message
// format v2, the only one Kafka 4 accepts) directly on byte slices, for the
// Kafka sink and source: kafka-go's own codec handles every field of every
// record through readers and writers and allocates per record and header,
// which cost as much CPU as the compression itself.
//
// It sits under kafka/ with the other Kafka helpers: it imports kafka-go's
// compression codecs and nothing of siemfwd; the engine never imports it.
package kafkabatch

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"

	"github.com/pierrec/lz4/v4"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// Encoder lays out one record batch for Client.RawProduce. The records go
// into one buffer and are compressed in one call: kafka-go's own encoder
// writes each field of each record into the codec separately, which cost
// about as much as the compression itself. lz4 frames carry no content checksum, like the
// Java client's: the batch's CRC-32C covers the compressed bytes already.
// An encoder is used by one goroutine at a time and reused between batches.
type Encoder struct {
	codec kafkago.Compression
	raw   []byte       // the records, uncompressed
	out   bytes.Buffer // the batch as sent
	lz4   *lz4.Writer  // only for lz4
	rd    bytes.Reader // reads out for the request
}

// batchHeaderSize is the fixed part of a record batch, up to its records.
const batchHeaderSize = 61

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func NewEncoder(codec kafkago.Compression) *Encoder {
	e := &Encoder{codec: codec}
	if codec == kafkago.Lz4 {
		e.lz4 = lz4.NewWriter(nil)
		// 1 MiB blocks hold a whole default batch (batch_max_bytes) in one
		// block; the default 4 MiB only costs memory per concurrent request.
		if err := e.lz4.Apply(lz4.BlockSizeOption(lz4.Block1Mb), lz4.ChecksumOption(false)); err != nil {
			panic(err) // constant, valid options
		}
	}
	return e
}

// Encode returns the batch of msgs[order[...]], prefixed with its size, as
// a reader for RawProduce. The reader is valid until the next Encode.
func (e *Encoder) Encode(msgs []kafkago.Message, order []int) (io.Reader, error) {
	first := msgs[order[0]].Time.UnixMilli()
	maxTS := first
	e.raw = e.raw[:0]
	for delta, k := range order {
		m := &msgs[k]
		ts := m.Time.UnixMilli()
		maxTS = max(maxTS, ts)
		e.raw = appendRecord(e.raw, m, ts-first, int64(delta))
	}

	e.out.Reset()
	e.out.Write([]byte{0, 0, 0, 0}) // the size of the batch: the request's records field is bytes
	var h [batchHeaderSize]byte
	binary.BigEndian.PutUint32(h[12:], 0xffffffff) // partition leader epoch: -1
	h[16] = 2                                      // magic
	binary.BigEndian.PutUint16(h[21:], uint16(e.codec)&7)
	binary.BigEndian.PutUint32(h[23:], uint32(len(order)-1)) // last offset delta
	binary.BigEndian.PutUint64(h[27:], uint64(first))
	binary.BigEndian.PutUint64(h[35:], uint64(maxTS))
	binary.BigEndian.PutUint64(h[43:], 0xffffffffffffffff) // producer id: -1
	binary.BigEndian.PutUint16(h[51:], 0xffff)             // producer epoch: -1
	binary.BigEndian.PutUint32(h[53:], 0xffffffff)         // base sequence: -1
	binary.BigEndian.PutUint32(h[57:], uint32(len(order)))
	e.out.Write(h[:])
	if err := e.compress(); err != nil {
		return nil, err
	}
	b := e.out.Bytes()
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	b = b[4:]
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12)) // batch length: after itself
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	e.rd.Reset(e.out.Bytes())
	return &e.rd, nil
}

// compress appends e.raw, compressed with the codec, to e.out.
func (e *Encoder) compress() error {
	var w io.WriteCloser
	switch {
	case e.codec == 0:
		e.out.Write(e.raw)
		return nil
	case e.lz4 != nil:
		e.lz4.Reset(&e.out)
		w = e.lz4
	default:
		w = compress.Compression(e.codec).Codec().NewWriter(&e.out)
	}
	if _, err := w.Write(e.raw); err != nil {
		return err
	}
	return w.Close()
}

// appendRecord appends one record of a v2 batch.
func appendRecord(b []byte, m *kafkago.Message, tsDelta, offsetDelta int64) []byte {
	size := 1 + varintLen(tsDelta) + varintLen(offsetDelta) + bytesLen(m.Key) + bytesLen(m.Value) +
		varintLen(int64(len(m.Headers)))
	for _, h := range m.Headers {
		size += varintLen(int64(len(h.Key))) + len(h.Key) + bytesLen(h.Value)
	}
	b = binary.AppendVarint(b, int64(size))
	b = append(b, 0) // attributes
	b = binary.AppendVarint(b, tsDelta)
	b = binary.AppendVarint(b, offsetDelta)
	b = appendBytes(b, m.Key)
	b = appendBytes(b, m.Value)
	b = binary.AppendVarint(b, int64(len(m.Headers)))
	for _, h := range m.Headers {
		b = binary.AppendVarint(b, int64(len(h.Key)))
		b = append(b, h.Key...)
		b = appendBytes(b, h.Value)
	}
	return b
}

// appendBytes appends a length-prefixed field; nil is null (length -1).
func appendBytes(b, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(b, -1)
	}
	return append(binary.AppendVarint(b, int64(len(v))), v...)
}

func bytesLen(v []byte) int {
	if v == nil {
		return varintLen(-1)
	}
	return varintLen(int64(len(v))) + len(v)
}

// varintLen is the size of v as a zig-zag varint.
func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}
