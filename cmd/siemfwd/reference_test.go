package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"siemfwd/pipeline"
	essink "siemfwd/sinks/elasticsearch"
	kafkasink "siemfwd/sinks/kafka"
	"siemfwd/sinks/stdout"
	filesrc "siemfwd/sources/file"
	kafkasrc "siemfwd/sources/kafka"
	syslogsrc "siemfwd/sources/syslog"
)

// referenceConfig is the commented reference of every key.
var referenceConfig = filepath.Join("..", "..", "configs", "reference.yaml")

var updateReference = flag.Bool("update", false, "rewrite configs/reference.yaml from the defaults and the config fields' doc comments")

// TestReferenceConfigHasEveryKeyWithItsDefault holds configs/reference.yaml
// to the code: every key of every DefaultConfig() is written in it (one
// source and one sink of each type, named after the type), loading it gives
// exactly the defaults, and it has no key the code does not know.
//
// After adding or changing a key: go test ./cmd/siemfwd -run TestReferenceConfig -update
func TestReferenceConfigHasEveryKeyWithItsDefault(t *testing.T) {
	if *updateReference {
		writeReference(t)
	}
	text, err := os.ReadFile(referenceConfig)
	require.NoError(t, err)
	cfg, err := loadConfig(text, noEnv)
	require.NoError(t, err, "the reference has a key the code does not know")
	var tree map[string]any
	require.NoError(t, yaml.Unmarshal(text, &tree))

	def := defaultConfig()
	type section struct {
		key       string
		got, want any
	}
	sections := []section{
		{"log", cfg.Log, def.Log},
		{"admin", cfg.Admin, def.Admin},
		{"ledger", cfg.Ledger, def.Ledger},
		{"pipeline", cfg.Pipeline, def.Pipeline},
		{"pipeline", cfg.Process, def.Process},
		{"runtime", cfg.Runtime, def.Runtime},
		{"sources.syslog", cfg.Sources["syslog"].Syslog, syslogsrc.DefaultConfig()},
		{"sources.file", cfg.Sources["file"].File, filesrc.DefaultConfig()},
		{"sources.kafka", cfg.Sources["kafka"].Kafka, kafkasrc.DefaultConfig()},
		{"sinks.stdout", cfg.Sinks["stdout"].Stdout, stdout.DefaultConfig()},
		{"sinks.kafka", cfg.Sinks["kafka"].Kafka, kafkasink.DefaultConfig()},
		{"sinks.elasticsearch", cfg.Sinks["elasticsearch"].Elasticsearch, essink.DefaultConfig()},
	}
	for _, name := range []string{"stdout", "kafka", "elasticsearch"} {
		sections = append(sections,
			section{"sinks." + name, cfg.Sinks[name].Common, pipeline.DefaultSinkConfig()},
			section{"sinks." + name + ".dead_letter", cfg.Sinks[name].DeadLetter, defaultDeadLetter()})
	}
	for _, s := range sections {
		got, want := flatten(s.got), flatten(s.want)
		for _, k := range slices.Sorted(maps.Keys(want)) {
			full := s.key + "." + k
			require.True(t, hasPath(tree, strings.Split(full, ".")), "%s: missing from %s (%s)", full, referenceConfig, regenerate)
			require.True(t, sameValue(got[k], want[k]), "%s: %v in %s, the default is %v (%s)", full, got[k], referenceConfig, want[k], regenerate)
		}
	}
	for _, kind := range []string{"sources", "sinks"} {
		names := slices.Sorted(maps.Keys(tree[kind].(map[string]any)))
		require.Equal(t, map[string][]string{"sources": {"file", "kafka", "syslog"}, "sinks": {"elasticsearch", "kafka", "stdout"}}[kind], names,
			"%s: one of each type, named after it", kind)
	}
}

// regenerate says how to bring configs/reference.yaml up to date.
const regenerate = "go test ./cmd/siemfwd -run TestReferenceConfig -update rewrites it"

// hasPath reports whether the YAML tree has the key path.
func hasPath(tree map[string]any, path []string) bool {
	v, ok := tree[path[0]]
	if !ok || len(path) == 1 {
		return ok
	}
	sub, ok := v.(map[string]any)
	return ok && hasPath(sub, path[1:])
}

