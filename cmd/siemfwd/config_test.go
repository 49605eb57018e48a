package main

import (
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/configs"
	"siemfwd/pipeline"
)

func noEnv(string) (string, bool) { return "", false }

func TestEmbeddedDefaultConfigIsValid(t *testing.T) {
	cfg, err := loadConfig(configs.Default, noEnv)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Equal(t, "udp", cfg.Sources["syslog_udp"].Syslog.Protocol)
	require.Equal(t, "127.0.0.1:5514", cfg.Sources["syslog_udp"].Syslog.Address)
	require.Equal(t, "tcp", cfg.Sources["syslog_tcp"].Syslog.Protocol)
	require.Equal(t, 5*time.Minute, cfg.Sources["syslog_tcp"].Syslog.IdleTimeout)
	require.Equal(t, "stdout", cfg.Sinks["console"].Type)
	require.Equal(t, pipeline.WhenFullBlock, cfg.Sinks["console"].Common.WhenFull)
}

func TestEveryConfigFileInConfigsLoadsAndValidates(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "configs", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		if f == referenceConfig {
			continue // its values are the defaults, including the empty required ones
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			cfg, err := loadConfig(b, noEnv)
			require.NoError(t, err)
			require.NoError(t, cfg.Validate())
			// An example keeps every event through an outage of its
			// destinations, and finds (or makes) the topics it writes to.
			for name, sc := range cfg.Sinks {
				require.True(t, sc.Common.WhenFull == pipeline.WhenFullBlock || sc.Common.Buffer.Type == "disk",
					"sinks.%s: an outage loses events (when_full %s, buffer %s)", name, sc.Common.WhenFull, sc.Common.Buffer.Type)
				if sc.Type == "kafka" {
					require.True(t, sc.Kafka.CreateTopics, "sinks.%s: a fresh broker has none of its topics: create_topics", name)
				}
			}
			// An example must not teach an open admin listener.
			if host, _, _ := net.SplitHostPort(cfg.Admin.Address); cfg.Admin.Address != "" && !isLoopbackHost(host) {
				require.NotEmpty(t, cfg.Admin.TokenFile, "admin.address %s is beyond loopback without admin.token_file", cfg.Admin.Address)
			}
		})
	}
}

func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func TestEnvironmentOverridesAnyKey(t *testing.T) {
	env := map[string]string{
		"SIEMFWD_SOURCES_SYSLOG_TCP_ADDRESS":         "127.0.0.1:6000",
		"SIEMFWD_SOURCES_SYSLOG_TCP_MAX_CONNECTIONS": "7", // not in the file: a default
		"SIEMFWD_PIPELINE_SHUTDOWN_TIMEOUT":          "5s",
		"SIEMFWD_SINKS_CONSOLE_WHEN_FULL":            "drop_newest",
		"SIEMFWD_LOG_LEVEL":                          "debug",
	}
	yaml := `
sources:
  syslog_tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:5514"}
sinks:
  console: {type: stdout}
`
	cfg, err := loadConfig([]byte(yaml), envOf(env))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Equal(t, "127.0.0.1:6000", cfg.Sources["syslog_tcp"].Syslog.Address)
	require.Equal(t, 7, cfg.Sources["syslog_tcp"].Syslog.MaxConnections)
	require.Equal(t, 5*time.Second, cfg.Pipeline.ShutdownTimeout)
	require.Equal(t, pipeline.WhenFullDropNewest, cfg.Sinks["console"].Common.WhenFull)
	require.Equal(t, "debug", cfg.Log.Level)
}

