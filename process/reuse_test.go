package process_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/process"
)

// processBatch processes n events into a batch the way a worker does and
// returns them with the batch's release.
func processBatch(p pipeline.Reuser, o *pipeline.Origin, first, n int) ([]*pipeline.Event, func()) {
	events := make([]*pipeline.Event, n)
	for i := range events {
		events[i] = &pipeline.Event{Raw: fmt.Appendf(nil, "<13>1 2026-12-08T03:00:00Z host app - - - event %06d", first+i),
			Origin: o, Received: time.Date(2026, 12, 8, 3, 0, 1, 0, time.UTC)}
		p.Process(events[i])
	}
	return events, p.EndBatch()
}

// TestReleasedBatchesLetTheProcessorWriteItsBlocksAgain: a worker that
// releases every batch once it is done keeps encoding into the same few
// blocks, while the JSON of a batch not released yet stays as it was,
// however much is encoded after it.
func TestReleasedBatchesLetTheProcessorWriteItsBlocksAgain(t *testing.T) {
	p := newProcessor()
	o := &pipeline.Origin{Source: "t", Location: time.UTC, Format: pipeline.FormatSyslog}
	held, releaseHeld := processBatch(p, o, 0, 20)
	heldJSON := make([]string, len(held))
	for i, ev := range held {
		heldJSON[i] = string(ev.JSON)
	}

	starts := map[*byte]bool{} // where events' JSON starts
	const batches, perBatch = 200, 20
	for b := range batches {
		events, release := processBatch(p, o, (b+1)*perBatch, perBatch)
		for _, ev := range events {
			require.True(t, json.Valid(ev.JSON), "%s", ev.JSON)
			starts[unsafe.SliceData(ev.JSON)] = true
		}
		require.NotNil(t, release)
		release()
	}
	for i, ev := range held {
		require.Equal(t, heldJSON[i], string(ev.JSON), "a batch not released yet was written over")
	}
	releaseHeld()

	// The events are all the same size, so in a block written again they
	// start where earlier ones did: a few blocks' worth of places serve all
	// 4,000 events, which would need 4,000 places without reuse.
	require.Less(t, len(starts), batches*perBatch/10, "released blocks were not written again")
}

// TestAReleasedBlockIsPoisonedUnderTheRaceDetector: the tests run with
// -race, where a sink that reads events after their Ack must see garbage,
// not a stale document that looks right. Without it a released block keeps
// its bytes until it is written again.
func TestAReleasedBlockIsPoisonedUnderTheRaceDetector(t *testing.T) {
	p := newProcessor()
	o := &pipeline.Origin{Source: "t", Location: time.UTC, Format: pipeline.FormatSyslog}
	events, release := processBatch(p, o, 0, 200) // more than a block: the processor lets go of the first
	require.True(t, json.Valid(events[0].JSON))
	release()
	require.Equal(t, process.PoisonReleased, !json.Valid(events[0].JSON), "%s", events[0].JSON)
}
