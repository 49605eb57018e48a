package main

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"siemfwd/internal/confcheck"
	"siemfwd/pipeline"
	"siemfwd/pipeline/ledger"
	"siemfwd/process"
	"siemfwd/sinks/deadletter"
	essink "siemfwd/sinks/elasticsearch"
	kafkasink "siemfwd/sinks/kafka"
	"siemfwd/sinks/stdout"
	filesrc "siemfwd/sources/file"
	kafkasrc "siemfwd/sources/kafka"
	syslogsrc "siemfwd/sources/syslog"
)

// Config is the whole configuration file. This file is the only user of viper.
type Config struct {
	// Log configures siemfwd's own logs (stderr).
	Log LogConfig `mapstructure:"log"`
	// Admin is the HTTP listener for /metrics, /healthz, /readyz and /senders.
	Admin AdminServerConfig `mapstructure:"admin"`
	// Ledger is the per-sender loss ledger and its silence alerts.
	Ledger ledger.Config `mapstructure:"ledger"`
	// Pipeline tunes the workers and the shutdown: the engine's keys of the
	// pipeline section.
	Pipeline pipeline.Config `mapstructure:"pipeline"`
	// Process says what the documents hold: the processor's keys of the
	// pipeline section (keep_original, namespace, enrich).
	Process process.Config `mapstructure:"-"`
	// Runtime tunes Go's garbage collector.
	Runtime RuntimeConfig `mapstructure:"runtime"`
	// Sources by name.
	Sources map[string]SourceConfig `mapstructure:"-"`
	// Sinks by name.
	Sinks map[string]SinkConfig `mapstructure:"-"`
}

// LogConfig configures siemfwd's own logs.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level"`
	// Format is text or json.
	Format string `mapstructure:"format"`
}

// RuntimeConfig trades memory for CPU in Go's garbage collector. Go's own
// GOGC and GOMEMLIMIT environment variables, when set, win over it.
type RuntimeConfig struct {
	// GCPercent is the heap growth that triggers a collection (Go's GOGC).
	// Every event's frame and JSON are allocated (in shared blocks), so at
	// 100 (Go's default) the collector runs several times a second under
	// load. Measured against 200: the same CPU on TCP, but ~20 % less on
	// the file source, for ~40–130 MiB more heap.
	GCPercent int `mapstructure:"gc_percent"`
	// MemoryLimit is a soft limit on the Go heap in bytes (Go's GOMEMLIMIT);
	// near it the collector runs more often, whatever GCPercent says. 0 = none.
	MemoryLimit int64 `mapstructure:"memory_limit"`
}

// SourceConfig is one source: its type and that type's settings.
type SourceConfig struct {
	Type   string
	Syslog syslogsrc.Config
	File   filesrc.Config
	Kafka  kafkasrc.Config
}

// sourceTypes are the values of sources.NAME.type.
const sourceTypes = "syslog, file, kafka"

// settings returns a pointer to the settings of the source's type, filled
// with that type's defaults, or nil for an unknown type.
func (sc *SourceConfig) settings() any {
	switch sc.Type {
	case "syslog":
		sc.Syslog = syslogsrc.DefaultConfig()
		return &sc.Syslog
	case "file":
		sc.File = filesrc.DefaultConfig()
		return &sc.File
	case "kafka":
		sc.Kafka = kafkasrc.DefaultConfig()
		return &sc.Kafka
	}
	return nil
}

func (sc SourceConfig) validate() error {
	switch sc.Type {
	case "syslog":
		return sc.Syslog.Validate()
	case "file":
		return sc.File.Validate()
	case "kafka":
		return sc.Kafka.Validate()
	}
	return nil
}

// drainTimeout is how long a replaying source waits for acks at shutdown.
func (sc SourceConfig) drainTimeout() time.Duration {
	switch sc.Type {
	case "file":
		return sc.File.DrainTimeout
	case "kafka":
		return sc.Kafka.DrainTimeout
	}
	return 0
}

// SinkConfig is one sink: its type, the settings every sink has, its dead
// letter destination and its type's settings.
type SinkConfig struct {
	Type          string
	Common        pipeline.SinkConfig
	DeadLetter    DeadLetterConfig
	Stdout        stdout.Config
	Kafka         kafkasink.Config
	Elasticsearch essink.Config
}

// sinkTypes are the values of sinks.NAME.type.
const sinkTypes = "stdout, kafka, elasticsearch"

