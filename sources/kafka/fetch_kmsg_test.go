package kafka

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/fetch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"siemfwd/kafka/kafkabatch"
	"siemfwd/pipeline/metrics"
)

// The Fetch exchange is siemfwd's own code (rawFetch, kafkabatch), so these
// tests hold it to franz-go's kmsg, an independent implementation of the
// protocol: kmsg decodes the request siemfwd sends and lays out the
// response and its record batches, for every Fetch version siemfwd asks a
// broker for.

// kmsgBroker is a connection to a broker that reads one Fetch request with
// kmsg and answers with the response answer returns, laid out by kmsg.
type kmsgBroker struct {
	t      *testing.T
	answer func(*kmsg.FetchRequest) kmsg.FetchResponse
	sent   bytes.Buffer
	reply  *bytes.Reader
	req    *kmsg.FetchRequest // the request read, once the reply is built
}

func (b *kmsgBroker) Write(p []byte) (int, error) { return b.sent.Write(p) }

func (b *kmsgBroker) Read(p []byte) (int, error) {
	if b.reply == nil {
		b.reply = bytes.NewReader(b.respond())
	}
	return b.reply.Read(p)
}

// respond decodes the request sent (header v1, then the body) and returns
// the size-prefixed response.
func (b *kmsgBroker) respond() []byte {
	t := b.t
	msg := b.sent.Bytes()
	require.GreaterOrEqual(t, len(msg), 14, "request header")
	require.Equal(t, len(msg)-4, int(binary.BigEndian.Uint32(msg)), "request size")
	key, version := int16(binary.BigEndian.Uint16(msg[4:])), int16(binary.BigEndian.Uint16(msg[6:]))
	id := binary.BigEndian.Uint32(msg[8:])
	client := int(int16(binary.BigEndian.Uint16(msg[12:])))
	require.Equal(t, kmsg.Fetch.Int16(), key)
	require.GreaterOrEqual(t, len(msg), 14+client)
	b.req = kmsg.NewPtrFetchRequest()
	b.req.Version = version
	require.NoError(t, b.req.ReadFrom(msg[14+client:]), "kmsg reads the request")

	res := b.answer(b.req)
	res.Version = version
	body := binary.BigEndian.AppendUint32(nil, id)
	body = res.AppendTo(body)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// kmsgBatch lays out a record batch with kmsg: Length and CRC are filled in,
// the rest comes from batch; recs get their lengths.
func kmsgBatch(batch kmsg.RecordBatch, recs ...kmsg.Record) []byte {
	batch.Magic = 2
	batch.NumRecords = int32(len(recs))
	batch.LastOffsetDelta = int32(len(recs) - 1)
	batch.Records = nil
	for _, r := range recs {
		r.Length = int32(len(r.AppendTo(nil)) - 1) // a length of 0 takes one byte
		batch.Records = r.AppendTo(batch.Records)
	}
	raw := batch.AppendTo(nil)
	batch.Length = int32(len(raw) - 12) // after the base offset and the length
	batch.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return batch.AppendTo(nil)
}

// fetchedRecord is what a fetched record decodes to.
type fetchedRecord struct {
	offset, time int64
	key, value   []byte
	headers      []kafkabatch.Header
}

const fetchT0 = 1_700_000_000_000 // ms

// wantedRecords is the record set of the partition fetched: a plain batch,
// a transactional batch stamped with the broker's time (and listed as
// aborted in the response), and its commit marker, which the decoder skips.
func wantedRecords() (set []byte, want []fetchedRecord, end int64) {
	set = kmsgBatch(kmsg.RecordBatch{FirstOffset: 10, FirstTimestamp: fetchT0, MaxTimestamp: fetchT0 + 5,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1},
		kmsg.Record{Key: []byte("k1"), Value: []byte("<134>1 first"),
			Headers: []kmsg.Header{{Key: "h", Value: []byte("x")}, {Key: "n"}}},
		kmsg.Record{OffsetDelta: 1, TimestampDelta64: 5, Value: []byte("second")})
	set = append(set, kmsgBatch(kmsg.RecordBatch{FirstOffset: 12, Attributes: 0x10 | 0x08, // transactional, log append time
		FirstTimestamp: fetchT0 + 10, MaxTimestamp: fetchT0 + 20, ProducerID: 9},
		kmsg.Record{TimestampDelta64: 3}, // null key and value
		kmsg.Record{OffsetDelta: 1, Value: []byte("in a transaction")})...)
	set = append(set, kmsgBatch(kmsg.RecordBatch{FirstOffset: 14, Attributes: 0x10 | 0x20, // transactional, control
		FirstTimestamp: fetchT0 + 30, MaxTimestamp: fetchT0 + 30, ProducerID: 9},
		kmsg.Record{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}})...) // commit marker
	want = []fetchedRecord{
		{10, fetchT0, []byte("k1"), []byte("<134>1 first"),
			[]kafkabatch.Header{{Key: []byte("h"), Value: []byte("x")}, {Key: []byte("n")}}},
		{11, fetchT0 + 5, nil, []byte("second"), nil},
		{12, fetchT0 + 20, nil, nil, nil},
		{13, fetchT0 + 20, nil, []byte("in a transaction"), nil},
	}
	return set, want, 15
}

