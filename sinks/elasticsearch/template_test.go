package elasticsearch

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStartInstallsTemplatesOnce(t *testing.T) {
	f := newFakeES(t)
	s := newTestSink(t, f.srv.URL, nil)
	require.NoError(t, s.Start(t.Context()))
	require.Equal(t, []string{"/_component_template/siemfwd-kerio-ecs-mappings", "/_index_template/siemfwd-kerio",
		"/_index_template/siemfwd-kerio-deadletter"}, f.puts)

	var index struct {
		IndexPatterns []string        `json:"index_patterns"`
		Priority      int             `json:"priority"`
		ComposedOf    []string        `json:"composed_of"`
		DataStream    *map[string]any `json:"data_stream"`
	}
	require.NoError(t, json.Unmarshal(f.templates["/_index_template/siemfwd-kerio"], &index))
	require.Equal(t, []string{"logs-kerio*"}, index.IndexPatterns)
	require.Greater(t, index.Priority, 100, "must win over the built-in logs template")
	require.Equal(t, []string{"siemfwd-kerio-ecs-mappings", "siemfwd-kerio@custom"}, index.ComposedOf)
	require.NotNil(t, index.DataStream)
	require.Contains(t, string(f.templates["/_index_template/siemfwd-kerio-deadletter"]), `"index_patterns":["logs-siemfwd.deadletter-*"]`)

	var comp struct {
		Template struct {
			Settings map[string]any `json:"settings"`
			Mappings map[string]any `json:"mappings"`
		} `json:"template"`
	}
	require.NoError(t, json.Unmarshal(f.templates["/_component_template/siemfwd-kerio-ecs-mappings"], &comp))
	require.EqualValues(t, totalFieldsLimit, comp.Template.Settings["index.mapping.total_fields.limit"])
	require.Contains(t, comp.Template.Mappings, "properties")
	require.Contains(t, comp.Template.Mappings, "dynamic_templates")

	// A second start finds them and leaves them alone ...
	f.puts = nil
	require.NoError(t, newTestSink(t, f.srv.URL, nil).Start(t.Context()))
	require.Empty(t, f.puts)
	// ... unless told to overwrite.
	require.NoError(t, newTestSink(t, f.srv.URL, func(c *Config) { c.OverwriteTemplate = true }).Start(t.Context()))
	require.Len(t, f.puts, 3)
}

func TestProbeFallsBackToHealthWithoutTheRootEndpoint(t *testing.T) {
	f := newFakeES(t)
	f.rootMissing = true
	require.NoError(t, newTestSink(t, f.srv.URL, nil).Start(t.Context()))
	require.Len(t, f.puts, 3)
}

func TestStartWithoutTemplatesOnlyProbes(t *testing.T) {
	f := newFakeES(t)
	require.NoError(t, newTestSink(t, f.srv.URL, func(c *Config) { c.InstallTemplate = false }).Start(t.Context()))
	require.Empty(t, f.puts)
}

func TestStartFailsWhenTheClusterIsDown(t *testing.T) {
	f := newFakeES(t)
	url := f.srv.URL
	f.srv.Close()
	require.ErrorContains(t, newTestSink(t, url, nil).Start(t.Context()), "probe")
}

func TestStartFallsBackToCoreTypesWhenModulesAreMissing(t *testing.T) {
	f := newFakeES(t)
	f.putTemplate = func(path string, body []byte) (int, string) {
		if strings.Contains(string(body), `"match_only_text"`) {
			return http.StatusBadRequest, `{"error":{"type":"mapper_parsing_exception","reason":"Failed to parse mapping: The mapper type [match_only_text] declared on field [message] does not exist."},"status":400}`
		}
		return 0, ""
	}
	require.NoError(t, newTestSink(t, f.srv.URL, nil).Start(t.Context()))
	body := string(f.templates["/_component_template/siemfwd-kerio-ecs-mappings"])
	for _, typ := range []string{"match_only_text", "wildcard", "constant_keyword", "scaled_float"} {
		require.NotContains(t, body, `"`+typ+`"`)
	}
	require.Contains(t, body, `"ip"`)
}

func TestIndexModeTemplateHasNoDataStreamAndNoConstantKeyword(t *testing.T) {
	f := newFakeES(t)
	s := newTestSink(t, f.srv.URL, func(c *Config) {
		c.Mode, c.Index, c.TemplatePatterns, c.DeadLetterIndex = ModeIndex, "siemfwd-{event.dataset}", []string{"siemfwd-*"}, "siemfwd-deadletter"
	})
	require.NoError(t, s.Start(t.Context()))
	require.NotContains(t, string(f.templates["/_index_template/siemfwd-kerio"]), "data_stream")
	require.NotContains(t, string(f.templates["/_component_template/siemfwd-kerio-ecs-mappings"]), "constant_keyword")
}