func TestConfigErrorsNameTheKeyAndTheReason(t *testing.T) {
	yaml := `
logg: {level: info}
pipeline: {queue_batches: 0, shutdown_timeout: -1s}
runtime: {gc_percent: 0, memory_limit: -1}
sources:
  udp: {type: syslog, protocol: udpp, address: "127.0.0.1:5514", readres: 2}
  what: {type: carrier-pigeon}
sinks:
  out: {type: stdout, when_full: maybe, route: {dataset: {includ: [x]}}}
`
	cfg, err := loadConfig([]byte(yaml), noEnv)
	all := strings.Join([]string{errString(err), errString(cfg.Validate())}, "\n")
	for _, want := range []string{
		"logg: unknown key",
		"sources.udp.readres: unknown key",
		`sources.what.type: unknown source type "carrier-pigeon"`,
		"sinks.out.route.dataset.includ: unknown key",
		"pipeline.queue_batches: must be > 0, got 0",
		"pipeline.shutdown_timeout: must be > 0",
		`sinks.out.when_full: must be "block" or "drop_newest", got "maybe"`,
		"sources.udp.protocol:",
		"runtime.gc_percent: must be > 0, got 0",
		"runtime.memory_limit: must be >= 0 bytes, got -1",
	} {
		require.Contains(t, all, want)
	}
}

func TestRuntimeSettingsApplyUnlessGoEnvironmentSetsThem(t *testing.T) {
	prevGC, prevLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(prevGC); debug.SetMemoryLimit(prevLimit) })
	discard := slog.New(slog.DiscardHandler)

	applyRuntime(RuntimeConfig{GCPercent: 250, MemoryLimit: 1 << 30}, func(string) string { return "" }, discard)
	require.Equal(t, 250, debug.SetGCPercent(100))
	require.Equal(t, int64(1<<30), debug.SetMemoryLimit(math.MaxInt64))

	goEnv := map[string]string{"GOGC": "150", "GOMEMLIMIT": "2GiB"}
	applyRuntime(RuntimeConfig{GCPercent: 250, MemoryLimit: 1 << 30}, func(k string) string { return goEnv[k] }, discard)
	require.Equal(t, 100, debug.SetGCPercent(100), "GOGC in the environment wins")
	require.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(math.MaxInt64), "GOMEMLIMIT in the environment wins")
}

func TestValidateCommandPrintsEveryProblemAndExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("sources: {}\nsinks: {}\nlog: {level: loud}\n"), 0o644))
	var stdout, stderr strings.Builder
	code := run(t.Context(), []string{"validate", "-c", bad}, noEnv, &stdout, &stderr)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr.String(), "log.level: must be debug, info, warn or error")
	require.Contains(t, stderr.String(), "sources: at least one source is required")

	stdout.Reset()
	code = run(t.Context(), []string{"validate"}, noEnv, &stdout, &stderr)
	require.Equal(t, 0, code)
	require.Contains(t, stdout.String(), "configuration OK")
}

func TestRunRefusesABadConfigBeforeListening(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(`
sources: {tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:0", max_connections: -1}}
sinks: {out: {type: stdout}}
`), 0o644))
	var stdout, stderr strings.Builder
	require.Equal(t, 1, run(t.Context(), []string{"run", "-c", bad}, noEnv, &stdout, &stderr))
	require.Contains(t, stderr.String(), "sources.tcp.max_connections")
	require.NotContains(t, stderr.String(), "listening")
}