// settings returns a pointer to the settings of the sink's type, filled with
// that type's defaults, or nil for an unknown type.
func (sc *SinkConfig) settings() any {
	switch sc.Type {
	case "stdout":
		sc.Stdout = stdout.DefaultConfig()
		return &sc.Stdout
	case "kafka":
		sc.Kafka = kafkasink.DefaultConfig()
		return &sc.Kafka
	case "elasticsearch":
		sc.Elasticsearch = essink.DefaultConfig()
		return &sc.Elasticsearch
	}
	return nil
}

func (sc SinkConfig) validate() error {
	errs := []error{sc.Common.Validate(), sc.DeadLetter.validate(sc.Type)}
	switch sc.Type {
	case "stdout":
		errs = append(errs, sc.Stdout.Validate())
	case "kafka":
		errs = append(errs, sc.Kafka.Validate())
	case "elasticsearch":
		errs = append(errs, sc.Elasticsearch.Validate())
	}
	return errors.Join(errs...)
}

// DeadLetterConfig says where a sink's refused events go. A Kafka sink can
// use a topic on its own brokers, an Elasticsearch sink a data stream on its
// own cluster (its dead_letter_index); any sink can use a file. With none,
// refused events are logged and counted as failed.
type DeadLetterConfig struct {
	// Type is none, file, kafka (kafka sinks only) or elasticsearch
	// (elasticsearch sinks only; the data stream is the sink's dead_letter_index).
	Type string `mapstructure:"type"`
	// File is the NDJSON file for type file.
	File deadletter.Config `mapstructure:"file"`
	// Topic is the dead-letter topic for type kafka.
	Topic string `mapstructure:"topic"`
}

func defaultDeadLetter() DeadLetterConfig {
	return DeadLetterConfig{Type: "none", File: deadletter.DefaultConfig(), Topic: "siemfwd-deadletter"}
}

func (c DeadLetterConfig) validate(sinkType string) error {
	switch c.Type {
	case "none":
		return nil
	case "file":
		return confcheck.Under("dead_letter.file", c.File.Validate())
	case "kafka":
		if sinkType != "kafka" {
			return fmt.Errorf("dead_letter.type: kafka is for kafka sinks (it uses the sink's brokers); use file for a %s sink", sinkType)
		}
		if c.Topic == "" {
			return errors.New("dead_letter.topic: required for type kafka")
		}
		return nil
	case "elasticsearch":
		if sinkType != "elasticsearch" {
			return fmt.Errorf("dead_letter.type: elasticsearch is for elasticsearch sinks (it uses the sink's cluster); use file for a %s sink", sinkType)
		}
		return nil
	}
	return fmt.Errorf("dead_letter.type: must be none, file, kafka or elasticsearch, got %q", c.Type)
}

func defaultConfig() Config {
	return Config{
		Log:      LogConfig{Level: "info", Format: "text"},
		Admin:    DefaultAdminServerConfig(),
		Ledger:   ledger.DefaultConfig(),
		Pipeline: pipeline.DefaultConfig(),
		Process:  process.DefaultConfig(),
		Runtime:  RuntimeConfig{GCPercent: 400},
	}
}

