package conservation

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
)

// Framing scenarios of issue 13 (findings 4 and 9), against the real binary
// with a TCP source and a stdout sink.

// startTCPStdout runs siemfwd with one TCP syslog source printing ECS JSON.
func startTCPStdout(t *testing.T) *Proc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "siemfwd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`log: {level: info, format: json}
sources:
  tcp:
    type: syslog
    protocol: tcp
    address: 127.0.0.1:0
sinks:
  console:
    type: stdout
`), 0o600))
	return Start(t, path, nil)
}

// stdoutDoc is what these scenarios read of a printed event.
type stdoutDoc struct {
	Message string   `json:"message"`
	Tags    []string `json:"tags"`
	Event   struct {
		Created  time.Time `json:"created"`
		Original string    `json:"original"`
	} `json:"event"`
}

func stdoutDocs(t *testing.T, p *Proc) []stdoutDoc {
	t.Helper()
	var out []stdoutDoc
	for _, l := range p.Stdout() {
		var d stdoutDoc
		require.NoError(t, json.Unmarshal([]byte(l), &d), l)
		out = append(out, d)
	}
	return out
}

// TestLyingOctetCount: a count that lies ("30000" for a short message) is
// followed by valid octet-counted frames. Every valid frame's marker arrives
// as its own event, once; the lying frame arrives tagged _bad_frame and is
// counted. Before the fix all of them were one event.
func TestLyingOctetCount(t *testing.T) {
	p := startTCPStdout(t)
	markers := Markers("lyingcount", 300)
	var b strings.Builder
	b.WriteString("30000 <13>1 - h app - - - lying frame")
	for _, m := range markers {
		l := Line(m)
		b.WriteString(strconv.Itoa(len(l)) + " " + l)
	}
	c, err := net.DialTimeout("tcp", p.Listen["tcp"], 10*time.Second)
	require.NoError(t, err)
	_, err = c.Write([]byte(b.String()))
	require.NoError(t, err)
	require.NoError(t, c.Close())

	poll.UntilOK(t, patience, func() string {
		if n := len(p.Stdout()); n < len(markers)+1 {
			return fmt.Sprintf("%d of %d events", n, len(markers)+1)
		}
		return ""
	})
	docs := stdoutDocs(t, p)
	require.Len(t, docs, len(markers)+1)
	count := map[string]int{}
	bad := 0
	for _, d := range docs {
		if slices.Contains(d.Tags, "_bad_frame") {
			bad++
			require.Equal(t, "<13>1 - h app - - - lying frame", d.Event.Original)
			continue
		}
		count[d.Message[strings.LastIndexByte(d.Message, ' ')+1:]]++
	}
	for _, m := range markers {
		require.Equal(t, 1, count[m], "marker %s", m)
	}
	require.Equal(t, 1, bad)
	require.Equal(t, 1.0, p.Metric("siemfwd_parse_failures_total", map[string]string{"source": "tcp", "format": "bad_frame"}))
	require.Equal(t, 0, p.Stop())
}

// TestSplitFrameReceiveTime: line 1 and the start of line 2 arrive, then,
// after a pause, the rest of line 2 and line 3. Lines 2 and 3 were received
// when their last bytes arrived, so never before the second write began.
// Before the fix both carried the time of the first read.
func TestSplitFrameReceiveTime(t *testing.T) {
	p := startTCPStdout(t)
	c, err := net.DialTimeout("tcp", p.Listen["tcp"], 10*time.Second)
	require.NoError(t, err)
	defer c.Close()
	l1, l2, l3 := Line("splitone"), Line("splittwo"), Line("splitthree")
	first := l1 + "\n" + l2[:40]
	_, err = c.Write([]byte(first))
	require.NoError(t, err)
	time.Sleep(time.Second) // the scenario's pause between the reads, not a synchronisation
	second := time.Now()
	_, err = c.Write([]byte(l2[40:] + "\n" + l3 + "\n"))
	require.NoError(t, err)
	poll.UntilOK(t, patience, func() string {
		if n := len(p.Stdout()); n < 3 {
			return fmt.Sprintf("%d of 3 events", n)
		}
		return ""
	})
	docs := stdoutDocs(t, p)
	require.Len(t, docs, 3)
	for _, d := range docs[1:] {
		require.False(t, d.Event.Created.Before(second), "%s received at %s, before its last bytes were sent at %s",
			d.Message, d.Event.Created, second)
	}
	require.True(t, docs[0].Event.Created.Before(second), "line 1 was complete in the first read")
	require.Equal(t, 0, p.Stop())
}
