package poll

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that records a failure instead of stopping the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	Until(t, time.Minute, "three calls", func() bool { calls++; return calls == 3 })
	require.Equal(t, 3, calls)
}

func TestUntilOKFailsWithTheLastAnswer(t *testing.T) {
	r := &recorder{TB: t}
	calls := 0
	UntilOK(r, 0, func() string { calls++; return fmt.Sprintf("answer %d", calls) })
	require.Equal(t, 1, calls, "past the deadline, it checks once and fails")
	require.True(t, strings.HasSuffix(r.failed, "answer 1"), r.failed)
}

func TestUntilNamesWhatItWaitedFor(t *testing.T) {
	r := &recorder{TB: t}
	Until(r, 0, "the listener", func() bool { return false })
	require.Equal(t, "not within 0s: the listener", r.failed)
}
