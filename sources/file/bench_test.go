package file

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/process"
)

// kerioFile writes a file of about size bytes made of the raw Kerio lines
// of testdata/kerio/dev.jsonl, repeated, and returns its path and line count.
func kerioFile(b *testing.B, size int) (string, int) {
	b.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "kerio", "dev.jsonl"))
	require.NoError(b, err)
	defer f.Close()
	var raws [][]byte
	dec := json.NewDecoder(f)
	for {
		var rec struct {
			Raw string `json:"raw"`
		}
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else {
			require.NoError(b, err)
		}
		raws = append(raws, append([]byte(rec.Raw), '\n'))
	}
	require.NotEmpty(b, raws)
	path := filepath.Join(b.TempDir(), "security.log")
	out, err := os.Create(path)
	require.NoError(b, err)
	w := bufio.NewWriterSize(out, 1<<20)
	n, lines := 0, 0
	for n < size {
		r := raws[lines%len(raws)]
		w.Write(r)
		n += len(r)
		lines++
	}
	require.NoError(b, w.Flush())
	require.NoError(b, out.Close())
	return path, lines
}

// BenchmarkReadFile measures the source alone: a 100 MB file of Kerio
// lines already on disk, read into batches that a consumer acks at once.
func BenchmarkReadFile(b *testing.B) {
	path, lines := kerioFile(b, 100<<20)
	fi, err := os.Stat(path)
	require.NoError(b, err)
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	var total, cpu time.Duration
	for b.Loop() {
		cfg := DefaultConfig()
		cfg.Paths = []string{path}
		cfg.StateDir = b.TempDir()
		src, err := New("bench", cfg, slog.New(slog.DiscardHandler), metrics.New())
		require.NoError(b, err)
		out := make(chan pipeline.Batch, 64)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		t0, c0 := time.Now(), processCPU()
		go func() { done <- src.Run(ctx, out) }()
		for n := 0; n < lines; {
			bt := <-out
			n += len(bt.Events)
			bt.Done(nil)
		}
		total += time.Since(t0)
		cpu += processCPU() - c0
		cancel()
		require.NoError(b, <-done)
	}
	b.ReportMetric(float64(lines)*float64(b.N)/total.Seconds(), "lines/s")
	b.ReportMetric(float64(lines)*float64(b.N)/cpu.Seconds(), "lines/cpu-s")
}

// BenchmarkFileToJSON measures a file through the whole pipeline: read,
// Kerio parse, ECS JSON encoding on GOMAXPROCS workers, and a sink that
// writes NDJSON to io.Discard as the stdout sink does.
func BenchmarkFileToJSON(b *testing.B) {
	path, lines := kerioFile(b, 32<<20)
	fi, err := os.Stat(path)
	require.NoError(b, err)
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	var total, cpu time.Duration
	for b.Loop() {
		cfg := DefaultConfig()
		cfg.Paths = []string{path}
		cfg.StateDir = b.TempDir()
		cfg.Product = "kerio_connect"
		m := metrics.New()
		src, err := New("bench", cfg, slog.New(slog.DiscardHandler), m)
		require.NoError(b, err)
		sink := &countSink{w: bufio.NewWriterSize(io.Discard, 256<<10), want: int64(lines), done: make(chan struct{})}
		p, err := pipeline.New(pipeline.DefaultConfig(), []pipeline.Source{src},
			[]pipeline.NamedSink{{Name: "discard", Config: pipeline.DefaultSinkConfig(), Sink: sink}},
			func() pipeline.Processor {
				return process.NewECSProcessor(process.ProcessOptions{KeepOriginal: true, Namespace: "default"}, m)
			}, nil, slog.New(slog.DiscardHandler), m)
		require.NoError(b, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		t0, c0 := time.Now(), processCPU()
		go func() { done <- p.Run(ctx) }()
		<-sink.done
		total += time.Since(t0)
		cpu += processCPU() - c0
		cancel()
		require.NoError(b, <-done)
	}
	b.ReportMetric(float64(lines)*float64(b.N)/total.Seconds(), "lines/s")
	b.ReportMetric(float64(lines)*float64(b.N)/cpu.Seconds(), "lines/cpu-s")
}

// countSink writes NDJSON to a buffered io.Discard and closes done once it
// has written want events.
type countSink struct {
	w    *bufio.Writer
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (s *countSink) Write(_ context.Context, events []*pipeline.Event) error {
	for _, ev := range events {
		s.w.Write(ev.JSON)
		s.w.WriteByte('\n')
	}
	s.w.Flush()
	if s.n.Add(int64(len(events))) >= s.want && s.n.Load()-int64(len(events)) < s.want {
		close(s.done)
	}
	return nil
}

func (s *countSink) Start(context.Context) error { return nil }

func (s *countSink) Close(context.Context) error { return s.w.Flush() }

// processCPU returns the CPU time the whole process has used (every thread,
// the garbage collector included). On a shared, busy machine wall-clock
// rates mean little; lines per CPU-second say what the code costs, and
// twice that bounds what 2 cores can do.
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
