package kafka

import (
	"net/netip"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"siemfwd/kafka/kafkaedge"
	"siemfwd/parse/charset"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// A raw source's charset reaches its records' origin, edge records included
// (an edge does not say which code page its senders use).
func TestCharsetReachesRawAndEdgeOrigins(t *testing.T) {
	c := validConfig()
	require.Equal(t, "utf-8", c.Charset)
	c.Charset = "windows-1250"
	s, err := New("k", c, nil, metrics.New(), NewMetrics())
	require.NoError(t, err)
	require.Equal(t, "windows-1250", s.raw.Charset)

	edge := &pipeline.Origin{Source: "edge", Transport: "udp", Location: time.UTC}
	got := &pipeline.Event{}
	ok, err := kafkaedge.NewDecoder(s.raw).Apply(got, kafkaedge.Headers(&pipeline.Event{Origin: edge,
		Received: time.Unix(1, 0), Peer: netip.MustParseAddrPort("192.0.2.1:1")}))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "windows-1250", got.Origin.Charset)

	c.Charset = "klingon"
	require.ErrorContains(t, c.Validate(), `charset: unknown character set "klingon"`)
}

// An edge whose source or sender profile names a charset sends it: the
// indexer decodes that sender's text as the edge would have.
func TestEdgeCharsetReachesTheIndexer(t *testing.T) {
	edge := &pipeline.Origin{Source: "edge", Transport: "udp", Location: time.UTC, Charset: "cp1250"}
	hs := kafkaedge.Headers(&pipeline.Event{Origin: edge, Received: time.Unix(1, 0)})
	require.Contains(t, string(hs[0].Value), "&charset=windows-1250", "by its IANA name")

	got := &pipeline.Event{}
	ok, err := kafkaedge.NewDecoder(&pipeline.Origin{Source: "k", Location: time.UTC, Charset: "windows-1252"}).Apply(got, hs)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "windows-1250", got.Origin.Charset)
	cs, err := charset.Lookup(got.Origin.Charset)
	require.NoError(t, err)
	text, _ := charset.Decode([]byte("P\xf8ihl\xe1\x9aen\xed"), cs)
	require.Equal(t, "Přihlášení", string(text))

	bad := []kafkago.Header{{Key: kafkaedge.HeaderEdge, Value: []byte("received=1970-01-01T00:00:01Z&source=edge&charset=klingon")}}
	got = &pipeline.Event{}
	_, err = kafkaedge.NewDecoder(&pipeline.Origin{Source: "k", Location: time.UTC, Charset: "windows-1252"}).Apply(got, bad)
	require.ErrorContains(t, err, `charset: unknown character set "klingon"`)
	require.Equal(t, "windows-1252", got.Origin.Charset, "the indexer's own charset stands in")
}
