package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// abortWait bounds the wait for the pipeline after a second signal: sources
// that wait for acknowledgements (Kafka, files) may not return at once, and
// the operator asked to exit now.
const abortWait = 2 * time.Second

// runPipeline runs p until ctx ends and drains it. A second SIGINT or
// SIGTERM during the drain aborts it: what is not written yet is abandoned
// and counted, and siemfwd exits at once. Either way it ends with one log
// line of totals, and an error when events were abandoned. stopped is false
// when the pipeline did not return in time after an abort: its sinks and
// sources may still be in use.
func runPipeline(ctx context.Context, p *pipeline.Pipeline, reg prometheus.Gatherer, log *slog.Logger) (stopped bool, err error) {
	// Listening from the start: a second signal right after the first must
	// not be missed. The first one (which ends ctx in main) arrives here too.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped = true
	var unfinished int64 // held by a pipeline that did not stop in time after the abort
	signals := 0
wait:
	for {
		select {
		case err = <-done:
			break wait
		case sig := <-sigs:
			if signals++; signals < 2 {
				continue
			}
			log.Warn("second signal: exiting now, abandoning what is not written yet", "signal", sig.String(),
				"held_events", p.Held())
			p.Abort()
			select {
			case err = <-done:
			case <-time.After(abortWait):
				stopped, unfinished = false, p.Held()
				err = errors.New("the pipeline did not stop in time after the second signal")
			}
			break wait
		}
	}
	t, gerr := gatherTotals(reg)
	if gerr != nil {
		log.Error("cannot read the totals", "err", gerr)
		return stopped, errors.Join(err, gerr)
	}
	t.Abandoned += unfinished
	log.Info("totals", t.attrs()...)
	if t.Abandoned > 0 && err == nil {
		err = fmt.Errorf("%d events abandoned at shutdown", t.Abandoned)
	}
	return stopped, err
}

// totals is what became of the events of this run, from the metrics: the
// exit line an operator (or a conservation test) checks against what the
// sinks hold. For one sink, received = delivered + dead-lettered + dropped +
// abandoned + buffered (with routes, an event counts once per sink it went
// to; drops before the sinks count once).
type totals struct {
	Received     int64
	Delivered    map[string]int64 // per sink
	DeadLettered map[string]int64 // per sink
	Dropped      map[string]int64 // per reason, sources and sinks together, shutdown excepted
	Abandoned    int64            // given up at shutdown (reason shutdown)
	Buffered     map[string]int64 // per sink: left in its disk buffer for the next start
}

// gatherTotals reads the totals from the registry.
func gatherTotals(reg prometheus.Gatherer) (totals, error) {
	t := totals{Delivered: map[string]int64{}, DeadLettered: map[string]int64{}, Dropped: map[string]int64{}, Buffered: map[string]int64{}}
	families, err := reg.Gather()
	if err != nil {
		return t, err
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			var v float64
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			}
			n := int64(v)
			switch f.GetName() {
			case "siemfwd_source_received_events_total":
				t.Received += n
			case "siemfwd_sink_events_total":
				switch labels["outcome"] {
				case "sent":
					t.Delivered[labels["sink"]] += n
				case "dead_lettered":
					t.DeadLettered[labels["sink"]] += n
				}
			case "siemfwd_source_dropped_events_total", "siemfwd_sink_dropped_events_total":
				if labels["reason"] == metrics.ReasonShutdown {
					t.Abandoned += n
				} else if n > 0 {
					t.Dropped[labels["reason"]] += n
				}
			case "siemfwd_disk_buffer_events":
				t.Buffered[labels["sink"]] += n
			}
		}
	}
	return t, nil
}

// attrs is the log line's attributes; maps become groups, in name order.
func (t totals) attrs() []any {
	group := func(name string, m map[string]int64) slog.Attr {
		var as []any
		for _, k := range slices.Sorted(maps.Keys(m)) {
			as = append(as, slog.Int64(k, m[k]))
		}
		return slog.Group(name, as...)
	}
	return []any{slog.Int64("received", t.Received), group("delivered", t.Delivered),
		group("dead_lettered", t.DeadLettered), group("dropped", t.Dropped), slog.Int64("abandoned", t.Abandoned),
		group("buffered", t.Buffered)}
}
