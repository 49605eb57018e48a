package kafka

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrackerCommitsOnlyContiguousAcks(t *testing.T) {
	tr := newTracker(100)
	a := tr.add(110) // [100,110)
	b := tr.add(120) // [110,120)
	c := tr.add(135) // [120,135): offsets without events inside
	assert.EqualValues(t, 100, tr.position())

	tr.ack(c)
	assert.EqualValues(t, 100, tr.position(), "c waits for a and b")
	tr.ack(a)
	assert.EqualValues(t, 110, tr.position())
	tr.ack(b)
	assert.EqualValues(t, 135, tr.position(), "b completes the run up to c's end")
	assert.Empty(t, tr.pending)
}

func TestTrackerSkipAbandonReset(t *testing.T) {
	tr := newTracker(0)
	tr.skip(5) // markers only, nothing in flight
	assert.EqualValues(t, 5, tr.position())

	a := tr.add(10)
	tr.skip(12) // skipped offsets join the last batch in flight
	tr.ack(a)
	assert.EqualValues(t, 12, tr.position())

	b := tr.add(20)
	tr.abandon(b) // never sent
	assert.Empty(t, tr.pending)
	assert.EqualValues(t, 12, tr.position())
	c := tr.add(20) // sent again later, from where b started
	tr.ack(c)
	assert.EqualValues(t, 20, tr.position())

	d := tr.add(30)
	tr.reset(15) // the log was truncated below us
	assert.EqualValues(t, 15, tr.position())
	tr.ack(d) // a late ack of a forgotten batch moves nothing
	assert.EqualValues(t, 15, tr.position())
}

func TestTrackerConcurrentAcksInAnyOrder(t *testing.T) {
	const n = 2000
	tr := newTracker(0)
	entries := make([]*entry, n)
	for i := range entries {
		entries[i] = tr.add(int64(i+1) * 10)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(n, func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				tr.ack(entries[i])
				_ = tr.position()
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, n*10, tr.position())
}
