package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

func newDeadLetter(t testing.TB, cfg Config) *DeadLetter {
	t.Helper()
	d, err := NewDeadLetter(cfg, testLogger(t), metrics.New())
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		require.NoError(t, d.Close(ctx))
	})
	return d
}

func TestDeadLetterWritesEnvelope(t *testing.T) {
	c := fakeCluster(t, 1, []string{"siem-dlq"})
	d := newDeadLetter(t, testConfig(c.ListenAddrs(), "siem-dlq"))
	evs := events(2, "kerio_control.http", 200)
	evs[1].JSON = []byte("not json")
	reason := pipeline.Permanent(errors.New("mapper_parsing_exception: failed to parse field [source.port]"))

	require.NoError(t, d.DeadLetter(context.Background(), "elasticsearch", evs, reason))

	recs := consume(t, c.ListenAddrs(), "siem-dlq", 2)
	require.Len(t, recs, 2)
	for i, r := range recs {
		var got struct {
			Timestamp string `json:"@timestamp"`
			Siemfwd   struct {
				Sink, Source, Error, Received string
			} `json:"siemfwd"`
			Event struct {
				Original string `json:"original"`
			} `json:"event"`
			Document json.RawMessage `json:"document"`
		}
		require.NoError(t, json.Unmarshal(r.Value, &got), "%s", r.Value)
		ts, err := time.Parse(time.RFC3339Nano, got.Timestamp)
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), ts, patience)
		assert.Equal(t, "elasticsearch", got.Siemfwd.Sink)
		assert.Equal(t, "syslog_tcp", got.Siemfwd.Source)
		assert.Contains(t, got.Siemfwd.Error, "mapper_parsing_exception")
		assert.Equal(t, "2026-01-02T03:04:05Z", got.Siemfwd.Received)
		assert.Equal(t, string(evs[i].Raw), got.Event.Original)
		if i == 0 {
			assert.JSONEq(t, string(evs[0].JSON), string(got.Document))
		} else {
			assert.Empty(t, got.Document, "invalid JSON is left out")
		}
		assert.Equal(t, evs[i].Routes.SourceIP, string(r.Key))
		ds, _ := header(r, HeaderDataset)
		assert.Equal(t, "kerio_control.http", ds)
	}
	assert.Equal(t, "not json", string(evs[1].JSON), "the caller's events are not modified")
}

func TestDeadLetterMissingTopicFailsAtOnce(t *testing.T) {
	c := fakeCluster(t, 1, nil)
	d := newDeadLetter(t, testConfig(c.ListenAddrs(), "siem-dlq"))
	err := d.DeadLetter(context.Background(), "es", events(1, "a", 100), errors.New("refused"))
	require.Error(t, err)
	assert.True(t, pipeline.IsPermanent(err), "%v", err)
}

func TestDeadLetterRetriesUntilContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	d := newDeadLetter(t, testConfig([]string{addr}, "siem-dlq"))
	ctx, cancel := context.WithCancel(context.Background())
	logs := make(chan struct{}, 1)
	d.log = slog.New(notifyHandler{ch: logs})
	done := make(chan error, 1)
	go func() { done <- d.DeadLetter(ctx, "es", events(1, "a", 100), errors.New("refused")) }()
	select {
	case <-logs: // it failed once and is backing off
	case <-time.After(patience):
		t.Fatal("no retry logged")
	}
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(patience):
		t.Fatal("DeadLetter did not return after cancel")
	}
}

// notifyHandler signals on every warning, for tests that wait for a retry.
type notifyHandler struct{ ch chan struct{} }

func (h notifyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h notifyHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h notifyHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h notifyHandler) WithGroup(string) slog.Handler      { return h }