// loadConfig reads YAML, applies SIEMFWD_* environment overrides and decodes
// it into typed structs. Unknown keys are errors, and keys are
// case-sensitive. It does not validate values.
func loadConfig(yaml []byte, lookupEnv func(string) (string, bool)) (Config, error) {
	// Viper folds every key to lower case; the YAML is checked first, so
	// that Queue_Batches is an unknown key and not queue_batches.
	var errs confcheck.Problems
	errs.Include(checkKeyCase(yaml))
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(yaml)); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}

	// Phase 1: register every key with its default, so that viper knows it
	// and the environment can override it (viper ignores the environment for
	// keys it does not know).
	cfg := defaultConfig()
	setDefaults(v, "log", cfg.Log)
	setDefaults(v, "admin", cfg.Admin)
	setDefaults(v, "pipeline", cfg.Pipeline)
	setDefaults(v, "pipeline", cfg.Process)
	setDefaults(v, "ledger", cfg.Ledger)
	setDefaults(v, "runtime", cfg.Runtime)
	sourceNames := sortedKeys(v.GetStringMap("sources"))
	sinkNames := sortedKeys(v.GetStringMap("sinks"))
	typeOf := func(key string) string {
		applyEnv(v, key+".type", lookupEnv)
		return strings.ToLower(v.GetString(key + ".type"))
	}
	cfg.Sources = map[string]SourceConfig{}
	for _, name := range sourceNames {
		key := "sources." + name
		sc := SourceConfig{Type: typeOf(key)}
		if settings := sc.settings(); settings != nil {
			setDefaults(v, key, reflect.ValueOf(settings).Elem().Interface())
		}
		cfg.Sources[name] = sc
	}
	cfg.Sinks = map[string]SinkConfig{}
	for _, name := range sinkNames {
		key := "sinks." + name
		sc := SinkConfig{Type: typeOf(key), Common: pipeline.DefaultSinkConfig(), DeadLetter: defaultDeadLetter()}
		if settings := sc.settings(); settings != nil {
			setDefaults(v, key, sc.Common)
			setDefaults(v, key+".dead_letter", sc.DeadLetter)
			setDefaults(v, key, reflect.ValueOf(settings).Elem().Interface())
		}
		cfg.Sinks[name] = sc
	}
	// Phase 2: SIEMFWD_<KEY> overrides, dots as underscores.
	for _, key := range v.AllKeys() {
		applyEnv(v, key, lookupEnv)
	}
	// Phase 3: decode into the typed structs; unknown keys are errors.
	all := v.AllSettings()
	lowerEnums(all)
	decode := func(key string, out any, extra ...string) {
		errs.Include(decodeKey(all, key, out, extra...))
	}
	decode("log", &cfg.Log)
	decode("admin", &cfg.Admin)
	// The pipeline section's keys are shared by the engine and the processor.
	decode("pipeline", &cfg.Pipeline, keysOf(cfg.Process)...)
	decode("pipeline", &cfg.Process, keysOf(cfg.Pipeline)...)
	decode("ledger", &cfg.Ledger)
	decode("runtime", &cfg.Runtime)

	for _, name := range sourceNames {
		key := "sources." + name
		sc := cfg.Sources[name]
		switch settings := sc.settings(); {
		case sc.Type == "":
			errs.Add(key+".type", "required (one of: %s)", sourceTypes)
		case settings == nil:
			errs.Add(key+".type", "unknown source type %q (one of: %s)", sc.Type, sourceTypes)
		default:
			decode(key, settings, "type")
		}
		cfg.Sources[name] = sc
	}
	for _, name := range sinkNames {
		key := "sinks." + name
		sc := cfg.Sinks[name]
		switch settings := sc.settings(); {
		case sc.Type == "":
			errs.Add(key+".type", "required (one of: %s)", sinkTypes)
		case settings == nil:
			errs.Add(key+".type", "unknown sink type %q (one of: %s)", sc.Type, sinkTypes)
		default:
			// The sink's keys are shared by three structs: each ignores the others' keys.
			own := keysOf(reflect.ValueOf(settings).Elem().Interface())
			common := keysOf(sc.Common)
			decode(key, &sc.Common, append(own, "type", "dead_letter")...)
			decode(key, settings, append(common, "type", "dead_letter")...)
			decode(key+".dead_letter", &sc.DeadLetter)
		}
		cfg.Sinks[name] = sc
	}
	for _, top := range sortedKeys(all) {
		if !slices.Contains([]string{"log", "admin", "ledger", "pipeline", "runtime", "sources", "sinks"}, top) {
			errs.Add(top, "unknown key")
		}
	}
	return cfg, errs.Err()
}

// Validate checks every value and reports every problem with its key path.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		errs.Add("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs.Add("log.format", "must be text or json, got %q", c.Log.Format)
	}
	if c.Runtime.GCPercent <= 0 {
		errs.Add("runtime.gc_percent", "must be > 0, got %d", c.Runtime.GCPercent)
	}
	if c.Runtime.MemoryLimit < 0 {
		errs.Add("runtime.memory_limit", "must be >= 0 bytes, got %d", c.Runtime.MemoryLimit)
	}
	errs.Under("pipeline", c.Pipeline.Validate())
	errs.Under("pipeline", c.Process.Validate())
	errs.Under("admin", c.Admin.Validate())
	errs.Under("ledger", c.Ledger.Validate())
	if len(c.Sources) == 0 {
		errs.Add("sources", "at least one source is required")
	}
	if len(c.Sinks) == 0 {
		errs.Add("sinks", "at least one sink is required")
	}
	for _, name := range sortedKeys(c.Sources) {
		errs.Under("sources."+name, c.Sources[name].validate())
		if drain := c.Sources[name].drainTimeout(); drain >= c.Pipeline.ShutdownTimeout {
			errs.Add("sources."+name+".drain_timeout", "must be shorter than pipeline.shutdown_timeout (%s), got %s",
				c.Pipeline.ShutdownTimeout, drain)
		}
	}
	for _, name := range sortedKeys(c.Sinks) {
		errs.Under("sinks."+name, c.Sinks[name].validate())
		if c.Sinks[name].Common.Buffer.Type == "disk" && c.Pipeline.DataDir == "" {
			errs.Add("pipeline.data_dir", "required, because sinks.%s.buffer.type is disk", name)
		}
	}
	return errs.Err()
}

