package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
)

func ids(evs []*pipeline.Event) []string {
	s := make([]string, len(evs))
	for i, ev := range evs {
		s[i] = ev.ID
	}
	return s
}

func TestIdenticalLinesGetDistinctIDsThatARestartKeeps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	content := strings.Repeat("[07/Dec/2026 10:00:00] Failed login of root from 192.0.2.7\n", 5)
	writeFile(t, path, content)
	cfg := testConfig(t, dir)
	cfg.DrainTimeout = time.Millisecond
	h := start(t, cfg, true) // holds acks: nothing is committed
	first := ids(h.waitEvents(5))
	require.NoError(t, h.stop())
	seen := map[string]bool{}
	for _, id := range first {
		require.True(t, pipeline.ValidID([]byte(id)), id)
		require.False(t, seen[id], "identical lines are distinct events: %v", first)
		seen[id] = true
	}

	// The restart reads the unacknowledged lines again: the same events,
	// the same ids.
	cfg.DrainTimeout = patience
	h2 := start(t, cfg, false)
	require.Equal(t, first, ids(h2.waitEvents(5)))
	require.NoError(t, h2.stop())
}

func TestIDsSurviveTheFingerprintGrowing(t *testing.T) {
	// A short file's fingerprint grows with it; its ids must not change.
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "ab\n")
	cfg := testConfig(t, dir)
	cfg.FingerprintBytes = 16
	cfg.DrainTimeout = time.Millisecond
	h := start(t, cfg, true)
	first := ids(h.waitEvents(1))
	appendFile(t, path, numbered("more", 0, 3)) // past the fingerprint
	more := ids(h.waitEvents(4)[1:])
	require.NoError(t, h.stop())

	cfg.DrainTimeout = patience
	h2 := start(t, cfg, false)
	require.Equal(t, append(first, more...), ids(h2.waitEvents(4)))
	require.NoError(t, h2.stop())
}

func TestTruncatedFileGetsNewIDsAtOldOffsets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	line := "[07/Dec/2026 10:00:00] same line\n"
	writeFile(t, path, strings.Repeat(line, 3))
	cfg := testConfig(t, dir)
	cfg.FingerprintBytes = 8
	h := start(t, cfg, false)
	before := h.waitEvents(3)
	require.NoError(t, os.Truncate(path, 0))
	appendFile(t, path, line)
	after := h.waitEvents(4)[3]
	require.Equal(t, before[0].Offset, after.Offset, "the same offset")
	assert.NotEqual(t, before[0].ID, after.ID, "new content, new event")
	require.NoError(t, h.stop())
}
