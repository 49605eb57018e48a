package kafka

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/corpus"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/process"
)

// readCorpus reads every Kerio corpus of testdata/kerio.
func readCorpus(t testing.TB) []corpus.Line {
	t.Helper()
	return corpus.Read(t, filepath.Join("..", "..", "testdata", "kerio"), corpus.Files...)
}

// edgeEvent is the event an edge's source would hand over for a corpus
// line: a syslog message from a UDP sender with a profile, or a file line.
func edgeEvent(l corpus.Line, loc *time.Location) *pipeline.Event {
	o := &pipeline.Origin{Source: "edge_files", Transport: "file", Format: pipeline.FormatLine, Location: loc,
		FilePath: "/var/log/kerio/" + strings.ReplaceAll(l.Log, ".", "/") + ".log"}
	if l.Format != "" {
		o = &pipeline.Origin{Source: "edge_udp", Transport: "udp", Format: pipeline.FormatSyslog, Location: loc,
			Profile: "mailhub", Dataset: "", Observer: pipeline.Observer{Name: "mx01", Vendor: "Kerio", Product: "Connect", Type: "mail"},
			Labels: []pipeline.Label{{Key: "site", Value: "prague"}, {Key: "rack", Value: "b2"}}, ClockSkew: time.Hour}
	}
	o.Product, o.Log = l.ProductLog()
	ev := &pipeline.Event{Raw: []byte(l.Raw), Origin: o,
		Received: time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC), Offset: 4242}
	if o.FilePath == "" {
		ev.Peer = netip.MustParseAddrPort("192.0.2.7:40000")
		ev.Offset = 0
	}
	return ev
}

func newProcessor() *process.ECSProcessor {
	return process.NewECSProcessor(process.ProcessOptions{KeepOriginal: true, Namespace: "prod",
		AgentName: "siemfwd-test", AgentVersion: "test"}, metrics.New())
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}
