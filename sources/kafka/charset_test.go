package kafka

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/kafka/kafkaedge"
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
	require.NotNil(t, s.raw.Charset)

	edge := &pipeline.Origin{Source: "edge", Transport: "udp", Location: time.UTC}
	got := &pipeline.Event{}
	ok, err := kafkaedge.NewDecoder(s.raw).Apply(got, kafkaedge.Headers(&pipeline.Event{Origin: edge,
		Received: time.Unix(1, 0), Peer: netip.MustParseAddrPort("192.0.2.1:1")}))
	require.NoError(t, err)
	require.True(t, ok)
	require.Same(t, s.raw.Charset, got.Origin.Charset)

	c.Charset = "klingon"
	require.ErrorContains(t, c.Validate(), `charset: unknown character set "klingon"`)
}