// mappingType resolves the type the template gives a field: an explicit
// property, else the first dynamic template that matches. rule names the
// dynamic template ("" for an explicit property).
type templateIndex struct {
	props   map[string]string // dotted path → type
	dynamic []dynamicRule
}

type dynamicRule struct {
	name, pathMatch, matchType, typ string
}

func loadTemplate(t testing.TB, raw []byte) templateIndex {
	t.Helper()
	var m struct {
		Dynamic    []map[string]map[string]any `json:"dynamic_templates"`
		Properties map[string]any              `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	ti := templateIndex{props: map[string]string{}}
	var walk func(prefix string, props map[string]any)
	walk = func(prefix string, props map[string]any) {
		for k, v := range props {
			p := v.(map[string]any)
			if typ, ok := p["type"].(string); ok {
				ti.props[prefix+k] = typ
			}
			if sub, ok := p["properties"].(map[string]any); ok {
				if _, ok := p["type"]; !ok {
					ti.props[prefix+k] = "object"
				}
				walk(prefix+k+".", sub)
			}
		}
	}
	walk("", m.Properties)
	for _, d := range m.Dynamic {
		for name, body := range d {
			r := dynamicRule{name: name}
			r.pathMatch, _ = body["path_match"].(string)
			r.matchType, _ = body["match_mapping_type"].(string)
			r.typ = body["mapping"].(map[string]any)["type"].(string)
			ti.dynamic = append(ti.dynamic, r)
		}
	}
	return ti
}

func (ti templateIndex) resolve(path string, v any) (typ, rule string) {
	if typ, ok := ti.props[path]; ok {
		return typ, ""
	}
	jsonType := map[bool]string{true: "long", false: "double"}
	var mt string
	switch x := v.(type) {
	case string:
		mt = "string"
	case float64:
		mt = jsonType[x == float64(int64(x))]
	case bool:
		mt = "boolean"
	case map[string]any:
		mt = "object"
	}
	for _, r := range ti.dynamic {
		if r.matchType != "" && r.matchType != mt {
			continue
		}
		if r.pathMatch != "" && !globMatch(r.pathMatch, path) {
			continue
		}
		return r.typ, r.name
	}
	return "", "unmapped"
}

func globMatch(pattern, s string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(s)
}

// leaves walks a JSON document to its leaf values (arrays: each element),
// keeping flattened fields whole.
func leaves(ti templateIndex, prefix string, doc map[string]any, visit func(path string, v any)) {
	for k, v := range doc {
		path := prefix + k
		if obj, ok := v.(map[string]any); ok && ti.props[path] != "flattened" {
			leaves(ti, path+".", obj, visit)
			continue
		}
		if list, ok := v.([]any); ok {
			for _, e := range list {
				visit(path, e)
			}
			continue
		}
		visit(path, v)
	}
}

// fits reports whether a JSON value is accepted by a field type as ES
// would index it.
func fits(typ string, v any) bool {
	switch typ {
	case "keyword", "match_only_text", "text", "wildcard", "constant_keyword":
		_, ok := v.(string)
		return ok
	case "ip":
		s, ok := v.(string)
		return ok && regexp.MustCompile(`^[0-9a-fA-F:.]+$`).MatchString(s)
	case "date":
		s, ok := v.(string)
		return ok && regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`).MatchString(s)
	case "long", "integer", "short", "byte", "unsigned_long":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "float", "double", "scaled_float", "half_float":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "flattened":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// checkDoc reports every field of doc the template does not map, or maps
// to a type that does not take its value. Fields outside kerio.* and
// labels.* must be explicit ECS properties, not caught by the catch-all.
func checkDoc(ti templateIndex, doc []byte) []string {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return []string{err.Error()}
	}
	var bad []string
	leaves(ti, "", m, func(path string, v any) {
		typ, rule := ti.resolve(path, v)
		switch {
		case rule == "unmapped":
			bad = append(bad, path+": not mapped")
		case rule == "strings_as_keyword":
			bad = append(bad, path+": only the catch-all maps it")
		case !fits(typ, v):
			bad = append(bad, path+": "+typ+" does not take "+string(mustMarshal(v)))
		}
	})
	return bad
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestTemplateMapsEveryGoldenDocumentField(t *testing.T) {
	ti := loadTemplate(t, ecsMappings)
	files, err := filepath.Glob(filepath.Join("..", "..", "pipeline", "testdata", "golden", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		doc, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Empty(t, checkDoc(ti, doc), file)
	}
}

func TestTemplateMapsEveryCorpusDocumentField(t *testing.T) {
	ti := loadTemplate(t, ecsMappings)
	for _, ev := range ecsEvents(t, len(readCorpus(t)), "default") {
		require.Empty(t, checkDoc(ti, ev.JSON), "%s", ev.Raw)
	}
}

func TestKerioFieldTypes(t *testing.T) {
	ti := loadTemplate(t, ecsMappings)
	for path, tt := range map[string]struct {
		v    any
		want string
	}{
		"kerio.spam.score":           {5.0, "float"},
		"kerio.spam.threshold":       {4.5, "float"},
		"kerio.operations.delivered": {"2026-03-14T09:33:00Z", "date"},
		"kerio.mail.size":            {2048.0, "long"},
		"kerio.connection.bytes_rx":  {1.0, "long"},
		"kerio.timestamp":            {"16/Jun/2004 18:37:17", "keyword"},
		"kerio.auth.method":          {"PLAIN", "keyword"},
		"labels.siemfwd_source":      {"syslog_udp", "keyword"},
		"log.syslog.structured_data": {map[string]any{"meta": map[string]any{"x": "1"}}, "flattened"},
		"source.ip":                  {"203.0.113.61", "ip"},
		"@timestamp":                 {"2026-03-14T09:33:00Z", "date"},
		"message":                    {"text", "match_only_text"},
	} {
		got, _ := ti.resolve(path, tt.v)
		require.Equal(t, tt.want, got, path)
	}
}

func TestCheckDocFindsProblems(t *testing.T) {
	ti := loadTemplate(t, ecsMappings)
	bad := checkDoc(ti, []byte(`{"source":{"ip":5},"foo":"x","@timestamp":"yesterday","kerio":{"x":"ok"}}`))
	require.ElementsMatch(t, []string{"source.ip: ip does not take 5", "foo: only the catch-all maps it",
		`@timestamp: date does not take "yesterday"`}, bad)
}

func TestDeadLetterMappingsAreValidJSON(t *testing.T) {
	require.True(t, json.Valid(deadLetterMappings))
	require.True(t, json.Valid(ecsMappings))
}

func TestTemplatesCarryTheLifecycleAndTheCustomHook(t *testing.T) {
	f := newFakeES(t)
	require.NoError(t, newTestSink(t, f.srv.URL, func(c *Config) { c.DataRetention = "30d" }).Start(t.Context()))
	var index struct {
		ComposedOf    []string `json:"composed_of"`
		IgnoreMissing []string `json:"ignore_missing_component_templates"`
		Template      struct {
			Lifecycle struct {
				DataRetention string `json:"data_retention"`
			} `json:"lifecycle"`
		} `json:"template"`
	}
	require.NoError(t, json.Unmarshal(f.templates["/_index_template/siemfwd-kerio"], &index))
	require.Equal(t, []string{"siemfwd-kerio-ecs-mappings", "siemfwd-kerio@custom"}, index.ComposedOf, "@custom last, so it wins")
	require.Equal(t, []string{"siemfwd-kerio@custom"}, index.IgnoreMissing)
	require.Equal(t, "30d", index.Template.Lifecycle.DataRetention)
	require.Contains(t, string(f.templates["/_index_template/siemfwd-kerio-deadletter"]), `"lifecycle":{"data_retention":"30d"}`)
	require.NotContains(t, f.puts, "/_component_template/siemfwd-kerio@custom", "the operator's component is never written")

	f = newFakeES(t)
	require.NoError(t, newTestSink(t, f.srv.URL, func(c *Config) { c.DataRetention = "" }).Start(t.Context()))
	require.NotContains(t, string(f.templates["/_index_template/siemfwd-kerio"]), "lifecycle", "empty keeps for ever")
}

func TestDataRetentionValues(t *testing.T) {
	require.Equal(t, "90d", DefaultConfig().DataRetention)
	for v, ok := range map[string]bool{"90d": true, "12h": true, "30m": true, "3600s": true, "": true,
		"0d": false, "90": false, "d": false, "1.5d": false, "90days": false, "-1d": false} {
		c := DefaultConfig()
		c.DataRetention = v
		if ok {
			require.NoError(t, c.Validate(), v)
		} else {
			require.ErrorContains(t, c.Validate(), "data_retention:", v)
		}
	}
}