func TestVersionCommand(t *testing.T) {
	var stdout, stderr strings.Builder
	require.Equal(t, 0, run(t.Context(), []string{"version"}, noEnv, &stdout, &stderr))
	require.Contains(t, stdout.String(), "siemfwd ")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSinkAndSourceTypesDecodeTheirOwnKeys(t *testing.T) {
	yaml := `
sources:
  files: {type: file, paths: ["/var/log/kerio/*.log"], state_dir: /tmp/x, product: kerio_connect}
sinks:
  k:
    type: kafka
    brokers: ["127.0.0.1:9092"]
    topic: "kerio-{event.dataset}"
    when_full: drop_newest
    dead_letter: {type: kafka, topic: dlq}
  out:
    type: stdout
    dead_letter: {type: file, file: {path: /tmp/dlq.ndjson}}
`
	cfg, err := loadConfig([]byte(yaml), noEnv)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Equal(t, []string{"/var/log/kerio/*.log"}, cfg.Sources["files"].File.Paths)
	require.Equal(t, "kerio-{event.dataset}", cfg.Sinks["k"].Kafka.Topic)
	require.Equal(t, pipeline.WhenFullDropNewest, cfg.Sinks["k"].Common.WhenFull)
	require.Equal(t, "dlq", cfg.Sinks["k"].DeadLetter.Topic)
	require.Equal(t, "/tmp/dlq.ndjson", cfg.Sinks["out"].DeadLetter.File.Path)
	require.Equal(t, int64(1<<30), cfg.Sinks["out"].DeadLetter.File.MaxBytes)

	bad := `
sources: {f: {type: file}}
sinks:
  out: {type: stdout, brokers: [x], dead_letter: {type: kafka}}
`
	cfg, err = loadConfig([]byte(bad), noEnv)
	all := errString(err) + "\n" + errString(cfg.Validate())
	require.Contains(t, all, "sinks.out.brokers: unknown key")
	require.Contains(t, all, "sinks.out.dead_letter.type: kafka is for kafka sinks")
	require.Contains(t, all, "sources.f.paths")
	require.Contains(t, all, "sources.f.state_dir")
}

func TestEnrichmentKeys(t *testing.T) {
	cfg, err := loadConfig([]byte(`
pipeline:
  enrich:
    mail_flow: {enabled: true, timeout: 5m}
    geoip: {city_db: /var/lib/GeoIP/GeoLite2-City.mmdb}
sources: {udp: {type: syslog, protocol: udp, address: "127.0.0.1:0"}}
sinks: {out: {type: stdout}}
`), noEnv)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.True(t, cfg.Process.Enrich.MailFlow.Enabled)
	require.Equal(t, 5*time.Minute, cfg.Process.Enrich.MailFlow.Timeout)
	require.Equal(t, 100000, cfg.Process.Enrich.MailFlow.MaxOpenMessages, "defaults fill what the file leaves out")
	require.True(t, cfg.Process.Enrich.GeoIP.Enabled())

	cfg, _ = loadConfig([]byte(`
pipeline: {enrich: {mail_flow: {enabled: true, timeout: 0s}}}
sources: {udp: {type: syslog, protocol: udp, address: "127.0.0.1:0"}}
sinks: {out: {type: stdout}}
`), noEnv)
	require.ErrorContains(t, cfg.Validate(), "pipeline.enrich.mail_flow.timeout")
}

func TestDockerComposeRunsTheDockerConfig(t *testing.T) {
	compose, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	require.NoError(t, err)
	require.Contains(t, string(compose), "/configs/docker.yaml")
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "docker.yaml"))
	require.NoError(t, err)
	cfg, err := loadConfig(b, noEnv)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	// The services the config names are the services compose starts.
	require.Equal(t, []string{"kafka:9092"}, cfg.Sinks["kafka"].Kafka.Brokers)
	require.Contains(t, string(compose), "\n  kafka:\n")
	require.Equal(t, []string{"http://elasticsearch:9200"}, cfg.Sinks["elasticsearch"].Elasticsearch.Addresses)
	require.Contains(t, string(compose), "\n  elasticsearch:\n")
}

