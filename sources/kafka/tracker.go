package kafka

import "sync"

// tracker is the checkpoint of one partition in one generation: the batches
// sent downstream, in offset order, and how far from the start every one
// is acknowledged. The batches cover the offsets without gaps: each starts
// where the previous one ended, so offsets that carry no event (compacted
// away, transaction markers) belong to a neighbour and are committed with it.
//
// The fetcher adds and abandons batches; acks come from any goroutine. A
// tracker outlives its generation only as garbage: late acks change it,
// nobody reads it any more.
type tracker struct {
	mu      sync.Mutex
	done    int64    // every offset below is acknowledged: the position to commit
	pending []*entry // sent, in offset order; pending[0] is not done
}

// entry is one batch's range of offsets, [start, end).
type entry struct {
	end  int64
	done bool
}

func newTracker(start int64) *tracker { return &tracker{done: start} }

// add registers the batch that ends at end (exclusive) and starts where the
// last one ended. Call it before the batch is sent: its ack may come at once.
func (t *tracker) add(end int64) *entry {
	e := &entry{end: end}
	t.mu.Lock()
	t.pending = append(t.pending, e)
	t.mu.Unlock()
	return e
}

// skip moves the end of what was read to end without a batch: offsets
// that hold no event.
func (t *tracker) skip(end int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.pending); n > 0 {
		if end > t.pending[n-1].end {
			t.pending[n-1].end = end
		}
		return
	}
	if end > t.done {
		t.done = end
	}
}

// reset restarts the checkpoint at start, below what was read (a log
// truncated under the reader). Batches in flight are forgotten: their
// acks no longer move the position.
func (t *tracker) reset(start int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.pending)
	t.pending = t.pending[:0]
	t.done = start
}

// abandon drops e, the last batch added, which was never sent.
func (t *tracker) abandon(e *entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.pending); n > 0 && t.pending[n-1] == e {
		t.pending[n-1] = nil
		t.pending = t.pending[:n-1]
	}
}

// ack marks e acknowledged and moves the position past every acknowledged
// batch at the front.
func (t *tracker) ack(e *entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.done = true
	i := 0
	for i < len(t.pending) && t.pending[i].done {
		t.done = t.pending[i].end
		i++
	}
	if i > 0 {
		n := copy(t.pending, t.pending[i:])
		clear(t.pending[n:])
		t.pending = t.pending[:n]
	}
}

// position returns the offset to commit: the first one not acknowledged.
func (t *tracker) position() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done
}