// applyEnv overrides every known key from SIEMFWD_<KEY> with dots as
// underscores. A variable that is set but empty overrides too (to clear a
// value); only an unset one leaves the file's value.
func applyEnv(v *viper.Viper, key string, lookupEnv func(string) (string, bool)) {
	env := "SIEMFWD_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
	if val, ok := lookupEnv(env); ok {
		v.Set(key, val)
	}
}

// isEnumKey says whether a key's value is one of a few words that users
// type (PLAIN, TCP, Info): those values are compared without case.
func isEnumKey(key string) bool {
	switch key {
	case "type", "protocol", "mechanism", "level", "format", "mode", "when_full",
		"client_auth", "compression", "start_at", "start_offset", "sync", "product":
		return true
	}
	return false
}

// lowerEnums folds the values of enum keys to lower case in a settings tree,
// except under observer (observer.type is free text that goes into events).
func lowerEnums(tree map[string]any) {
	for k, val := range tree {
		switch x := val.(type) {
		case map[string]any:
			if k != "observer" {
				lowerEnums(x)
			}
		case []any:
			for _, item := range x {
				if m, ok := item.(map[string]any); ok {
					lowerEnums(m)
				}
			}
		case string:
			if isEnumKey(k) {
				tree[k] = strings.ToLower(x)
			}
		}
	}
}

// checkKeyCase reports every key of the YAML document that has an upper-case
// letter. Keys are case-sensitive and all lower case; the names users give
// (sources, sinks, labels) must be lower case too, since viper would fold
// them silently.
func checkKeyCase(doc []byte) error {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil // viper reports the syntax error
	}
	var errs confcheck.Problems
	var walk func(path string, n *yaml.Node)
	walk = func(path string, n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(path, c)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				full := key
				if path != "" {
					full = path + "." + key
				}
				if lower := strings.ToLower(key); lower != key {
					parent := path[strings.LastIndexByte(path, '.')+1:]
					if parent == "sources" || parent == "sinks" || parent == "labels" {
						errs.Add(full, "names are case-sensitive and must be lower case, got %q", key)
					} else {
						errs.Add(full, "unknown key (keys are case-sensitive; did you mean %s?)", lower)
					}
				}
				walk(full, n.Content[i+1])
			}
		}
	}
	walk("", &root)
	return errs.Err()
}

// setDefaults registers every key of def (a config struct) under prefix, so
// viper knows the key and environment overrides apply to it.
func setDefaults(v *viper.Viper, prefix string, def any) {
	for k, val := range flatten(def) {
		v.SetDefault(prefix+"."+k, val)
	}
}

// decodeKey decodes the subtree at key into out, reporting keys that out does
// not have (except those listed in extra, which belong to another struct).
func decodeKey(all map[string]any, key string, out any, extra ...string) error {
	var sub map[string]any = all
	for _, part := range strings.Split(key, ".") {
		sub, _ = sub[part].(map[string]any)
	}
	if sub == nil {
		return nil
	}
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           out,
		Metadata:         &md,
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	var errs confcheck.Problems
	if err := dec.Decode(sub); err != nil {
		errs.Under(key, err)
	}
	for _, u := range md.Unused {
		if !slices.Contains(extra, strings.SplitN(u, ".", 2)[0]) {
			errs.Add(key+"."+u, "unknown key")
		}
	}
	return errs.Err()
}

// flatten lists a config struct's keys (dotted, by mapstructure tag) with their values.
func flatten(s any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Duration(0)) {
				walk(prefix+tag+".", fv)
				continue
			}
			out[prefix+tag] = fv.Interface()
		}
	}
	walk("", reflect.ValueOf(s))
	return out
}

// keysOf lists the top-level keys of a config struct.
func keysOf(s any) []string {
	var keys []string
	for k := range flatten(s) {
		keys = append(keys, strings.SplitN(k, ".", 2)[0])
	}
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
