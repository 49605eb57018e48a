package pipeline_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/sinks/sinktest"
)

// journal is what happened, in order, across goroutines.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	j.lines = append(j.lines, fmt.Sprintf(format, args...))
	j.mu.Unlock()
}

func (j *journal) read() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.lines...)
}

// reusingProcessor is fakeProcessor with the Reuser hook: it numbers the
// batches it ends and notes when each is released.
type reusingProcessor struct {
	fakeProcessor
	j     *journal
	ended int
}

func (p *reusingProcessor) EndBatch() func() {
	p.ended++
	n := p.ended
	p.j.add("end %d", n)
	return func() { p.j.add("release %d", n) }
}

// journalSink notes each event it writes; an event's JSON names its batch.
type journalSink struct {
	sinktest.Recorder
	j *journal
}

func (s *journalSink) Write(ctx context.Context, events []*pipeline.Event) error {
	for _, ev := range events {
		s.j.add("write %s", ev.JSON)
	}
	return s.Recorder.Write(ctx, events)
}

// TestAReusersBatchIsReleasedOnlyAfterEverySinkIsDoneWithIt: with two
// sinks in memory, a batch is released after both wrote it and its source
// heard the Ack, never before.
func TestAReusersBatchIsReleasedOnlyAfterEverySinkIsDoneWithIt(t *testing.T) {
	j := &journal{}
	src := newListSource([]string{"d|event|1"}, []string{"d|event|2"})
	src.onAck = func(error) { j.add("ack") }
	cfg := pipeline.DefaultConfig()
	cfg.Workers = 1
	h := startWith(t, cfg, nil, func() pipeline.Processor { return &reusingProcessor{j: j} }, src,
		pipeline.NamedSink{Name: "a", Config: sinkCfg(), Sink: &journalSink{j: j}},
		pipeline.NamedSink{Name: "b", Config: sinkCfg(), Sink: &journalSink{j: j}})
	src.waitAcks(t, 2)
	require.NoError(t, h.stop(t))

	lines := j.read()
	for batch := 1; batch <= 2; batch++ {
		at := func(line string) int {
			t.Helper()
			i := -1
			for k, l := range lines {
				if l == line {
					i = k
				}
			}
			require.GreaterOrEqual(t, i, 0, "%q missing from %q", line, lines)
			return i
		}
		release := at(fmt.Sprintf("release %d", batch))
		require.Less(t, at(fmt.Sprintf("end %d", batch)), release, "%q", lines)
		require.Less(t, at(fmt.Sprintf("write %d", batch)), release, "the last write of batch %d: %q", batch, lines)
	}
	require.Equal(t, 4, count(lines, "write"), "each sink wrote each event: %q", lines)
	require.Equal(t, 2, count(lines, "ack"), "%q", lines)
	require.Equal(t, 2, count(lines, "release"), "each batch released once: %q", lines)
}

// TestADiskBufferedSinkKeepsTheReusersMemoryFromBeingReleased: a disk
// buffer hands events to its sink after acknowledging them, so no batch may
// be released; each is still ended.
func TestADiskBufferedSinkKeepsTheReusersMemoryFromBeingReleased(t *testing.T) {
	j := &journal{}
	src := newListSource([]string{"d|event|1"}, []string{"d|event|2"})
	rec := &journalSink{j: j, Recorder: sinktest.Recorder{Written: make(chan int, 10)}}
	buf := openBuffer(t, t.TempDir(), 1<<20)
	defer buf.Close()
	h := startWith(t, pipeline.DefaultConfig(), nil, func() pipeline.Processor { return &reusingProcessor{j: j} }, src,
		pipeline.NamedSink{Name: "disk", Config: sinkCfg(), Sink: rec, Buffer: buf})
	src.waitAcks(t, 2)
	for n := 0; n < 2; n = <-rec.Written {
	}
	require.NoError(t, h.stop(t))

	lines := j.read()
	require.Equal(t, 2, count(lines, "end"), "%q", lines)
	require.Zero(t, count(lines, "release"), "%q", lines)
}

// count is the number of lines that start with word.
func count(lines []string, word string) int {
	n := 0
	for _, l := range lines {
		if l == word || len(l) > len(word) && l[:len(word)+1] == word+" " {
			n++
		}
	}
	return n
}
