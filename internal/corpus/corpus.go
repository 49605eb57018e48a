// Package corpus reads the labelled Kerio lines of testdata/kerio (the
// contract of docs/kerio.md §6.6) for tests, and builds the event a source would
// hand over for each. Only tests import it.
package corpus

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"siemfwd/pipeline"
)

// Files are the corpora every consumer of the whole corpus reads.
var Files = []string{"dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl"}

// Line is one labelled line.
type Line struct {
	ID         string         `json:"id"`
	Log        string         `json:"log"`         // product.log, e.g. "connect.security"
	Format     string         `json:"format"`      // the syslog format of a wrapped line; "" for a file line
	ReceivedAt string         `json:"received_at"` // RFC 3339; "" = the default receive time
	Raw        string         `json:"raw"`
	Expected   map[string]any `json:"expected"` // field → value; nil = must be absent
}

// Read reads the named files of dir, the testdata/kerio directory as seen
// from the calling test's package.
func Read(t testing.TB, dir string, names ...string) []Line {
	t.Helper()
	var lines []Line
	for _, name := range names {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			lines = append(lines, l)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("no corpus lines in %v", names)
	}
	return lines
}

// Received is the receive time of lines that do not name one.
var Received = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// Event builds the event a source would hand over for l: a syslog message
// from a UDP sender for a wrapped line, a file line otherwise, with the
// product and the log hint taken from l.Log.
func (l Line) Event() *pipeline.Event {
	o := &pipeline.Origin{Source: "test", Location: time.UTC, Format: pipeline.FormatLine, Transport: "file"}
	if l.Format != "" {
		o.Format, o.Transport = pipeline.FormatSyslog, "udp"
	}
	o.Product, o.Log = l.ProductLog()
	received := Received
	if l.ReceivedAt != "" {
		received, _ = time.Parse(time.RFC3339, l.ReceivedAt)
	}
	return &pipeline.Event{Raw: []byte(l.Raw), Origin: o, Received: received,
		Peer: netip.MustParseAddrPort("192.0.2.7:40000")}
}

// ProductLog splits l.Log into siemfwd's product name and the log name.
// The corpus's "unknown" lines came from a Kerio stream whose product and
// log nobody named (docs/kerio.md §6.6: log is input context), which a source says
// with product "kerio".
func (l Line) ProductLog() (product, log string) {
	p, log, _ := strings.Cut(l.Log, ".")
	switch p {
	case "connect":
		product = "kerio_connect"
	case "control":
		product = "kerio_control"
	case "unknown":
		product = "kerio"
	}
	return product, log
}