// envOf is a lookupEnv over a map: a key present with "" is set, but empty.
func envOf(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestAnEmptyEnvironmentVariableOverridesAValue(t *testing.T) {
	yaml := `
sources: {in: {type: syslog, protocol: tcp, address: "127.0.0.1:5514", timezone: Europe/Prague}}
sinks: {out: {type: stdout}}
`
	cfg, err := loadConfig([]byte(yaml), envOf(map[string]string{"SIEMFWD_SOURCES_IN_TIMEZONE": ""}))
	require.NoError(t, err)
	require.Equal(t, "", cfg.Sources["in"].Syslog.Timezone, "set but empty clears the value")
	cfg, err = loadConfig([]byte(yaml), noEnv)
	require.NoError(t, err)
	require.Equal(t, "Europe/Prague", cfg.Sources["in"].Syslog.Timezone, "unset leaves it")
}

func TestKeysAreCaseSensitive(t *testing.T) {
	yaml := `
Pipeline: {queue_batches: 4}
pipeline: {Shutdown_Timeout: 5s}
sources:
  In: {type: syslog, protocol: tcp, address: "127.0.0.1:5514",
       profiles: [{name: p, match: {addresses: [10.0.0.1]}, labels: {Env: prod}, observer: {type: Firewall}}]}
sinks: {out: {type: stdout}}
`
	_, err := loadConfig([]byte(yaml), noEnv)
	require.Error(t, err)
	for _, want := range []string{
		"Pipeline: unknown key (keys are case-sensitive; did you mean pipeline?)",
		"pipeline.Shutdown_Timeout: unknown key (keys are case-sensitive; did you mean shutdown_timeout?)",
		`sources.In: names are case-sensitive and must be lower case, got "In"`,
		`sources.In.profiles[0].labels.Env: names are case-sensitive and must be lower case, got "Env"`,
	} {
		require.Contains(t, err.Error(), want)
	}
	require.NotContains(t, err.Error(), "Firewall", "values are not keys")
}

func TestEnumeratedValuesIgnoreCase(t *testing.T) {
	yaml := `
log: {level: DEBUG, format: JSON}
sources:
  in: {type: Syslog, protocol: TCP, address: "127.0.0.1:5514", tls: {client_auth: None},
       profiles: [{name: p, match: {addresses: [10.0.0.1]}, product: Kerio_Connect, observer: {type: Firewall}}]}
sinks:
  k: {type: Kafka, brokers: ["127.0.0.1:9092"], when_full: Drop_Newest, compression: ZSTD,
      sasl: {mechanism: PLAIN, username: u, password: p}}
`
	cfg, err := loadConfig([]byte(yaml), noEnv)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Equal(t, "debug", cfg.Log.Level)
	require.Equal(t, "json", cfg.Log.Format)
	require.Equal(t, "tcp", cfg.Sources["in"].Syslog.Protocol)
	require.Equal(t, "kerio_connect", cfg.Sources["in"].Syslog.Profiles[0].Product)
	require.Equal(t, "Firewall", cfg.Sources["in"].Syslog.Profiles[0].Observer.Type, "free text keeps its case")
	require.Equal(t, "plain", cfg.Sinks["k"].Kafka.SASL.Mechanism)
	require.Equal(t, pipeline.WhenFullDropNewest, cfg.Sinks["k"].Common.WhenFull)
}

func TestHelpAndConfigFlags(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"-help"}, {"run", "-h"}, {"validate", "--help"}} {
		var stdout, stderr strings.Builder
		require.Equal(t, 0, run(t.Context(), args, noEnv, &stdout, &stderr), "%v", args)
		require.Contains(t, stdout.String(), "siemfwd run [-c FILE]", "%v", args)
		require.Contains(t, stdout.String(), "-c, --config FILE", "%v", args)
	}
	var stdout, stderr strings.Builder
	require.Equal(t, 2, run(t.Context(), []string{"run", "--nope"}, noEnv, &stdout, &stderr))
	require.Contains(t, stderr.String(), "flag provided but not defined: -nope")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("sources: {}\nsinks: {}\n"), 0o644))
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"-c", []string{"validate", "-c", bad}, nil},
		{"--config", []string{"validate", "--config", bad}, nil},
		{"--config=", []string{"validate", "--config=" + bad}, nil},
		{"SIEMFWD_CONFIG", []string{"validate"}, map[string]string{"SIEMFWD_CONFIG": bad}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			require.Equal(t, 1, run(t.Context(), tt.args, envOf(tt.env), &stdout, &stderr), "the bad file was read")
			require.Contains(t, stderr.String(), "sources: at least one source is required")
		})
	}
	stdout.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"validate", "-c", ""}, envOf(map[string]string{"SIEMFWD_CONFIG": bad}), &stdout, &stderr),
		"-c wins over SIEMFWD_CONFIG; empty means the embedded config")
}
