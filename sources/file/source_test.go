package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

func TestReadsLinesWithOffsetsAndOrigin(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "security.log")
	// CRLF is stripped, invalid UTF-8 stays as bytes, an empty line is
	// skipped, and the last line waits for its LF.
	writeFile(t, path, "a\nbb\r\n\nccc\n\xff\xfe latin\ndd")
	cfg := testConfig(t, dir)
	cfg.Product = "kerio_connect"
	cfg.Timezone = "Europe/Prague"
	h := start(t, cfg, false)

	evs := h.waitEvents(4)
	require.Equal(t, []string{"a", "bb", "ccc", "\xff\xfe latin"}, raws(evs))
	offsets := []int64{0, 2, 7, 11}
	for i, ev := range evs {
		require.Equal(t, offsets[i], ev.Offset, "offset of %q", ev.Raw)
		require.Zero(t, ev.Flags)
		require.False(t, ev.Received.IsZero())
	}
	o := evs[0].Origin
	require.Same(t, o, evs[3].Origin, "one Origin per file")
	require.Equal(t, "files", o.Source)
	require.Equal(t, "file", o.Transport)
	require.Equal(t, pipeline.FormatLine, o.Format)
	require.Equal(t, path, o.FilePath)
	require.Equal(t, "kerio_connect", o.Product)
	require.Equal(t, "security", o.Log)
	require.Equal(t, "Europe/Prague", o.Location.String())

	// The partial line is not sent on polls…
	for range 3 {
		h.kick()
	}
	require.Len(t, h.events(), 4)
	// …until its LF arrives.
	appendFile(t, path, "d\n")
	evs = h.waitEvents(5)
	require.Equal(t, "ddd", string(evs[4].Raw))
	require.Equal(t, int64(20), evs[4].Offset)

	require.Equal(t, 5.0, testutil.ToFloat64(h.m.SourceReceived.WithLabelValues("files")))
	require.Equal(t, float64(len("abbccc\xff\xfe latinddd")), testutil.ToFloat64(h.m.SourceReceivedBytes.WithLabelValues("files")))
	require.NoError(t, h.stop())
	require.Equal(t, map[string]int64{path: 24}, savedOffsets(t, cfg))
}

func TestPartialLastLineIsNotCommittedAtShutdown(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	writeFile(t, path, "one\ntwo\nthr")
	cfg := testConfig(t, dir)
	h := start(t, cfg, false)
	h.waitEvents(2)
	require.NoError(t, h.stop())
	require.Len(t, h.events(), 2)
	require.Equal(t, map[string]int64{path: 8}, savedOffsets(t, cfg))

	// The next start reads it once complete.
	appendFile(t, path, "ee\n")
	h2 := start(t, cfg, false)
	evs := h2.waitEvents(1)
	require.Equal(t, []string{"three"}, raws(evs))
	require.Equal(t, int64(8), evs[0].Offset)
}

func TestLongLinesAreSplit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "debug.log")
	long := strings.Repeat("x", 25)
	exact := strings.Repeat("y", 10)
	writeFile(t, path, long+"\nshort\n"+exact+"\r\n"+strings.Repeat("z", 20)+"\n")
	cfg := testConfig(t, dir)
	cfg.MaxLineBytes = 10
	h := start(t, cfg, false)

	evs := h.waitEvents(7)
	// A line of exactly 2×max leaves no empty piece.
	require.Equal(t, []string{"xxxxxxxxxx", "xxxxxxxxxx", "xxxxx", "short", exact, "zzzzzzzzzz", "zzzzzzzzzz"}, raws(evs))
	wantOff := []int64{0, 10, 20, 26, 32, 44, 54}
	wantSplit := []bool{true, true, true, false, false, true, true}
	for i, ev := range evs {
		require.Equal(t, wantOff[i], ev.Offset, "event %d", i)
		require.Equal(t, wantSplit[i], ev.Flags&pipeline.FlagSplit != 0, "event %d", i)
	}
	require.Equal(t, 5.0, testutil.ToFloat64(h.m.SourceTruncated.WithLabelValues("files")))
}

func TestLongLineWithoutLFIsSplitAsItArrives(t *testing.T) {
	// Memory stays bounded: a line that never ends is sent in pieces.
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, strings.Repeat("q", 35))
	cfg := testConfig(t, dir)
	cfg.MaxLineBytes = 10
	h := start(t, cfg, false)
	evs := h.waitEvents(3)
	require.Equal(t, []string{"qqqqqqqqqq", "qqqqqqqqqq", "qqqqqqqqqq"}, raws(evs))
	appendFile(t, path, "\n")
	evs = h.waitEvents(4)
	require.Equal(t, "qqqqq", string(evs[3].Raw))
	require.NotZero(t, evs[3].Flags&pipeline.FlagSplit)
}

func TestStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.log")
	writeFile(t, old, "before 1\nbefore 2\n")
	cfg := testConfig(t, dir)
	cfg.StartAt = StartAtEnd
	h := start(t, cfg, false)
	h.eventually("old.log open", func() bool { return h.src.openFiles() == 1 })
	appendFile(t, old, "after 1\n")
	// A file that appears later is new: read from its beginning.
	writeFile(t, filepath.Join(dir, "new.log"), "new 1\n")
	evs := h.waitEvents(2)
	got := byFile(evs)
	require.Equal(t, []string{"after 1"}, got[old])
	require.Equal(t, []string{"new 1"}, got[filepath.Join(dir, "new.log")])
	for _, ev := range evs {
		want := map[string]int64{old: 18, filepath.Join(dir, "new.log"): 0}[ev.Origin.FilePath]
		require.Equal(t, want, ev.Offset, "%s", ev.Raw)
	}
}

func TestRenameAndCreateRotationDrainsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "security.log")
	writeFile(t, path, numbered("old", 0, 3))
	cfg := testConfig(t, dir)
	h := start(t, cfg, false)
	h.waitEvents(3)

	// The writer keeps its descriptor across the rename, as a logger does
	// until it reopens; it goes on writing to the old file while the new
	// one is created, and after.
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, os.Rename(path, path+".1"))
	_, err = w.WriteString(numbered("old", 3, 5))
	require.NoError(t, err)
	writeFile(t, path, numbered("new", 0, 2))
	_, err = w.WriteString(numbered("old", 5, 6))
	require.NoError(t, err)

	h.waitEvents(8)
	h.eventually("old file released", func() bool {
		return h.src.openFiles() == 1 && len(h.events()) == 8
	})
	got := byFile(h.events())
	require.Equal(t, lines(numbered("old", 0, 6)), got[path][:6], "old file read to its end, under the path it was opened as")
	require.Equal(t, lines(numbered("new", 0, 2)), got[path][6:])
	require.NoError(t, h.stop())
	require.Len(t, h.events(), 8, "nothing read twice")
}

func TestRotatedNameStillMatchedIsNotReadTwice(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "security.log")
	writeFile(t, path, numbered("old", 0, 3))
	cfg := testConfig(t, dir)
	cfg.Paths = []string{filepath.Join(dir, "security.log*")}
	h := start(t, cfg, false)
	h.waitEvents(3)
	require.NoError(t, os.Rename(path, path+".1"))
	writeFile(t, path, numbered("new", 0, 2))
	appendFile(t, path+".1", numbered("old", 3, 4))
	h.waitEvents(6)
	// The old descriptor is let go, and the scanner finds the file again
	// as security.log.1: by its fingerprint it resumes where reading was.
	h.eventually("security.log.1 reopened", func() bool {
		return slices.Equal(h.openPaths(), []string{path, path + ".1"})
	})
	appendFile(t, path+".1", numbered("old", 4, 5))
	h.waitEvents(7)
	require.NoError(t, h.stop())
	evs := h.events()
	require.ElementsMatch(t, append(lines(numbered("old", 0, 5)), lines(numbered("new", 0, 2))...), raws(evs))
}

func TestCopyTruncate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after string // written after the truncation
	}{
		{"shorter than before", "x1\nx2\n"},
		{"longer than before", numbered("rewritten", 0, 5)}, // found by the fingerprint, not the size
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, numbered("first", 0, 3))
			cfg := testConfig(t, dir)
			cfg.FingerprintBytes = 8
			h := start(t, cfg, false)
			h.waitEvents(3)
			require.NoError(t, os.Truncate(path, 0))
			appendFile(t, path, tt.after)
			want := lines(tt.after)
			evs := h.waitEvents(3 + len(want))
			require.Equal(t, want, raws(evs[3:]))
			require.Equal(t, int64(0), evs[3].Offset)
			require.NoError(t, h.stop())
			require.Len(t, h.events(), 3+len(want))
			// The old content keeps its own record (its copy may be read
			// under another name); the file's new content has its own.
			require.Contains(t, savedRecordOffsets(t, cfg, path), int64(len(tt.after)))
		})
	}
}

