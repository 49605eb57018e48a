package deadletter

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
)

func TestRefusedEventsAreAppendedWithTheReason(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dlq", "refused.ndjson")
	d := NewFile(Config{Path: path, MaxBytes: 1 << 20})
	require.NoError(t, d.Start(t.Context()))
	d.now = func() time.Time { return time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC) }
	events := []*pipeline.Event{
		{Raw: []byte("<13>1 - h app - - - one"), JSON: []byte(`{"message":"one"}`)},
		{Raw: []byte("caf\xe9"), JSON: []byte(`{"message":"two"}`)},
	}
	require.NoError(t, d.DeadLetter(t.Context(), "es", events, errors.New("mapper_parsing_exception: source.ip")))
	require.NoError(t, d.DeadLetter(t.Context(), "kafka", events[:1], errors.New("too large")))
	require.NoError(t, d.Close(t.Context()))

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var got []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		got = append(got, m)
	}
	require.Len(t, got, 3)
	require.Equal(t, "2026-03-14T09:00:00Z", got[0]["@timestamp"])
	require.Equal(t, map[string]any{"sink": "es", "error": "mapper_parsing_exception: source.ip"}, got[0]["siemfwd"])
	require.Equal(t, map[string]any{"original": "<13>1 - h app - - - one"}, got[0]["event"])
	require.Equal(t, map[string]any{"message": "one"}, got[0]["document"])
	require.Equal(t, map[string]any{"original": "café"}, got[1]["event"])
	require.Equal(t, "kafka", got[2]["siemfwd"].(map[string]any)["sink"])
}

func TestAFullFileRefusesInsteadOfGrowing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refused.ndjson")
	d := NewFile(Config{Path: path, MaxBytes: 200})
	require.NoError(t, d.Start(t.Context()))
	ev := &pipeline.Event{Raw: []byte("a message of some length"), JSON: []byte(`{"message":"a message of some length"}`)}
	require.NoError(t, d.DeadLetter(t.Context(), "s", []*pipeline.Event{ev}, errors.New("x")))
	err := d.DeadLetter(t.Context(), "s", []*pipeline.Event{ev, ev}, errors.New("x"))
	require.ErrorIs(t, err, ErrFull)
	require.NoError(t, d.Close(t.Context()))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.LessOrEqual(t, st.Size(), int64(200))
}

func TestConfigErrors(t *testing.T) {
	err := Config{}.Validate()
	require.ErrorContains(t, err, "path: required")
	require.ErrorContains(t, err, "max_bytes: must be > 0")
	require.NoError(t, Config{Path: "x", MaxBytes: 1}.Validate())
}