// sameValue is reflect.DeepEqual, except that an empty list or map equals
// a nil one (YAML's [] and {} decode to empty, a default is often nil).
func sameValue(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Kind() == vb.Kind() && (va.Kind() == reflect.Slice || va.Kind() == reflect.Map) && va.Len() == 0 && vb.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// fieldDoc returns the doc comment of a config struct's field, read from
// its package's source; docs caches each package's comments by "Type.Field".
func fieldDoc(docs map[string]map[string]string, t reflect.Type, field string) string {
	pkg := t.PkgPath()
	m, ok := docs[pkg]
	if !ok {
		m = map[string]string{}
		dir := filepath.Join("..", "..", strings.TrimPrefix(strings.TrimPrefix(pkg, "siemfwd"), "/"))
		if pkg == "main" {
			dir = "."
		}
		fset := token.NewFileSet()
		pkgs, _ := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
		for _, p := range pkgs {
			for _, f := range p.Files {
				ast.Inspect(f, func(n ast.Node) bool {
					ts, ok := n.(*ast.TypeSpec)
					if !ok {
						return true
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						return true
					}
					for _, fl := range st.Fields.List {
						doc := fl.Doc.Text()
						if doc == "" {
							doc = fl.Comment.Text()
						}
						for _, nm := range fl.Names {
							m[ts.Name.Name+"."+nm.Name] = doc
						}
					}
					return true
				})
			}
		}
		docs[pkg] = m
	}
	return m[t.Name()+"."+field]
}

// render writes a default value as YAML.
func render(v reflect.Value) string {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.String: // JSON is YAML; v.String, not a Secret's REDACTED
		text, _ := json.Marshal(v.String())
		return string(text)
	case reflect.Map:
		text, _ := json.Marshal(v.Interface())
		return string(text)
	case reflect.Slice:
		var parts []string
		for i := range v.Len() {
			parts = append(parts, render(v.Index(i)))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// emitKeys writes the keys of the config struct v with their defaults,
// nested blocks for nested structs.
func emitKeys(b *strings.Builder, docs map[string]map[string]string, indent string, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		if doc := fieldDoc(docs, t, f.Name); doc != "" {
			if strings.HasPrefix(doc, f.Name+" ") {
				doc = tag + doc[len(f.Name):]
			}
			for _, l := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
				b.WriteString(indent + "# " + l + "\n")
			}
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Duration(0)) {
			b.WriteString(indent + tag + ":\n")
			emitKeys(b, docs, indent+"  ", fv)
			continue
		}
		b.WriteString(indent + tag + ": " + render(fv) + "\n")
	}
}

// referenceHeader opens configs/reference.yaml.
const referenceHeader = `# Reference: every key siemfwd reads, with its default value and what it does.
#
# Not a configuration to run as it is: it names one source and one sink of each
# type, called after the type. A few keys have an empty default that the type
# needs set: paths (file source); brokers, group_id and topics or topic_regex
# (Kafka source); brokers (Kafka sink). Copy the keys you need into your own
# file (configs/*.yaml are working examples); a key left out keeps the default
# shown here. Every key can also be set from the environment: SIEMFWD_ and the
# key path in capitals with dots as underscores, e.g.
# SIEMFWD_PIPELINE_QUEUE_BATCHES=128.
#
# Durations are Go durations (100ms, 30s, 1m0s, 168h0m0s); sizes are bytes.
# cmd/siemfwd/reference_test.go fails when a key of the code is missing here
# or its value differs from the default.
`

// writeReference writes configs/reference.yaml from the defaults, each key
// under its field's doc comment.
func writeReference(t *testing.T) {
	t.Helper()
	var b strings.Builder
	docs := map[string]map[string]string{}
	b.WriteString(referenceHeader)
	c := defaultConfig()
	type part struct {
		key string
		def any
	}
	for _, s := range []part{{"log", c.Log}, {"admin", c.Admin}, {"ledger", c.Ledger}, {"pipeline", c.Pipeline}, {"runtime", c.Runtime}} {
		b.WriteString("\n" + s.key + ":\n")
		emitKeys(&b, docs, "  ", reflect.ValueOf(s.def))
		if s.key == "pipeline" { // the engine's keys, then the processor's
			emitKeys(&b, docs, "  ", reflect.ValueOf(c.Process))
		}
	}
	b.WriteString("\nsources:\n")
	for _, s := range []part{{"syslog", syslogsrc.DefaultConfig()}, {"file", filesrc.DefaultConfig()}, {"kafka", kafkasrc.DefaultConfig()}} {
		b.WriteString("  " + s.key + ":\n    # type is syslog, file or kafka (required).\n    type: " + s.key + "\n")
		emitKeys(&b, docs, "    ", reflect.ValueOf(s.def))
	}
	b.WriteString("\nsinks:\n")
	for _, s := range []part{{"stdout", stdout.DefaultConfig()}, {"kafka", kafkasink.DefaultConfig()}, {"elasticsearch", essink.DefaultConfig()}} {
		b.WriteString("  " + s.key + ":\n    # type is stdout, kafka or elasticsearch (required).\n    type: " + s.key + "\n")
		emitKeys(&b, docs, "    ", reflect.ValueOf(pipeline.DefaultSinkConfig()))
		b.WriteString("    # dead_letter says where refused events go.\n    dead_letter:\n")
		emitKeys(&b, docs, "      ", reflect.ValueOf(defaultDeadLetter()))
		emitKeys(&b, docs, "    ", reflect.ValueOf(s.def))
	}
	require.NoError(t, os.WriteFile(referenceConfig, []byte(b.String()), 0o644))
}