func TestDeletedWhileReadingIsDrainedThenReleased(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, numbered("l", 0, 3))
	cfg := testConfig(t, dir)
	h := start(t, cfg, false)
	h.waitEvents(3)
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, os.Remove(path))
	_, err = w.WriteString(numbered("l", 3, 5) + "last without LF")
	require.NoError(t, err)
	h.eventually("deleted file drained and released", func() bool { return h.src.openFiles() == 0 })
	require.Equal(t, append(lines(numbered("l", 0, 5)), "last without LF"), raws(h.events()))
	require.NoError(t, h.stop())
	require.Empty(t, savedOffsets(t, cfg), "a deleted file is forgotten")
}

func TestFiftyFiles(t *testing.T) {
	dir := t.TempDir()
	want := map[string][]string{}
	for i := range 50 {
		p := filepath.Join(dir, fmt.Sprintf("f%02d.log", i))
		content := numbered(fmt.Sprintf("file %d line", i), 0, 200)
		writeFile(t, p, content)
		want[p] = lines(content)
	}
	cfg := testConfig(t, dir)
	cfg.BatchEvents = 16
	h := start(t, cfg, false)
	h.eventually("all 50 files open", func() bool { return h.src.openFiles() == 50 })
	// They grow while open.
	for i := range 50 {
		p := filepath.Join(dir, fmt.Sprintf("f%02d.log", i))
		content := numbered(fmt.Sprintf("file %d line", i), 200, 300)
		appendFile(t, p, content)
		want[p] = append(want[p], lines(content)...)
	}
	h.waitEvents(50 * 300)
	require.Equal(t, want, byFile(h.events()), "every line of every file, in order")
	next := map[string]int64{} // where the next line of each file starts
	for _, ev := range h.events() {
		require.Equal(t, next[ev.Origin.FilePath], ev.Offset, "%s", ev.Raw)
		next[ev.Origin.FilePath] += int64(len(ev.Raw)) + 1
	}
}

func TestMaxOpenFiles(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("f%d.log", i)), fmt.Sprintf("file %d\n", i))
	}
	cfg := testConfig(t, dir)
	cfg.MaxOpenFiles = 1
	h := start(t, cfg, false)
	for i := range 3 {
		evs := h.waitEvents(i + 1)
		require.Equal(t, fmt.Sprintf("file %d", i), string(evs[i].Raw))
		require.LessOrEqual(t, h.src.openFiles(), 1)
		// A deleted file is released once drained, which frees the slot.
		require.NoError(t, os.Remove(evs[i].Origin.FilePath))
	}
}

func TestRestartResumesAtContiguousAckedOffset(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	content := numbered("n", 0, 10) // 4 bytes a line
	writeFile(t, path, content)
	cfg := testConfig(t, dir)
	cfg.BatchEvents = 2
	cfg.DrainTimeout = time.Millisecond // batch 3 is never acked
	h := start(t, cfg, true)
	h.eventually("5 batches", func() bool { return h.nbatches() == 5 })

	// Workers ack out of order; only the acknowledged prefix counts.
	h.batch(2).Done(nil)
	h.batch(4).Done(nil)
	h.kick()
	h.eventually("nothing committed yet", func() bool { return savedOffsetOr(t, cfg, path) == 0 })
	h.batch(0).Done(nil)
	h.eventually("batch 0 committed", func() bool { return savedOffsetOr(t, cfg, path) == 8 })
	// A when_full drop counts as done; so does a delivery.
	h.batch(1).Done(fmt.Errorf("sink x: %w", pipeline.ErrDropped))
	h.eventually("batches 0-2 committed", func() bool { return savedOffsetOr(t, cfg, path) == 24 })
	require.NoError(t, h.stop())
	require.Equal(t, int64(24), savedOffsets(t, cfg)[path], "batch 3 was never acked")

	h2 := start(t, cfg, false)
	evs := h2.waitEvents(4)
	require.Equal(t, lines(numbered("n", 6, 10)), raws(evs))
	require.Equal(t, int64(24), evs[0].Offset)
}

// savedOffsetOr reads the saved offset of path, or -1 if there is none yet.
func savedOffsetOr(t testing.TB, cfg Config, path string) int64 {
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "files.offsets.json")); err != nil {
		return -1
	}
	off, ok := savedOffsets(t, cfg)[path]
	if !ok {
		return -1
	}
	return off
}

