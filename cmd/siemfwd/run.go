package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"

	"siemfwd/configs"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/sinks/stdout"
	syslogsrc "siemfwd/sources/syslog"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage:
  siemfwd run [-c FILE]       run the pipeline (without -c: the embedded default config)
  siemfwd validate [-c FILE]  check a config; print every problem with its key
  siemfwd version             print the version
`

// run is the whole program; it returns the exit code. Its inputs are passed
// in so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdoutW, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintf(stdoutW, "siemfwd %s %s\n", version, runtime.Version())
		return 0
	case "validate", "run":
	default:
		fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "config file (YAML); default: the embedded configs/siemfwd.yaml")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := readConfig(*file, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "invalid configuration:\n%s\n", indent(err))
		return 1
	}
	if args[0] == "validate" {
		fmt.Fprintln(stdoutW, "configuration OK")
		return 0
	}
	log := newLogger(cfg.Log, stderr)
	if err := serve(ctx, cfg, log, stdoutW); err != nil {
		log.Error("siemfwd failed", "err", err)
		return 1
	}
	return 0
}

func readConfig(file string, getenv func(string) string) (Config, error) {
	yaml := configs.Default
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return Config{}, err
		}
		yaml = b
	}
	cfg, err := loadConfig(yaml, getenv)
	return cfg, errors.Join(err, cfg.Validate())
}

// serve builds every part, starts sinks, workers and sources in that order,
// and drains them when ctx ends.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stdoutW io.Writer) error {
	m := metrics.New()
	m.BuildInfo.WithLabelValues(version, runtime.Version()).Set(1)

	var sources []pipeline.Source
	for _, name := range sortedKeys(cfg.Sources) {
		sc := cfg.Sources[name]
		switch sc.Type {
		case "syslog":
			s, err := syslogsrc.New(name, sc.Syslog, log, m)
			if err != nil {
				return fmt.Errorf("source %s: %w", name, err)
			}
			// Bind now, so that a port in use fails the start instead of a goroutine.
			if err := s.Listen(); err != nil {
				return fmt.Errorf("source %s: %w", name, err)
			}
			sources = append(sources, s)
		}
	}
	var sinks []pipeline.NamedSink
	for _, name := range sortedKeys(cfg.Sinks) {
		sc := cfg.Sinks[name]
		ns := pipeline.NamedSink{Name: name, Config: sc.Common}
		switch sc.Type {
		case "stdout":
			ns.Sink = stdout.New(stdoutW)
		}
		sinks = append(sinks, ns)
	}

	hostname, _ := os.Hostname()
	opts := pipeline.ProcessOptions{KeepOriginal: cfg.Pipeline.KeepOriginal, Namespace: cfg.Pipeline.Namespace,
		AgentName: hostname, AgentVersion: version}
	p, err := pipeline.New(cfg.Pipeline, sources, sinks,
		func() pipeline.Processor { return pipeline.NewECSProcessor(opts, m) },
		log.With("component", "pipeline"), m)
	if err != nil {
		return err
	}
	if cfg.Admin.Address != "" {
		stopAdmin, err := startAdmin(cfg.Admin.Address, m, log)
		if err != nil {
			return err
		}
		defer stopAdmin()
	}
	return p.Run(ctx)
}

func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// indent lists joined errors one per line.
func indent(err error) string {
	var out string
	for _, e := range prefixed("", err) {
		out += "  " + e.Error()[1:] + "\n"
	}
	return out
}
