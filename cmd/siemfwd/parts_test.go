package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/pipeline/diskbuf"
	"siemfwd/pipeline/metrics"
	filesrc "siemfwd/sources/file"
)

// fakePart records its Start and Close calls in a shared journal and fails
// its Start when told to.
type fakePart struct {
	name    string
	journal *[]string
	fail    error
}

func (f *fakePart) Start(context.Context) error {
	*f.journal = append(*f.journal, "start "+f.name)
	return f.fail
}

func (f *fakePart) Close(context.Context) error {
	*f.journal = append(*f.journal, "close "+f.name)
	return nil
}

func TestStartErrorClosesThePartsStartedBeforeInReverse(t *testing.T) {
	var journal []string
	refused := errors.New("address already in use")
	parts := []part{
		{"sink a", &fakePart{name: "a", journal: &journal}},
		{"sink b", &fakePart{name: "b", journal: &journal}},
		{"source c", &fakePart{name: "c", journal: &journal, fail: refused}},
		{"source d", &fakePart{name: "d", journal: &journal}},
	}
	l := lifecycle{log: slog.New(slog.DiscardHandler)}
	err := l.start(context.Background(), parts...)
	require.ErrorIs(t, err, refused)
	require.EqualError(t, err, "source c: address already in use", "the error names the part")
	require.Equal(t, []string{"start a", "start b", "start c", "close b", "close a"}, journal,
		"the parts started before are closed, last first; the failed one and those after it are not touched")
	require.Empty(t, l.started)
}

func TestCloseClosesInReverseOrder(t *testing.T) {
	var journal []string
	l := lifecycle{log: slog.New(slog.DiscardHandler)}
	require.NoError(t, l.start(context.Background(),
		part{"sink a", &fakePart{name: "a", journal: &journal}}, part{"source b", &fakePart{name: "b", journal: &journal}}))
	require.NoError(t, l.start(context.Background(), part{"admin", &fakePart{name: "admin", journal: &journal}}))
	l.close()
	require.Equal(t, []string{"start a", "start b", "start admin", "close admin", "close b", "close a"}, journal)
}

func TestTogetherStartsEveryPartAndReportsEveryError(t *testing.T) {
	var journal []string
	sinkErr, dlqErr := errors.New("topics do not exist: siem"), errors.New("topics do not exist: dlq")
	sink := together{
		{"", &fakePart{name: "sink", journal: &journal, fail: sinkErr}},
		{"dead_letter", &fakePart{name: "dlq", journal: &journal, fail: dlqErr}},
		{"buffer", &fakePart{name: "buffer", journal: &journal}},
	}
	err := sink.Start(context.Background())
	require.ErrorIs(t, err, sinkErr)
	require.ErrorIs(t, err, dlqErr)
	require.Contains(t, err.Error(), "dead_letter: topics do not exist: dlq")
	require.Equal(t, []string{"start sink", "start dlq", "start buffer", "close buffer"}, journal,
		"what started is closed again")
}

// TestAPortInUseReleasesWhatStartedBefore runs siemfwd with a sink that has
// a disk buffer and a dead-letter file, a file source and a TCP source whose
// port is taken: the start fails naming that source, and everything started
// before it is released: the disk buffer and the file source's state
// directory can be locked again at once.
func TestAPortInUseReleasesWhatStartedBefore(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	yaml := fmt.Sprintf(`
pipeline: {data_dir: %[1]s}
sources:
  a_files: {type: file, paths: ["%[1]s/in/*.log"], state_dir: %[1]s/state}
  b_tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:0"}
  c_tcp: {type: syslog, protocol: tcp, address: %[2]q}
sinks:
  out:
    type: stdout
    buffer: {type: disk}
    dead_letter: {type: file, file: {path: %[1]s/dlq.ndjson}}
`, dir, busy.Addr().String())
	path := filepath.Join(dir, "siemfwd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o644))
	var stderr bytes.Buffer
	require.Equal(t, 1, run(context.Background(), []string{"run", "-c", path}, noEnv, &bytes.Buffer{}, &stderr))
	require.Contains(t, stderr.String(), "source c_tcp: ")
	require.Contains(t, stderr.String(), "address already in use")

	buf, err := diskbuf.Open(filepath.Join(dir, "buffer", "out"), pipeline.DefaultSinkConfig().Buffer.Disk(), slog.New(slog.DiscardHandler))
	require.NoError(t, err, "the sink's disk buffer was closed")
	require.NoError(t, buf.Close())
	fcfg := filesrc.DefaultConfig()
	fcfg.Paths, fcfg.StateDir = []string{filepath.Join(dir, "in", "*.log")}, filepath.Join(dir, "state")
	src, err := filesrc.New("a_files", fcfg, nil, metrics.New())
	require.NoError(t, err)
	require.NoError(t, src.Start(context.Background()), "the file source's state directory was released")
	require.NoError(t, src.Close(context.Background()))
	require.FileExists(t, filepath.Join(dir, "dlq.ndjson"), "the dead-letter file had been opened")
}

var _ pipeline.Component = (*fakePart)(nil)