func TestUndeliveredBatchStopsTheOffset(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, numbered("n", 0, 6))
	cfg := testConfig(t, dir)
	cfg.BatchEvents = 2
	h := start(t, cfg, true)
	h.eventually("3 batches", func() bool { return h.nbatches() == 3 })
	h.batch(0).Done(nil)
	h.batch(1).Done(errors.New("abandoned at shutdown"))
	h.batch(2).Done(nil)
	require.NoError(t, h.stop())
	require.Equal(t, int64(8), savedOffsets(t, cfg)[path])
}

func TestUnackedLinesAreReadAgainAfterRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	content := numbered("n", 0, 5)
	writeFile(t, path, content)
	cfg := testConfig(t, dir)
	cfg.DrainTimeout = time.Millisecond
	h := start(t, cfg, true)
	h.waitEvents(5)
	require.NoError(t, h.stop())
	require.Equal(t, int64(0), savedOffsets(t, cfg)[path])

	cfg.DrainTimeout = patience
	h2 := start(t, cfg, false)
	require.Equal(t, lines(content), raws(h2.waitEvents(5)))
	require.NoError(t, h2.stop())
	require.Equal(t, int64(len(content)), savedOffsets(t, cfg)[path])

	// A third start reads only what was written since.
	appendFile(t, path, "more\n")
	h3 := start(t, cfg, false)
	evs := h3.waitEvents(1)
	require.Equal(t, []string{"more"}, raws(evs))
	require.Equal(t, int64(len(content)), evs[0].Offset)
}

func TestShortFileResumesAfterGrowingPastTheFingerprint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "ab\n")
	cfg := testConfig(t, dir)
	cfg.FingerprintBytes = 16
	h := start(t, cfg, false)
	h.waitEvents(1)
	require.NoError(t, h.stop())

	appendFile(t, path, numbered("more", 0, 3)) // now longer than 16 bytes
	h2 := start(t, cfg, false)
	evs := h2.waitEvents(3)
	require.Equal(t, lines(numbered("more", 0, 3)), raws(evs))
	require.NoError(t, h2.stop())

	h3 := start(t, cfg, false)
	appendFile(t, path, "last\n")
	require.Equal(t, []string{"last"}, raws(h3.waitEvents(1)))
}

func TestOffsetsFileCorruptOrMissing(t *testing.T) {
	for _, tt := range []struct {
		name    string
		state   string // "" means no file
		startAt string
		want    []string
	}{
		{"missing, beginning", "", StartAtBeginning, []string{"old", "new"}},
		{"corrupt, beginning", "{not json", StartAtBeginning, []string{"old", "new"}},
		{"bad record, end", `{"version":1,"files":{"x":{"fingerprint":"zz"}}}`, StartAtEnd, []string{"new"}},
		{"unknown version, end", `{"version":99,"files":{}}`, StartAtEnd, []string{"new"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, "old\n")
			cfg := testConfig(t, dir)
			cfg.StartAt = tt.startAt
			stateFile := filepath.Join(cfg.StateDir, "files.offsets.json")
			if tt.state != "" {
				require.NoError(t, os.MkdirAll(cfg.StateDir, 0o755))
				writeFile(t, stateFile, tt.state)
			}
			h := start(t, cfg, false)
			h.eventually("file open", func() bool { return h.src.openFiles() == 1 })
			appendFile(t, path, "new\n")
			require.Equal(t, tt.want, raws(h.waitEvents(len(tt.want))))
			require.NoError(t, h.stop())
			require.Equal(t, int64(8), savedOffsets(t, cfg)[path], "a good offsets file replaces the bad one")
			if tt.state != "" {
				b, err := os.ReadFile(stateFile + ".corrupt")
				require.NoError(t, err, "the bad file is kept for inspection")
				require.Equal(t, tt.state, string(b))
			}
		})
	}
}

func TestSecondInstanceIsRefused(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	newSource := func() *Source {
		s, err := New("files", cfg, slog.New(slog.DiscardHandler), metrics.New())
		require.NoError(t, err)
		return s
	}
	first := newSource()
	require.NoError(t, first.Start(context.Background()))
	second := newSource()
	err := second.Start(context.Background())
	require.EqualError(t, err, fmt.Sprintf("state_dir %s is in use by another siemfwd (pid %d)", cfg.StateDir, os.Getpid()))
	require.NoError(t, first.Close(context.Background()))
	third := newSource()
	require.NoError(t, third.Start(context.Background()), "the lock is free once the first lets go")
	require.NoError(t, third.Close(context.Background()))
}

