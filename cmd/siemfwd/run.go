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
	"siemfwd/pipeline/ledger"
	"siemfwd/pipeline/metrics"
	"siemfwd/process"
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

// serve builds every part, starts them (sinks, then sources), runs the
// pipeline until ctx ends and its drain is over, then closes the parts in
// the reverse order. A part that fails to start closes those started before
// it, and serve returns before an event is read.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stdoutW io.Writer) error {
	m := metrics.New()
	m.BuildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	km := kafkasrc.NewMetrics()
	if err := km.Register(m.Registry); err != nil {
		return err
	}
	led := ledger.New(cfg.Ledger, nil)
	if err := led.Register(m.Registry); err != nil {
		return err
	}

	// Build: nothing is bound, opened or connected yet.
	var parts []part
	var sinks []pipeline.NamedSink
	var buffers []*diskBuffer // per sink; nil without a disk buffer
	for _, name := range sortedKeys(cfg.Sinks) {
		m.InitSink(name)
		ns, sinkParts, buf, err := newSink(name, cfg.Sinks[name], cfg.Pipeline.DataDir, log, m, stdoutW)
		if err != nil {
			return fmt.Errorf("sink %s: %w", name, err)
		}
		parts = append(parts, part{"sink " + name, sinkParts})
		sinks = append(sinks, ns)
		buffers = append(buffers, buf)
	}
	var sources []pipeline.Source
	for _, name := range sortedKeys(cfg.Sources) {
		m.InitSource(name)
		src, err := newSource(name, cfg.Sources[name], log, m, km, led)
		if err != nil {
			return fmt.Errorf("source %s: %w", name, err)
		}
		sources = append(sources, src)
	}
	if len(cfg.Ledger.ExpectedSenders) > 0 || cfg.Ledger.DefaultInterval > 0 {
		sources = append(sources, process.NewSilenceAlerts(led, cfg.Ledger.CheckInterval, log.With("component", "ledger")))
	}
	hostname, _ := os.Hostname()
	opts := process.ProcessOptions{KeepOriginal: cfg.Process.KeepOriginal, Namespace: cfg.Process.Namespace,
		AgentName: hostname, AgentVersion: version}
	if gc := cfg.Process.Enrich.GeoIP; gc.Enabled() {
		geo, err := geoip.New(gc, log.With("component", "geoip"))
		if err != nil {
			return err
		}
		parts = append(parts, part{"geoip", &background{run: geo.Run}})
		opts.GeoIP = geo
	}
	if mc := cfg.Process.Enrich.MailFlow; mc.Enabled {
		tracker := mailflow.New(mc)
		summaries := process.NewMailFlowSummaries(tracker, opts.GeoIP, min(mc.Timeout/10, 10*time.Second), opts, m)
		sources = append(sources, summaries)
		opts.MailFlow, opts.OfferSummary = tracker, summaries.Offer
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "siemfwd_mail_flow_open_messages",
			Help: "Kerio Connect messages waiting for their delivery results."}, func() float64 { return float64(tracker.Stats().Open) }))
	}
	for _, src := range sources {
		parts = append(parts, part{"source " + src.Name(), src})
	}

	// Start, sinks first and sources last: a source reads only once every
	// sink can take what it reads.
	started := lifecycle{log: log}
	if err := started.start(ctx, parts...); err != nil {
		return err
	}
	for i, buf := range buffers {
		if buf != nil {
			sinks[i].Buffer = buf.buf
		}
	}
	processing, newProcessor := chooseProcessing(sinks, opts, m)
	plog := log.With("component", "pipeline")
	plog.Info("event processing", "mode", processing)
	p, err := pipeline.New(cfg.Pipeline, sources, sinks, newProcessor, led, plog, m)
	if err != nil {
		started.close()
		return err
	}
	if cfg.Admin.Address != "" {
		// Started last, closed first, after the drain: /metrics stays up while draining.
		admin := &adminPart{cfg: cfg.Admin, deps: adminDeps{Gatherer: m.Registry, Ready: p.Ready, Ledger: led},
			log: log.With("component", "admin")}
		if err := started.start(ctx, part{"admin", admin}); err != nil {
			return err
		}
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

	stopped, err := runPipeline(ctx, p, m.Registry, log)
	if stopped {
		// Parts that a pipeline still running after an abort may use are
		// left as they are: the process exits.
		started.close()
	}
	return err
}

// newSource builds one source with everything it needs; its Start binds,
// locks or connects.
func newSource(name string, sc SourceConfig, log *slog.Logger, m *metrics.Metrics, km *kafkasrc.Metrics, led *ledger.Ledger) (pipeline.Source, error) {
	switch sc.Type {
	case "syslog":
		return syslogsrc.New(name, sc.Syslog, log, m, led)
	case "file":
		return filesrc.New(name, sc.File, log, m)
	case "kafka":
		return kafkasrc.New(name, sc.Kafka, log, m, km)
	}
	return nil, fmt.Errorf("unknown source type %q", sc.Type)
}

// newSink builds one sink, its dead-letter destination and its disk buffer.
// They start together (so one start reports a Kafka sink's missing topics
// and its dead-letter topic's); buf is the disk buffer, nil for a memory one.
func newSink(name string, sc SinkConfig, dataDir string, log *slog.Logger, m *metrics.Metrics, stdoutW io.Writer) (ns pipeline.NamedSink, parts together, buf *diskBuffer, err error) {
	ns = pipeline.NamedSink{Name: name, Config: sc.Common}
	sinkLog := log.With("component", "sink", "sink", name)
	switch sc.Type {
	case "stdout":
		ns.Sink = stdout.New(stdoutW)
	case "kafka":
		if ns.Sink, err = kafkasink.New(sc.Kafka, sinkLog, m); err != nil {
			return ns, nil, nil, err
		}
	case "elasticsearch":
		s, err := essink.New(sc.Elasticsearch, sinkLog, m)
		if err != nil {
			return ns, nil, nil, err
		}
		ns.Sink = s
		if sc.DeadLetter.Type == "elasticsearch" {
			ns.DeadLetter = s.DeadLetterQueue() // the sink's own index: it starts and closes with the sink
		}
	default:
		return ns, nil, nil, fmt.Errorf("unknown sink type %q", sc.Type)
	}
	parts = together{{"", ns.Sink}}
	switch sc.DeadLetter.Type {
	case "file":
		d := deadletter.NewFile(sc.DeadLetter.File)
		ns.DeadLetter = d
		parts = append(parts, part{"dead_letter", d})
	case "kafka":
		dcfg := sc.Kafka
		dcfg.Topic, dcfg.DefaultTopic = sc.DeadLetter.Topic, sc.DeadLetter.Topic
		d, err := kafkasink.NewDeadLetter(dcfg, sinkLog, m)
		if err != nil {
			return ns, nil, nil, fmt.Errorf("dead_letter: %w", err)
		}
		ns.DeadLetter = d
		parts = append(parts, part{"dead_letter", d})
	}
	if sc.Common.Buffer.Type == "disk" {
		buf = &diskBuffer{dir: filepath.Join(dataDir, "buffer", name), sink: name, cfg: sc.Common.Buffer.Disk(),
			log: log.With("component", "disk_buffer", "sink", name), m: m}
		parts = append(parts, part{"buffer", buf})
	}
	return ns, parts, buf, nil
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
