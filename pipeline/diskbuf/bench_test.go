package diskbuf

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The benchmarks report records/s and MB/s (wall clock, noisy on a shared
// machine) and cpu-µs/record (CPU time of the whole process, the garbage
// collector and the background fsync included), which says what the buffer
// costs the pipeline whatever else the machine is doing.

const (
	benchRecord = 1024
	benchBatch  = 256
)

func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchConfig(sync string) Config {
	c := DefaultConfig()
	c.MaxBytes = 1 << 30
	c.Sync = sync
	return c
}

func benchBatchRecords() [][]byte {
	recs := make([][]byte, benchBatch)
	for i := range recs {
		recs[i] = rec(i, benchRecord)
	}
	return recs
}

func report(b *testing.B, records int, cpu time.Duration) {
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(records), "cpu-µs/record")
}

// drain reads and acknowledges everything, to keep the disk use of a long
// benchmark bounded. The caller stops the timer around it.
func drain(b *testing.B, buf *Buffer) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		_, _, pos, err := buf.Next(ctx, 4096, 4<<20)
		if errors.Is(err, context.Canceled) {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := buf.Ack(pos); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend: one writer, batches of 256 records of 1 KB.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []string{SyncBatch, SyncInterval} {
		b.Run("sync="+mode, func(b *testing.B) {
			buf, err := Open(b.TempDir(), benchConfig(mode), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer buf.Close()
			recs := benchBatchRecords()
			b.SetBytes(benchBatch * benchRecord)
			b.ReportAllocs()
			var cpu time.Duration
			cpu0 := processCPU()
			for b.Loop() {
				err := buf.Append(recs)
				if errors.Is(err, ErrFull) {
					cpu += processCPU() - cpu0
					b.StopTimer()
					drain(b, buf)
					b.StartTimer()
					cpu0 = processCPU()
					err = buf.Append(recs)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			cpu += processCPU() - cpu0
			report(b, b.N*benchBatch, cpu)
			b.ReportMetric(float64(buf.Stats().Syncs)/float64(b.N), "fsyncs/batch")
		})
	}
}

// BenchmarkNextAck: reading and acknowledging records already on disk (in
// the page cache), 256 records per Next.
func BenchmarkNextAck(b *testing.B) {
	buf, err := Open(b.TempDir(), benchConfig(SyncInterval), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	recs := benchBatchRecords()
	ctx := context.Background()
	fill := func() {
		for range 256 { // 64 MiB
			if err := buf.Append(recs); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.SetBytes(benchBatch * benchRecord)
	b.ReportAllocs()
	var cpu time.Duration
	b.StopTimer()
	fill()
	left := 256 * benchBatch
	b.StartTimer()
	cpu0 := processCPU()
	for b.Loop() {
		if left == 0 {
			cpu += processCPU() - cpu0
			b.StopTimer()
			fill()
			left = 256 * benchBatch
			b.StartTimer()
			cpu0 = processCPU()
		}
		got, _, pos, err := buf.Next(ctx, benchBatch, 1<<20)
		if err != nil || len(got) != benchBatch {
			b.Fatal(len(got), err)
		}
		if err := buf.Ack(pos); err != nil {
			b.Fatal(err)
		}
		left -= len(got)
	}
	cpu += processCPU() - cpu0
	report(b, b.N*benchBatch, cpu)
}

// BenchmarkThroughBuffer is the buffer as the sink loop uses it: a writer
// appends batches while the reader takes them out and acknowledges them.
// This is the cost the disk buffer adds to each event. With memos, a reader
// that keeps up takes them instead of reading the records back.
func BenchmarkThroughBuffer(b *testing.B) {
	for _, mode := range []string{SyncBatch, SyncInterval} {
		for _, withMemos := range []bool{false, true} {
			b.Run(fmt.Sprintf("sync=%s/memos=%t", mode, withMemos), func(b *testing.B) {
				benchThrough(b, mode, withMemos)
			})
		}
	}
}

func benchThrough(b *testing.B, mode string, withMemos bool) {
	cfg := benchConfig(mode)
	cfg.MaxBytes = 256 << 20
	buf, err := Open(b.TempDir(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	recs := benchBatchRecords()
	var memos []any
	if withMemos {
		memos = make([]any, len(recs))
		for i := range memos {
			memos[i] = i
		}
	}
	batch := batchOf(recs, memos)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writerDone := make(chan error, 1)
	b.SetBytes(benchBatch * benchRecord)
	b.ReportAllocs()
	cpu0 := processCPU()
	n := 0
	go func() {
		for {
			if err := buf.AppendBatch(ctx, batch, true); err != nil {
				writerDone <- err
				return
			}
		}
	}()
	for b.Loop() {
		got, gotMemos, pos, err := buf.Next(ctx, benchBatch, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if err := buf.Ack(pos); err != nil {
			b.Fatal(err)
		}
		n += len(got) + len(gotMemos)
	}
	cpu := processCPU() - cpu0
	cancel()
	<-writerDone
	report(b, n, cpu)
}

// BenchmarkOpen is the recovery scan: Open checks every unacknowledged
// record. 128 MiB unacknowledged, from the page cache (a cold cache adds
// the disk's read time).
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	buf, err := Open(dir, benchConfig(SyncInterval), nil)
	if err != nil {
		b.Fatal(err)
	}
	recs := benchBatchRecords()
	for range 512 {
		if err := buf.Append(recs); err != nil {
			b.Fatal(err)
		}
	}
	want := buf.Stats().UnackedRecords
	if err := buf.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(512 * benchBatch * (benchRecord + frameHeaderLen))
	for b.Loop() {
		buf, err := Open(dir, benchConfig(SyncInterval), nil)
		if err != nil {
			b.Fatal(err)
		}
		if got := buf.Stats().UnackedRecords; got != want {
			b.Fatal(got, want)
		}
		if err := buf.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
