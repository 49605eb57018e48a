package kafkabatch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchMessages covers what records can hold: no key, an empty header
// value, times out of order, values of several sizes.
func batchMessages() []kafkago.Message {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	var msgs []kafkago.Message
	for i := range 300 {
		m := kafkago.Message{
			Value:   bytes.Repeat([]byte(fmt.Sprintf(`{"seq":%d}`, i)), 1+i%50),
			Time:    t0.Add(time.Duration(i%7-3) * time.Second),
			Headers: []kafkago.Header{{Key: "event.dataset", Value: []byte("kerio_connect.mail")}, {Key: "siemfwd.source", Value: []byte{}}},
		}
		if i%3 != 0 {
			m.Key = []byte(fmt.Sprintf("10.0.0.%d", i%5))
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// The uncompressed batch is byte for byte what kafka-go's own encoder makes.
func TestEncoderMatchesKafkaGoUncompressed(t *testing.T) {
	msgs := batchMessages()
	order := []int{5, 0, 299, 17}
	rd, err := NewEncoder(0).Encode(msgs, order)
	require.NoError(t, err)
	got, err := io.ReadAll(rd)
	require.NoError(t, err)
	want := kafkaGoBatch(t, 0, msgs, order, 0)
	require.Len(t, got, 4+len(want), "a 4-byte size, then the batch")
	assert.Equal(t, uint32(len(want)), binary.BigEndian.Uint32(got))
	assert.Equal(t, want, got[4:])
}

// With every codec, kafka-go's decoder reads back the records, in order,
// from an encoder reused between batches.
func TestEncoderRoundTripsEveryCodec(t *testing.T) {
	msgs := batchMessages()
	for _, c := range []kafkago.Compression{0, kafkago.Gzip, kafkago.Snappy, kafkago.Lz4, kafkago.Zstd} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			e := NewEncoder(c)
			for _, order := range [][]int{{0, 1, 2, 3, 4, 5, 6}, {299, 3, 150, 42}} {
				rd, err := e.Encode(msgs, order)
				require.NoError(t, err)
				var rs protocol.RecordSet
				_, err = rs.ReadFrom(rd)
				require.NoError(t, err)
				assert.Equal(t, c, kafkago.Compression(rs.Attributes.Compression()))
				for _, k := range order {
					r, err := rs.Records.ReadRecord()
					require.NoError(t, err)
					m := msgs[k]
					assert.True(t, r.Time.Equal(m.Time), "time %s, want %s", r.Time, m.Time)
					if m.Key == nil {
						assert.Nil(t, r.Key)
					} else {
						key, err := protocol.ReadAll(r.Key)
						require.NoError(t, err)
						assert.Equal(t, m.Key, key)
					}
					value, err := protocol.ReadAll(r.Value)
					require.NoError(t, err)
					assert.Equal(t, m.Value, value)
					assert.Equal(t, m.Headers, r.Headers)
				}
				_, err = rs.Records.ReadRecord()
				assert.ErrorIs(t, err, io.EOF)
			}
		})
	}
}