func TestBackpressureAndShutdownWhileBlocked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, numbered("n", 0, 100))
	cfg := testConfig(t, dir)
	cfg.BatchEvents = 10
	src, err := New("files", cfg, slog.New(slog.DiscardHandler), metrics.New())
	require.NoError(t, err)
	out := make(chan pipeline.Batch) // nobody reads: the first send blocks
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()
	src.wake.Kick()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(patience):
		t.Fatal("Run did not return while blocked on a full queue")
	}
	require.Equal(t, int64(0), savedOffsets(t, cfg)[path])
}

func TestExclude(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.log"), "a\n")
	writeFile(t, filepath.Join(dir, "skip.log"), "skip\n")
	writeFile(t, filepath.Join(dir, "other.log"), "other\n")
	cfg := testConfig(t, dir)
	cfg.Exclude = []string{"skip.*", filepath.Join(dir, "oth*")}
	h := start(t, cfg, false)
	require.Equal(t, []string{"a"}, raws(h.waitEvents(1)))
	for range 3 {
		h.kick()
	}
	require.NoError(t, h.stop())
	require.Equal(t, []string{"a"}, raws(h.events()))
}

func TestLogFromPath(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"/var/log/kerio/security.log", "security"},
		{"security.log.1", "security"},
		{"logs/mail.log.2.gz", "mail"},
		{"security-2026-03-14.log", "security"},
		{"security_20260314.log", "security"},
		{"mail.2026-03-14.log", "mail"},
		{"http-2026-03-14-120000.log", "http"},
		{"kerio-security.log", "kerio-security"},
		{"warn", "warn"},
	} {
		require.Equal(t, tt.want, logFromPath(tt.path), tt.path)
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.Paths = []string{"/var/log/kerio/*.log"}
	good.StateDir = "/var/lib/siemfwd"
	require.NoError(t, good.Validate())

	err := DefaultConfig().Validate()
	require.ErrorContains(t, err, "paths: at least one glob is required")
	require.ErrorContains(t, err, "state_dir: required")

	bad := good
	bad.Paths = []string{"[", ""}
	bad.Exclude = []string{"a[b"}
	bad.RescanInterval = 0
	bad.PollInterval = -time.Second
	bad.CommitInterval = 0
	bad.DrainTimeout = -1
	bad.ForgetAfter = 0
	bad.Product = "exchange"
	bad.Timezone = "Mars/Olympus"
	bad.StartAt = "middle"
	bad.MaxLineBytes = 0
	bad.BatchEvents = 0
	bad.FingerprintBytes = 0
	bad.MaxOpenFiles = 0
	err = bad.Validate()
	for _, key := range []string{"paths[0]: bad glob", "paths[1]: must not be empty", "exclude[0]: bad glob",
		"rescan_interval:", "poll_interval:", "commit_interval:", "drain_timeout:", "forget_after:", "product:",
		"timezone:", "start_at:", "max_line_bytes:", "batch_events:", "fingerprint_bytes:", "max_open_files:"} {
		require.ErrorContains(t, err, key)
	}
}

func TestPeriodicCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "x\n")
	cfg := testConfig(t, dir)
	cfg.CommitInterval = time.Millisecond // the ticker, not a kick, saves here
	h := start(t, cfg, false)
	h.waitEvents(1)
	poll.Until(t, patience, "offset committed while running", func() bool { return savedOffsetOr(t, cfg, path) == 2 })
}

func TestCopyTruncateWithTheCopyMatchedReadsEachLineOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, numbered("first", 0, 3))
	cfg := testConfig(t, dir)
	cfg.Paths = []string{path + "*"}
	// Past fingerprint_bytes a copy has the identity of the original. (A
	// copy of a file shorter than that is a new file: until then the
	// identity includes the inode.)
	cfg.FingerprintBytes = 8
	h := start(t, cfg, false)
	h.waitEvents(3)
	// The writer adds a line that is not read yet; logrotate copies the
	// file (same first bytes: same identity) and truncates it.
	appendFile(t, path, numbered("first", 3, 4))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	writeFile(t, path+".1", string(b))
	h.kick() // the scanner sees the copy while the original still holds the identity
	require.NoError(t, os.Truncate(path, 0))
	appendFile(t, path, numbered("second", 0, 2))
	h.eventually("copy opened and every line read", func() bool {
		return len(h.events()) >= 6 && slices.Equal(h.openPaths(), []string{path, path + ".1"})
	})
	require.NoError(t, h.stop())
	require.ElementsMatch(t, append(lines(numbered("first", 0, 4)), lines(numbered("second", 0, 2))...), raws(h.events()))
}
