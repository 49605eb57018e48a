package confcheck

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNoProblemIsNil(t *testing.T) {
	var p Problems
	p.Positive("linger", time.Second)
	p.Under("buffer", nil)
	require.NoError(t, p.Err())
	require.NoError(t, Under("sinks.es", nil))
	require.Nil(t, List(nil))
}

func TestEveryProblemNamesItsFullKeyAndReason(t *testing.T) {
	var buffer Problems
	buffer.Add("max_bytes", "must be > 0, got %d", 0)
	buffer.Add("sync", "must be %q or %q, got %q", "batch", "interval", "never")

	var sink Problems
	sink.Positive("retry_initial", 0)
	sink.Under("buffer", buffer.Err())

	err := Under("sinks.es", sink.Err())
	var got []string
	for _, e := range List(err) {
		got = append(got, e.Error())
	}
	require.Equal(t, []string{
		"sinks.es.retry_initial: must be > 0, got 0s",
		"sinks.es.buffer.max_bytes: must be > 0, got 0",
		`sinks.es.buffer.sync: must be "batch" or "interval", got "never"`,
	}, got)
}

func TestUnderKeepsTheCause(t *testing.T) {
	cause := errors.New("path: required")
	require.ErrorIs(t, Under("dead_letter.file", cause), cause)
}
