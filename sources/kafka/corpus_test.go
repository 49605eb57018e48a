package kafka

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// corpusLine is one line of testdata/kerio/*.jsonl (only what these tests use).
type corpusLine struct {
	ID     string `json:"id"`
	Log    string `json:"log"`
	Format string `json:"format"`
	Raw    string `json:"raw"`
}

// corpus reads the shared Kerio corpora: file lines and syslog messages.
func corpus(t testing.TB) []corpusLine {
	t.Helper()
	var lines []corpusLine
	for _, name := range []string{"dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl"} {
		f, err := os.Open(filepath.Join("..", "..", "testdata", "kerio", name))
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l corpusLine
			require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
			lines = append(lines, l)
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	require.NotEmpty(t, lines)
	return lines
}

// edgeEvent is the event an edge's source would hand over for a corpus
// line: a syslog message from a UDP sender with a profile, or a file line.
func (l corpusLine) edgeEvent(loc *time.Location) *pipeline.Event {
	o := &pipeline.Origin{Source: "edge_files", Transport: "file", Format: pipeline.FormatLine, Location: loc,
		FilePath: "/var/log/kerio/" + strings.ReplaceAll(l.Log, ".", "/") + ".log"}
	if l.Format != "" {
		o = &pipeline.Origin{Source: "edge_udp", Transport: "udp", Format: pipeline.FormatSyslog, Location: loc,
			Profile: "mailhub", Dataset: "", Observer: pipeline.Observer{Name: "mx01", Vendor: "Kerio", Product: "Connect", Type: "mail"},
			Labels: []pipeline.Label{{Key: "site", Value: "prague"}, {Key: "rack", Value: "b2"}}, ClockSkew: time.Hour}
	}
	product, log, _ := strings.Cut(l.Log, ".")
	switch product {
	case "connect":
		o.Product = "kerio_connect"
	case "control":
		o.Product = "kerio_control"
	}
	o.Log = log
	ev := &pipeline.Event{Raw: []byte(l.Raw), Origin: o,
		Received: time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC), Offset: 4242}
	if o.FilePath == "" {
		ev.Peer = netip.MustParseAddrPort("192.0.2.7:40000")
		ev.Offset = 0
	}
	return ev
}

func newProcessor() *pipeline.ECSProcessor {
	return pipeline.NewECSProcessor(pipeline.ProcessOptions{KeepOriginal: true, Namespace: "prod",
		AgentName: "siemfwd-test", AgentVersion: "test"}, metrics.New())
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}
