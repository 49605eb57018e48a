package syslog

import (
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
)

const identicalLine = "<38>1 2026-12-07T10:00:00Z fw01 sshd 42 - - Failed password for root from 192.0.2.7\n"

// distinctIDs asserts that every event has an id of the id alphabet and
// that no two share one.
func distinctIDs(t *testing.T, evs []*pipeline.Event) {
	t.Helper()
	seen := map[string]bool{}
	for i, ev := range evs {
		require.True(t, pipeline.ValidID([]byte(ev.ID)), "event %d: id %q", i, ev.ID)
		require.False(t, seen[ev.ID], "event %d: id %s given twice", i, ev.ID)
		seen[ev.ID] = true
	}
}

func TestIdenticalLinesInOneTCPWriteAreDistinctEvents(t *testing.T) {
	h := start(t, tcpConfig(), 64)
	c := h.dial(t)
	_, err := c.Write([]byte(strings.Repeat(identicalLine, 10)))
	require.NoError(t, err)
	evs := h.events(t, 10)
	distinctIDs(t, evs)
	for i, ev := range evs {
		assert.Equal(t, evs[0].ID[:21], ev.ID[:21], "one connection, one scope")
		assert.True(t, strings.HasSuffix(ev.ID, "."+string(rune('0'+i))), "frame ordinal %d in %s", i, ev.ID)
		assert.Equal(t, evs[0].Received, ev.Received, "one read, one receive time: the id cannot come from it")
	}

	// A second connection from the same sender gets another scope.
	c2 := h.dial(t)
	_, err = c2.Write([]byte(identicalLine))
	require.NoError(t, err)
	next := h.events(t, 1)
	assert.NotEqual(t, evs[0].ID[:21], next[0].ID[:21])
	distinctIDs(t, append(evs, next...))
}

func TestIdenticalDatagramsInABurstAreDistinctEvents(t *testing.T) {
	cfg := udpConfig()
	cfg.Readers = 2
	h := start(t, cfg, 64)
	c, err := net.Dial("udp", h.src.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	for range 20 {
		_, err := c.Write([]byte(identicalLine))
		require.NoError(t, err)
	}
	distinctIDs(t, h.events(t, 20))
}

func TestTwoSourceStartsNeverShareIDs(t *testing.T) {
	// The same first frame of the first connection of a source named
	// alike, in two runs: the session keeps the ids apart.
	var ids []string
	for range 2 {
		h := start(t, tcpConfig(), 4)
		_, err := h.dial(t).Write([]byte(identicalLine))
		require.NoError(t, err)
		ids = append(ids, h.events(t, 1)[0].ID)
		h.stop()
	}
	assert.NotEqual(t, ids[0], ids[1])
}

func TestTLSFramesGetConnectionIDs(t *testing.T) {
	p := newPKI(t)
	h := start(t, p.config(ClientAuthNone), 64)
	c := dialTLS(t, h.src.Addr().String(), p.clientConfig(nil))
	_, err := c.Write([]byte(strings.Repeat(identicalLine, 3)))
	require.NoError(t, err)
	distinctIDs(t, h.events(t, 3))
}
