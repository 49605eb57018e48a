package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"siemfwd/configs"
	"siemfwd/enrich/geoip"
	"siemfwd/enrich/mailflow"
	"siemfwd/internal/confcheck"
	"siemfwd/internal/redact"
	"siemfwd/pipeline"
	"siemfwd/pipeline/diskbuf"
	"siemfwd/pipeline/ledger"
	"siemfwd/pipeline/metrics"
	"siemfwd/sinks/deadletter"
	essink "siemfwd/sinks/elasticsearch"
	kafkasink "siemfwd/sinks/kafka"
	"siemfwd/sinks/stdout"
	filesrc "siemfwd/sources/file"
	kafkasrc "siemfwd/sources/kafka"
	syslogsrc "siemfwd/sources/syslog"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage:
  siemfwd run [-c FILE]       run the pipeline
  siemfwd validate [-c FILE]  check a config; print every problem with its key
  siemfwd version             print the version
  siemfwd help                print this help (also -h, --help)

  -c, --config FILE           the YAML configuration; default: $SIEMFWD_CONFIG, or
                              else the embedded configs/siemfwd.yaml
Every key can be overridden by SIEMFWD_<KEY_PATH> (upper case, dots as underscores).
`

// configEnv names the environment variable that names the config file when
// -c is not given.
const configEnv = "SIEMFWD_CONFIG"

// run is the whole program; it returns the exit code. Its inputs are passed
// in so tests can run it in-process.
// lookupEnv is os.LookupEnv: an empty value that is set is not an unset one.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdoutW, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	getenv := func(key string) string { v, _ := lookupEnv(key); return v }
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdoutW, usage)
		return 0
	case "version":
		fmt.Fprintf(stdoutW, "siemfwd %s %s\n", version, runtime.Version())
		return 0
	case "validate", "run":
	default:
		fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed below, with the usage
	var file string
	fs.StringVar(&file, "c", getenv(configEnv), "")
	fs.StringVar(&file, "config", getenv(configEnv), "")
	if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdoutW, usage)
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "%v\n%s", err, usage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q\n%s", fs.Args(), usage)
		return 2
	}
	cfg, err := readConfig(file, lookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "invalid configuration:\n%s\n", indent(err))
		return 1
	}
	if args[0] == "validate" {
		fmt.Fprintln(stdoutW, "configuration OK")
		return 0
	}
	log := newLogger(cfg.Log, stderr)
	applyRuntime(cfg.Runtime, getenv, log)
	if err := serve(ctx, cfg, log, stdoutW); err != nil {
		log.Error("siemfwd failed", "err", err)
		return 1
	}
	return 0
}

// applyRuntime sets the garbage collector's knobs, unless Go's own
// environment variables already did.
func applyRuntime(c RuntimeConfig, getenv func(string) string, log *slog.Logger) {
	if env := getenv("GOGC"); env != "" {
		log.Info("GOGC is set, runtime.gc_percent is ignored", "GOGC", env)
	} else {
		debug.SetGCPercent(c.GCPercent)
	}
	if c.MemoryLimit == 0 {
		return
	}
	if env := getenv("GOMEMLIMIT"); env != "" {
		log.Info("GOMEMLIMIT is set, runtime.memory_limit is ignored", "GOMEMLIMIT", env)
		return
	}
	debug.SetMemoryLimit(c.MemoryLimit)
}

func readConfig(file string, lookupEnv func(string) (string, bool)) (Config, error) {
	yaml := configs.Default
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return Config{}, err
		}
		yaml = b
	}
	cfg, err := loadConfig(yaml, lookupEnv)
	getenv := func(key string) string { v, _ := lookupEnv(key); return v }
	return cfg, errors.Join(err, cfg.Validate(), confcheck.Under("admin", cfg.Admin.resolveToken(getenv)))
}

// serve builds every part, starts sinks, workers and sources in that order,
// and drains them when ctx ends.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stdoutW io.Writer) error {
	m := metrics.New()
	m.BuildInfo.WithLabelValues(version, runtime.Version()).Set(1)

	// Whatever was opened is closed again if the start fails half way.
	var closers []func()
	started := false
	defer func() {
		if !started {
			for _, c := range closers {
				c()
			}
		}
	}()

	km := kafkasrc.NewMetrics()
	if err := km.Register(m.Registry); err != nil {
		return err
	}
	led := ledger.New(cfg.Ledger, nil)
	if err := led.Register(m.Registry); err != nil {
		return err
	}
	var sources []pipeline.Source
	for _, name := range sortedKeys(cfg.Sources) {
		sc := cfg.Sources[name]
		m.InitSource(name)
		src, closeSrc, err := newSource(name, sc, log, m, km)
		if err != nil {
			return fmt.Errorf("source %s: %w", name, err)
		}
		if s, ok := src.(*syslogsrc.Source); ok {
			s.SetLedger(led)
		}
		closers = append(closers, closeSrc)
		sources = append(sources, src)
	}
	if len(cfg.Ledger.ExpectedSenders) > 0 || cfg.Ledger.DefaultInterval > 0 {
		sources = append(sources, pipeline.NewSilenceAlerts(led, cfg.Ledger.CheckInterval, log.With("component", "ledger")))
	}
	var sinks []pipeline.NamedSink
	for _, name := range sortedKeys(cfg.Sinks) {
		m.InitSink(name)
		ns, closeDLQ, err := newSink(ctx, name, cfg.Sinks[name], log, m, stdoutW)
		if err != nil {
			return fmt.Errorf("sink %s: %w", name, err)
		}
		if closeDLQ != nil {
			defer closeDLQ() // after the pipeline stopped: the sink loops use it until then
		}
		if sc := cfg.Sinks[name].Common.Buffer; sc.Type == "disk" {
			buf, err := openDiskBuffer(cfg.Pipeline.DataDir, name, sc, log, m)
			if err != nil {
				return fmt.Errorf("sink %s: %w", name, err)
			}
			defer buf.Close()
			ns.Buffer = buf
		}
		sinks = append(sinks, ns)
	}

	hostname, _ := os.Hostname()
	opts := pipeline.ProcessOptions{KeepOriginal: cfg.Pipeline.KeepOriginal, Namespace: cfg.Pipeline.Namespace,
		AgentName: hostname, AgentVersion: version}
	if gc := cfg.Pipeline.Enrich.GeoIP; gc.Enabled() {
		geo, err := geoip.New(gc, log.With("component", "geoip"))
		if err != nil {
			return err
		}
		gctx, stopGeo := context.WithCancel(ctx)
		reloaded := make(chan struct{})
		go func() { defer close(reloaded); geo.Run(gctx) }()
		defer func() { stopGeo(); <-reloaded }()
		opts.GeoIP = geo
	}
	if mc := cfg.Pipeline.Enrich.MailFlow; mc.Enabled {
		tracker := mailflow.New(mc)
		summaries := pipeline.NewMailFlowSummaries(tracker, opts.GeoIP, min(mc.Timeout/10, 10*time.Second), opts, m)
		sources = append(sources, summaries)
		opts.MailFlow, opts.OfferSummary = tracker, summaries.Offer
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "siemfwd_mail_flow_open_messages",
			Help: "Kerio Connect messages waiting for their delivery results."}, func() float64 { return float64(tracker.Stats().Open) }))
	}
	processing, newProcessor := chooseProcessing(sinks, opts, m)
	plog := log.With("component", "pipeline")
	plog.Info("event processing", "mode", processing)
	p, err := pipeline.New(cfg.Pipeline, sources, sinks, newProcessor, plog, m)
	if err != nil {
		return err
	}
	p.SetLedger(led)
	if cfg.Admin.Address != "" {
		a, err := startAdminServer(cfg.Admin, adminDeps{Gatherer: m.Registry, Ready: p.Ready, Ledger: led}, log.With("component", "admin"))
		if err != nil {
			return err
		}
		defer a.Stop(context.Background()) // after the drain: /metrics stays up while draining
	}
	// SIGHUP would end the process (Go's default) and lose what is in memory.
	// siemfwd reopens nothing on it (certificates and GeoIP databases are
	// reloaded when their files change; configuration needs a restart), so
	// it only says so.
	hup := make(chan os.Signal, 1)
	defer close(hup) // deferred first, so it runs after signal.Stop
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			log.Info("SIGHUP ignored: certificates and GeoIP databases reload by themselves; restart to apply a new configuration")
		}
	}()

	started = true
	return runPipeline(ctx, p, m.Registry, log)
}

// openDiskBuffer opens a sink's disk buffer (locking it against a second
// siemfwd) and exports its state as metrics.
func openDiskBuffer(dataDir, sink string, c pipeline.BufferConfig, log *slog.Logger, m *metrics.Metrics) (*diskbuf.Buffer, error) {
	buf, err := diskbuf.Open(filepath.Join(dataDir, "buffer", sink), c.Disk(), log.With("component", "disk_buffer", "sink", sink))
	if err != nil {
		return nil, err
	}
	labels := prometheus.Labels{"sink": sink}
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "siemfwd_disk_buffer_bytes", ConstLabels: labels,
			Help: "Bytes a sink's disk buffer holds on disk."}, func() float64 { return float64(buf.Stats().DiskBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "siemfwd_disk_buffer_events", ConstLabels: labels,
			Help: "Events in a sink's disk buffer that the sink has not acknowledged."}, func() float64 { return float64(buf.Stats().UnackedRecords) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "siemfwd_disk_buffer_corrupt_records_total", ConstLabels: labels,
			Help: "Damaged records cut off or skipped when a disk buffer was read (e.g. a torn write at a crash)."}, func() float64 { return float64(buf.Stats().CorruptRecords) }),
	)
	return buf, nil
}

// newSource builds and opens one source: network sources bind their
// sockets and file sources lock their state directory now, so that a port
// in use or a second instance fails the start instead of a goroutine.
func newSource(name string, sc SourceConfig, log *slog.Logger, m *metrics.Metrics, km *kafkasrc.Metrics) (pipeline.Source, func(), error) {
	switch sc.Type {
	case "syslog":
		s, err := syslogsrc.New(name, sc.Syslog, log, m)
		if err != nil {
			return nil, nil, err
		}
		if err := s.Listen(); err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case "file":
		s, err := filesrc.New(name, sc.File, log, m)
		if err != nil {
			return nil, nil, err
		}
		if err := s.Open(); err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case "kafka":
		s, err := kafkasrc.New(name, sc.Kafka, log, m, km)
		if err != nil {
			return nil, nil, err
		}
		return s, func() {}, nil // Run connects; nothing is held before it
	}
	return nil, nil, fmt.Errorf("unknown source type %q", sc.Type)
}

// newSink builds one sink and its dead-letter destination; the returned
// func closes the destination.
func newSink(ctx context.Context, name string, sc SinkConfig, log *slog.Logger, m *metrics.Metrics, stdoutW io.Writer) (pipeline.NamedSink, func(), error) {
	ns := pipeline.NamedSink{Name: name, Config: sc.Common}
	sinkLog := log.With("component", "sink", "sink", name)
	var topicsErr error // a Kafka sink's missing topics; its dead-letter topic's are added
	switch sc.Type {
	case "stdout":
		ns.Sink = stdout.New(stdoutW)
	case "kafka":
		s, err := kafkasink.New(sc.Kafka, sinkLog, m)
		if err != nil {
			return ns, nil, err
		}
		topicsErr = s.Start(ctx) // its topics exist (or are created)
		ns.Sink = s
	case "elasticsearch":
		s, err := essink.New(sc.Elasticsearch, sinkLog, m)
		if err != nil {
			return ns, nil, err
		}
		// Probe the cluster and install the templates now: wrong credentials
		// or refused templates fail the start. A node that does not answer
		// does not: sources start, events wait in the sink's queue or disk
		// buffer (then when_full applies), /readyz says not ready, and the
		// sink's writes start it once the node answers.
		if err := s.Start(ctx); errors.Is(err, essink.ErrUnavailable) {
			sinkLog.Warn("Elasticsearch does not answer at start; starting anyway: events wait in the sink's queue or disk buffer (then when_full applies) and the sink retries until it answers",
				"err", err)
		} else if err != nil {
			return ns, nil, err
		}
		ns.Sink = s
		if sc.DeadLetter.Type == "elasticsearch" {
			ns.DeadLetter = s.DeadLetterQueue()
		}
	default:
		return ns, nil, fmt.Errorf("unknown sink type %q", sc.Type)
	}
	if topicsErr != nil && sc.DeadLetter.Type != "kafka" {
		return ns, nil, topicsErr
	}
	switch sc.DeadLetter.Type {
	case "file":
		d, err := deadletter.NewFile(sc.DeadLetter.File)
		if err != nil {
			return ns, nil, err
		}
		ns.DeadLetter = d
		return ns, func() { d.Close() }, nil
	case "kafka":
		dcfg := sc.Kafka
		dcfg.Topic, dcfg.DefaultTopic = sc.DeadLetter.Topic, sc.DeadLetter.Topic
		d, err := kafkasink.NewDeadLetter(dcfg, sinkLog, m)
		if err != nil {
			return ns, nil, err
		}
		if err := d.Start(ctx); err != nil {
			topicsErr = errors.Join(topicsErr, fmt.Errorf("dead_letter: %w", err))
		}
		if topicsErr != nil {
			return ns, nil, topicsErr
		}
		ns.DeadLetter = d
		return ns, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d.Close(ctx)
		}, nil
	}
	return ns, nil, nil
}

func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(redact.Handler(h))
}

// indent lists joined errors one per line, credentials in URLs redacted.
func indent(err error) string {
	var out string
	for _, e := range confcheck.List(err) {
		out += "  " + redact.URLs(e.Error()) + "\n"
	}
	return out
}
