package kafkabatch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var codecs = []kafkago.Compression{0, kafkago.Gzip, kafkago.Snappy, kafkago.Lz4, kafkago.Zstd}

// encodeBatch returns the batch of msgs[order...] as Encoder makes it,
// without the size prefix, with its base offset set to base.
func encodeBatch(t testing.TB, e *Encoder, msgs []kafkago.Message, order []int, base int64) []byte {
	t.Helper()
	rd, err := e.Encode(msgs, order)
	require.NoError(t, err)
	b, err := io.ReadAll(rd)
	require.NoError(t, err)
	b = b[4:]
	binary.BigEndian.PutUint64(b, uint64(base)) // not covered by the CRC
	return b
}

// kafkaGoBatch returns the batch of msgs[order...] as kafka-go's own
// encoder makes it, without the size prefix, with its base offset set to base.
func kafkaGoBatch(t testing.TB, codec kafkago.Compression, msgs []kafkago.Message, order []int, base int64) []byte {
	t.Helper()
	var recs []protocol.Record
	for _, k := range order {
		m := msgs[k]
		r := protocol.Record{Time: m.Time, Value: protocol.NewBytes(m.Value), Headers: m.Headers}
		if m.Key != nil {
			r.Key = protocol.NewBytes(m.Key)
		}
		recs = append(recs, r)
	}
	var buf bytes.Buffer
	rs := protocol.RecordSet{Version: 2, Attributes: protocol.Attributes(codec), Records: protocol.NewRecordReader(recs...)}
	_, err := rs.WriteTo(&buf)
	require.NoError(t, err)
	b := buf.Bytes()[4:]
	binary.BigEndian.PutUint64(b, uint64(base))
	return b
}

// assertRecords reads len(order) records and checks them against msgs.
func assertRecords(t *testing.T, d *Decoder, msgs []kafkago.Message, order []int, base int64) {
	t.Helper()
	for i, k := range order {
		r, err := d.Next()
		require.NoError(t, err)
		m := msgs[k]
		assert.Equal(t, base+int64(i), r.Offset)
		assert.Equal(t, m.Time.UnixMilli(), r.Time)
		assert.Equal(t, m.Key, r.Key)
		assert.Equal(t, m.Value, r.Value)
		require.Len(t, r.Headers, len(m.Headers))
		for j, h := range m.Headers {
			assert.Equal(t, h.Key, string(r.Headers[j].Key))
			assert.Equal(t, h.Value, r.Headers[j].Value)
		}
	}
}

// Batches of both encoders, with every codec, one after the other in one
// record set, decode to the records encoded, by a decoder reused between
// record sets.
func TestDecoderReadsBothEncodersEveryCodec(t *testing.T) {
	msgs := batchMessages()
	var d Decoder
	for _, c := range codecs {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			first, second := []int{0, 1, 2, 3, 4, 5, 6}, []int{299, 3, 150, 42}
			set := encodeBatch(t, NewEncoder(c), msgs, first, 10)
			set = append(set, kafkaGoBatch(t, c, msgs, second, 17)...)
			d.Reset(set)
			assertRecords(t, &d, msgs, first, 10)
			assertRecords(t, &d, msgs, second, 17)
			_, err := d.Next()
			assert.ErrorIs(t, err, io.EOF)
			assert.Equal(t, int64(21), d.End())
		})
	}
}

// setAttributes sets a batch's attributes and its CRC again.
func setAttributes(b []byte, attrs uint16) {
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}

// A control batch (a transaction marker) yields no record but counts in End.
func TestDecoderSkipsControlBatches(t *testing.T) {
	msgs := batchMessages()
	control := encodeBatch(t, NewEncoder(0), msgs, []int{0}, 5)
	setAttributes(control, controlBatch)
	set := append(encodeBatch(t, NewEncoder(0), msgs, []int{1, 2}, 3), control...)
	var d Decoder
	d.Reset(set)
	assertRecords(t, &d, msgs, []int{1, 2}, 3)
	_, err := d.Next()
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, int64(6), d.End())
}

// With log append time, every record has the batch's max timestamp.
func TestDecoderLogAppendTime(t *testing.T) {
	msgs := batchMessages()
	b := encodeBatch(t, NewEncoder(0), msgs, []int{0, 1, 2}, 0)
	setAttributes(b, logAppendTime)
	var d Decoder
	d.Reset(b)
	for range 3 {
		r, err := d.Next()
		require.NoError(t, err)
		assert.Equal(t, int64(binary.BigEndian.Uint64(b[offMaxTime:])), r.Time)
	}
}

// A batch cut off at the end of the set (the fetch size limit) ends it.
func TestDecoderStopsAtATruncatedBatch(t *testing.T) {
	msgs := batchMessages()
	first := encodeBatch(t, NewEncoder(kafkago.Lz4), msgs, []int{0, 1}, 0)
	second := encodeBatch(t, NewEncoder(kafkago.Lz4), msgs, []int{2, 3}, 2)
	var d Decoder
	d.Reset(append(first, second[:len(second)-1]...))
	assertRecords(t, &d, msgs, []int{0, 1}, 0)
	_, err := d.Next()
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, int64(2), d.End())
}

// A batch whose CRC does not match is an ErrCorrupt error after the
// records of the batches before it, and ends the set.
func TestDecoderRejectsABadCRC(t *testing.T) {
	msgs := batchMessages()
	for _, c := range codecs {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			good := encodeBatch(t, NewEncoder(c), msgs, []int{0, 1}, 0)
			bad := encodeBatch(t, NewEncoder(c), msgs, []int{2, 3}, 2)
			bad[len(bad)-1] ^= 1
			var d Decoder
			d.Reset(append(append(good, bad...), good...))
			assertRecords(t, &d, msgs, []int{0, 1}, 0)
			_, err := d.Next()
			require.ErrorIs(t, err, ErrCorrupt)
			assert.Contains(t, err.Error(), "CRC")
			_, err = d.Next()
			assert.ErrorIs(t, err, io.EOF)
		})
	}
}

// The decoder never panics, whatever the bytes; a record it returns lies
// within its batch. Each input is also decoded with its first batch's CRC
// set right, so that mutations reach the records.
func FuzzDecoder(f *testing.F) {
	msgs := batchMessages()
	for _, c := range codecs {
		f.Add(encodeBatch(f, NewEncoder(c), msgs, []int{0, 1, 2}, 0))
	}
	control := encodeBatch(f, NewEncoder(0), msgs, []int{4}, 9)
	setAttributes(control, controlBatch)
	f.Add(control)
	var d Decoder
	decode := func(t *testing.T, set []byte) {
		d.Reset(set)
		for range 10_000 {
			r, err := d.Next()
			if err != nil {
				return
			}
			if len(r.Key)+len(r.Value) > len(set)*1100 { // at most lz4's best ratio
				t.Fatalf("record of %d bytes from a set of %d", len(r.Key)+len(r.Value), len(set))
			}
		}
	}
	f.Fuzz(func(t *testing.T, set []byte) {
		decode(t, set)
		if len(set) >= batchHeaderSize {
			fixed := bytes.Clone(set)
			size := min(int64(len(fixed)), 12+int64(int32(binary.BigEndian.Uint32(fixed[8:]))))
			if size >= batchHeaderSize {
				binary.BigEndian.PutUint32(fixed[offCRC:], crc32.Checksum(fixed[offAttributes:size], castagnoli))
			}
			decode(t, fixed)
		}
	})
}
