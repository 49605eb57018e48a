package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"siemfwd/pipeline"
	"siemfwd/pipeline/diskbuf"
	"siemfwd/pipeline/metrics"
)

// closeTimeout bounds the Close of one part at exit.
const closeTimeout = 10 * time.Second

// part is one thing serve starts and closes: a source, a sink with its
// dead-letter destination and disk buffer, the GeoIP reloader, the admin
// listener. Each has the pipeline.Component lifecycle.
type part struct {
	name string
	pipeline.Component
}

// lifecycle starts parts in order and closes those it started in reverse.
type lifecycle struct {
	started []part
	log     *slog.Logger
}

// start starts each part in order. At the first error it closes every part
// it started (these and earlier ones, in reverse) and returns the error,
// named after the part.
func (l *lifecycle) start(ctx context.Context, parts ...part) error {
	for _, p := range parts {
		if err := p.Start(ctx); err != nil {
			l.close()
			return fmt.Errorf("%s: %w", p.name, err)
		}
		l.started = append(l.started, p)
	}
	return nil
}

// close closes the started parts, last started first, each within
// closeTimeout; it logs what fails and goes on.
func (l *lifecycle) close() {
	for i := len(l.started) - 1; i >= 0; i-- {
		p := l.started[i]
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		if err := p.Close(ctx); err != nil {
			l.log.Error("close failed", "part", p.name, "err", err)
		}
		cancel()
	}
	l.started = nil
}

// together is parts that start as one. Each is started even when another
// failed, so that one start reports every problem of a sink and its
// dead-letter destination (a Kafka sink's missing topics and those of its
// dead-letter topic); when one failed, those that started are closed again.
type together []part

func (t together) Start(ctx context.Context) error {
	var errs []error
	var started together
	for _, p := range t {
		if err := p.Start(ctx); err != nil {
			if p.name != "" {
				err = fmt.Errorf("%s: %w", p.name, err)
			}
			errs = append(errs, err)
			continue
		}
		started = append(started, p)
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(append(errs, started.Close(ctx))...)
}

// Close closes the parts in reverse order.
func (t together) Close(ctx context.Context) error {
	var errs []error
	for i := len(t) - 1; i >= 0; i-- {
		if err := t[i].Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t[i].name, err))
		}
	}
	return errors.Join(errs...)
}

// background runs a loop (the GeoIP databases' reload) from Start to Close.
type background struct {
	run  func(context.Context) error
	stop context.CancelFunc
	done chan struct{}
	err  error // what run returned; read after done is closed
}

func (b *background) Start(context.Context) error {
	ctx, stop := context.WithCancel(context.Background())
	b.stop, b.done = stop, make(chan struct{})
	go func() {
		defer close(b.done)
		b.err = b.run(ctx)
	}()
	return nil
}

// Close stops the loop, waits for it and returns its error.
func (b *background) Close(ctx context.Context) error {
	b.stop()
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// diskBuffer is a sink's disk buffer: Start opens it (locking it against a
// second siemfwd) and exports its state as metrics; Close closes it.
type diskBuffer struct {
	dir, sink string
	cfg       diskbuf.Config
	log       *slog.Logger
	m         *metrics.Metrics
	buf       *diskbuf.Buffer
}

func (d *diskBuffer) Start(context.Context) error {
	buf, err := diskbuf.Open(d.dir, d.cfg, d.log)
	if err != nil {
		return err
	}
	labels := prometheus.Labels{"sink": d.sink}
	d.m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "siemfwd_disk_buffer_bytes", ConstLabels: labels,
			Help: "Bytes a sink's disk buffer holds on disk."}, func() float64 { return float64(buf.Stats().DiskBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "siemfwd_disk_buffer_events", ConstLabels: labels,
			Help: "Events in a sink's disk buffer that the sink has not acknowledged."}, func() float64 { return float64(buf.Stats().UnackedRecords) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "siemfwd_disk_buffer_corrupt_records_total", ConstLabels: labels,
			Help: "Damaged records cut off or skipped when a disk buffer was read (e.g. a torn write at a crash)."}, func() float64 { return float64(buf.Stats().CorruptRecords) }),
	)
	d.buf = buf
	return nil
}

func (d *diskBuffer) Close(context.Context) error { return d.buf.Close() }

// adminPart is the admin listener: Start binds it (a port in use fails the
// start), Close shuts it down.
type adminPart struct {
	cfg  AdminServerConfig
	deps adminDeps
	log  *slog.Logger
	srv  *adminServer
}

func (a *adminPart) Start(context.Context) error {
	srv, err := startAdminServer(a.cfg, a.deps, a.log)
	a.srv = srv
	return err
}

func (a *adminPart) Close(ctx context.Context) error { return a.srv.Stop(ctx) }