// decodeAll reads every record of set with kafkabatch.
func decodeAll(t *testing.T, set []byte) (recs []fetchedRecord, end int64) {
	t.Helper()
	var d kafkabatch.Decoder
	d.Reset(set)
	for {
		r, err := d.Next()
		if errors.Is(err, io.EOF) {
			return recs, d.End()
		}
		require.NoError(t, err)
		var hs []kafkabatch.Header
		for _, h := range r.Headers {
			hs = append(hs, kafkabatch.Header{Key: bytes.Clone(h.Key), Value: bytes.Clone(h.Value)})
		}
		recs = append(recs, fetchedRecord{r.Offset, r.Time, bytes.Clone(r.Key), bytes.Clone(r.Value), hs})
	}
}

// partitionOf is a response partition with the offsets a broker fills in.
func partitionOf(id int32, code int16, records []byte, aborted []kmsg.FetchResponseTopicPartitionAbortedTransaction) kmsg.FetchResponseTopicPartition {
	p := kmsg.NewFetchResponseTopicPartition()
	p.Partition, p.ErrorCode, p.RecordBatches, p.AbortedTransactions = id, code, records, aborted
	p.HighWatermark, p.LastStableOffset, p.LogStartOffset = 20, 15, 3
	p.PreferredReadReplica = -1
	return p
}

func TestFetchAgreesWithKmsgInEveryVersion(t *testing.T) {
	set, want, end := wantedRecords()
	other := kmsgBatch(kmsg.RecordBatch{FirstOffset: 0, FirstTimestamp: fetchT0, MaxTimestamp: fetchT0,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1}, kmsg.Record{Value: []byte("not this one")})
	aborted := []kmsg.FetchResponseTopicPartitionAbortedTransaction{{ProducerID: 9, FirstOffset: 12}}
	topic := func(name string, parts ...kmsg.FetchResponseTopicPartition) kmsg.FetchResponseTopic {
		tp := kmsg.NewFetchResponseTopic()
		tp.Topic, tp.Partitions = name, parts
		return tp
	}
	cases := []struct {
		name     string
		minVer   int16 // the first version with the fields the case needs
		response kmsg.FetchResponse
		err      error
		records  []fetchedRecord
	}{
		{name: "records among other topics and partitions", minVer: minFetchVersion,
			response: kmsg.FetchResponse{ThrottleMillis: 7, SessionID: 0, Topics: []kmsg.FetchResponseTopic{
				topic("u", partitionOf(3, 0, other, nil)),
				topic("t", partitionOf(1, 0, other, nil), partitionOf(3, 0, set, aborted),
					partitionOf(5, int16(kafkago.NotLeaderForPartition), nil, nil)),
			}}, records: want},
		{name: "partition error", minVer: minFetchVersion,
			response: kmsg.FetchResponse{Topics: []kmsg.FetchResponseTopic{
				topic("t", partitionOf(3, int16(kafkago.OffsetOutOfRange), nil, nil))}},
			err: kafkago.OffsetOutOfRange},
		{name: "empty record set", minVer: minFetchVersion,
			response: kmsg.FetchResponse{Topics: []kmsg.FetchResponseTopic{topic("t", partitionOf(3, 0, []byte{}, nil))}}},
		{name: "partition missing", minVer: minFetchVersion,
			response: kmsg.FetchResponse{Topics: []kmsg.FetchResponseTopic{topic("t", partitionOf(4, 0, other, nil))}},
			err:      kafkago.UnknownTopicOrPartition},
		{name: "topic missing", minVer: minFetchVersion,
			response: kmsg.FetchResponse{Topics: []kmsg.FetchResponseTopic{topic("u", partitionOf(3, 0, other, nil))}},
			err:      kafkago.UnknownTopicOrPartition},
		{name: "request error", minVer: 7, // the top-level error code
			response: kmsg.FetchResponse{ErrorCode: int16(kafkago.TopicAuthorizationFailed)},
			err:      kafkago.TopicAuthorizationFailed},
	}
	src, err := New("k", testConfig([]string{"127.0.0.1:1"}, "t", "g"), nil, metrics.New(), NewMetrics())
	require.NoError(t, err)
	f := fetcher{s: src, p: &partition{topic: "t", id: 3}}
	for v := int16(minFetchVersion); v <= maxFetchVersion; v++ {
		for _, tc := range cases {
			if v < tc.minVer {
				continue
			}
			t.Run(fmt.Sprintf("v%d/%s", v, tc.name), func(t *testing.T) {
				conn := &kmsgBroker{t: t, answer: func(*kmsg.FetchRequest) kmsg.FetchResponse { return tc.response }}
				r := &rawFetch{clientID: clientID, version: v, req: f.request(42)}
				res, err := r.RawExchange(conn)
				require.NoError(t, err)
				assertFetchRequest(t, conn.req, src.cfg.FetchMaxBytes)

				got := res.(*fetchResult)
				if tc.err != nil {
					require.ErrorIs(t, got.err, tc.err)
					return
				}
				require.NoError(t, got.err)
				recs, gotEnd := decodeAll(t, got.records)
				assert.Equal(t, tc.records, recs)
				if tc.records != nil {
					assert.Equal(t, end, gotEnd, "the offset after the commit marker")
				}
			})
		}
	}
}

