// Package poll waits, in tests, for a condition to hold: it checks the
// condition again and again until it holds or a deadline passes, then fails
// the test naming what it waited for. Polling a condition with a bounded
// deadline keeps a test independent of the machine's speed, where sleeping a
// guessed time does not. Only tests import it.
package poll

import (
	"testing"
	"time"
)

// The pause between two checks doubles from firstPause up to maxPause: a
// condition that holds at once costs next to nothing, and a slow one (an
// HTTP round trip, a scan of a broker) is not hammered.
const (
	firstPause = time.Millisecond
	maxPause   = 50 * time.Millisecond
)

// Until calls cond until it returns true; it fails t after within, saying
// what it waited for. cond runs on the test's goroutine, so it may use t
// (require, t.Fatal) to stop at an answer that can never change.
func Until(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	UntilOK(t, within, func() string {
		if cond() {
			return ""
		}
		return what
	})
}

// UntilOK calls cond until it returns ""; any other answer says what is not
// there yet. It fails t after within with cond's last answer.
func UntilOK(t testing.TB, within time.Duration, cond func() (missing string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	pause := firstPause
	for {
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, missing)
			return
		}
		timer := time.NewTimer(pause)
		<-timer.C
		pause = min(2*pause, maxPause)
	}
}