// assertFetchRequest checks the request kmsg read: one partition, from the
// offset asked, read_uncommitted (so no aborted transactions to filter).
func assertFetchRequest(t *testing.T, req *kmsg.FetchRequest, maxBytes int) {
	t.Helper()
	assert.EqualValues(t, -1, req.ReplicaID)
	assert.EqualValues(t, maxBytes, req.MaxBytes)
	assert.EqualValues(t, 0, req.IsolationLevel, "read_uncommitted")
	require.Len(t, req.Topics, 1)
	assert.Equal(t, "t", req.Topics[0].Topic)
	require.Len(t, req.Topics[0].Partitions, 1)
	p := req.Topics[0].Partitions[0]
	assert.EqualValues(t, 3, p.Partition)
	assert.EqualValues(t, 42, p.FetchOffset)
	assert.EqualValues(t, maxBytes, p.PartitionMaxBytes)
}

// A response cut anywhere is an error in every version, never a short
// record set taken for the whole.
func TestFetchCutShortIsAnError(t *testing.T) {
	set, _, _ := wantedRecords()
	for v := int16(minFetchVersion); v <= maxFetchVersion; v++ {
		p := kmsg.NewFetchResponseTopic()
		p.Topic = "t"
		p.Partitions = []kmsg.FetchResponseTopicPartition{partitionOf(3, 0, set, nil)}
		res := kmsg.FetchResponse{Version: v, Topics: []kmsg.FetchResponseTopic{p}}
		full := res.AppendTo(binary.BigEndian.AppendUint32(nil, 7))
		req := rawFetch{version: v, id: 7}
		req.req.Topics = []fetch.RequestTopic{{Topic: "t", Partitions: []fetch.RequestPartition{{Partition: 3}}}}
		req.buf = full
		require.NoError(t, req.parse(), "v%d whole", v)
		for n := range len(full) {
			req.buf = full[:n]
			assert.Error(t, req.parse(), "v%d cut at %d of %d", v, n, len(full))
		}
	}
}

// A broker that answers Fetch below v4 only is refused before anything is
// sent: those versions lay out partitions differently.
func TestFetchBelowV4IsRefused(t *testing.T) {
	conn := &kmsgBroker{t: t}
	r := &rawFetch{version: minFetchVersion - 1}
	_, err := r.RawExchange(conn)
	require.ErrorContains(t, err, "v4 is needed")
	assert.Zero(t, conn.sent.Len())
}
