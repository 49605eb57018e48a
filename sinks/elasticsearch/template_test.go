package elasticsearch

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/ecstype"
	"siemfwd/pipeline"
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
	require.NotContains(t, comp.Template.Settings, "index.mapping.total_fields.limit", "the default limit of 1000 holds")
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

// TestAClusterDownAtStartIsNotFatal: Start returns nil (sources may start,
// events wait in the sink's queue or disk buffer), Ready says why not, and
// each Write fails as a transient error until the cluster answers.
func TestAClusterDownAtStartIsNotFatal(t *testing.T) {
	f := newFakeES(t)
	url := f.srv.URL
	f.srv.Close()
	s := newTestSink(t, url, nil)
	require.NoError(t, s.Start(t.Context()))
	ready, why := s.Ready()
	require.False(t, ready)
	require.Contains(t, why, "probe")
	err := s.Write(t.Context(), ecsEvents(t, 1, "default"))
	require.ErrorContains(t, err, "probe")
	require.False(t, pipeline.IsPermanent(err), "the sink loop retries it")
}

func TestARefusingClusterFailsTheStart(t *testing.T) {
	f := newFakeES(t)
	f.putTemplate = func(string, []byte) (int, string) {
		return http.StatusForbidden, `{"error":{"type":"security_exception","reason":"action [indices:admin/index_template/put] is unauthorized"},"status":403}`
	}
	require.ErrorContains(t, newTestSink(t, f.srv.URL, nil).Start(t.Context()), "security_exception")
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

func TestLongReasonsAreCut(t *testing.T) {
	long := strings.Repeat("é", 2000) // 4000 bytes
	err := statusError(400, []byte(`{"error":{"type":"mapper_parsing_exception","reason":"`+long+`"}}`))
	var re *RequestError
	require.ErrorAs(t, err, &re)
	require.LessOrEqual(t, len(re.Reason), maxReason+len("… (4000 bytes)"))
	require.True(t, strings.HasSuffix(re.Reason, "… (4000 bytes)"), re.Reason[len(re.Reason)-30:])
	require.True(t, utf8.ValidString(re.Reason))
	require.Equal(t, "short", shorten("short", maxReason))
}

func TestStartReportsTheFirstRefusalWhenCoreTypesAreRefusedToo(t *testing.T) {
	f := newFakeES(t)
	f.putTemplate = func(path string, body []byte) (int, string) {
		if !strings.HasPrefix(path, "/_component_template/") {
			return 0, ""
		}
		if strings.Contains(string(body), `"match_only_text"`) {
			return http.StatusBadRequest, `{"error":{"type":"mapper_parsing_exception","reason":"dynamic template [ecs_wildcard_text] has invalid content"},"status":400}`
		}
		return http.StatusBadRequest, `{"error":{"type":"mapper_parsing_exception","reason":"something else"},"status":400}`
	}
	err := newTestSink(t, f.srv.URL, nil).Start(t.Context())
	require.ErrorContains(t, err, "dynamic template [ecs_wildcard_text] has invalid content")
	require.Equal(t, []string{"/_component_template/siemfwd-kerio-ecs-mappings", "/_component_template/siemfwd-kerio-ecs-mappings"},
		f.puts, "tried both, and no index template without its component")
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

// templateIndex resolves the mapping the template gives a field: an
// explicit property (or multi-field), else the first dynamic template that
// matches.
type templateIndex struct {
	props   map[string]map[string]any // dotted path → its mapping (multi-fields: path.name)
	dynamic []dynamicRule
}

type dynamicRule struct {
	name      string
	pathMatch []string // empty: any path
	matchType string
	mapping   map[string]any
}

func loadTemplate(t testing.TB, raw []byte) templateIndex {
	t.Helper()
	var m struct {
		Dynamic    []map[string]map[string]any `json:"dynamic_templates"`
		Properties map[string]any              `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	ti := templateIndex{props: map[string]map[string]any{}}
	var walk func(prefix string, props map[string]any)
	walk = func(prefix string, props map[string]any) {
		for k, v := range props {
			p := v.(map[string]any)
			ti.props[prefix+k] = p
			if sub, ok := p["properties"].(map[string]any); ok {
				walk(prefix+k+".", sub)
			}
			if multi, ok := p["fields"].(map[string]any); ok {
				for name, mf := range multi {
					ti.props[prefix+k+"."+name] = mf.(map[string]any)
				}
			}
		}
	}
	walk("", m.Properties)
	for _, d := range m.Dynamic {
		for name, body := range d {
			r := dynamicRule{name: name, mapping: body["mapping"].(map[string]any)}
			switch pm := body["path_match"].(type) {
			case string:
				r.pathMatch = []string{pm}
			case []any:
				for _, p := range pm {
					r.pathMatch = append(r.pathMatch, p.(string))
				}
			}
			r.matchType, _ = body["match_mapping_type"].(string)
			ti.dynamic = append(ti.dynamic, r)
		}
	}
	return ti
}

// typeOf is a mapping's type; an object with properties and no type is an object.
func typeOf(m map[string]any) string {
	if typ, ok := m["type"].(string); ok {
		return typ
	}
	return "object"
}

// mappingOf returns the mapping a field gets when a document first carries
// value v there, and the dynamic rule that made it ("" for an explicit property).
func (ti templateIndex) mappingOf(path string, v any) (mapping map[string]any, rule string) {
	if m, ok := ti.props[path]; ok {
		return m, ""
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
		if len(r.pathMatch) > 0 && !slices.ContainsFunc(r.pathMatch, func(p string) bool { return globMatch(p, path) }) {
			continue
		}
		return r.mapping, r.name
	}
	return nil, "unmapped"
}

func (ti templateIndex) resolve(path string, v any) (typ, rule string) {
	m, rule := ti.mappingOf(path, v)
	if m == nil {
		return "", rule
	}
	return typeOf(m), rule
}

// globMatch matches like a dynamic template's path_match: * is any run of characters.
func globMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(s)
}

// leaves walks a JSON document to its leaf values (arrays: each element),
// keeping flattened fields whole.
func leaves(ti templateIndex, prefix string, doc map[string]any, visit func(path string, v any)) {
	for k, v := range doc {
		path := prefix + k
		if obj, ok := v.(map[string]any); ok && typeOf(ti.props[path]) != "flattened" && typeOf(ti.props[path]) != "geo_point" {
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

// checkDoc reports every field of doc the template does not map, or maps
// to a type that does not take its value. Fields outside kerio.* and
// labels.* must be explicit ECS properties (listed in emitted_fields.txt),
// not left to an ECS dynamic template or the catch-all.
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
		case strings.HasPrefix(rule, "ecs_"):
			bad = append(bad, path+": not mapped up front (add it to emitted_fields.txt)")
		case !ecstype.Accepts(typ, v):
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
	files, err := filepath.Glob(filepath.Join("..", "..", "process", "testdata", "golden", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		doc, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Empty(t, checkDoc(ti, doc), file)
	}
}

// TestTemplateMapsEveryCorpusDocumentField: every field the processor makes
// of the Kerio and non-Kerio corpora is mapped up front with its ECS type
// (kerio.* and labels.* by their own dynamic templates).
func TestTemplateMapsEveryCorpusDocumentField(t *testing.T) {
	ti := loadTemplate(t, ecsMappings)
	for _, doc := range corpusDocs(t) {
		require.Empty(t, checkDoc(ti, doc), "%s", doc)
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

// ecsDefinition is what the template tests need of testdata/ecs/ecs_flat.json.
type ecsDefinition struct {
	Type        string `json:"type"`
	IgnoreAbove int    `json:"ignore_above"`
	Index       *bool  `json:"index"`
	MultiFields []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"multi_fields"`
}

func readECS(t testing.TB) map[string]ecsDefinition {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ecs", "ecs_flat.json"))
	require.NoError(t, err)
	var defs map[string]ecsDefinition
	require.NoError(t, json.Unmarshal(b, &defs))
	require.Greater(t, len(defs), 2000)
	return defs
}

// TestTemplateMapsEveryECSFieldAsECSDefinesIt resolves every ECS field as
// Elasticsearch would the first time a document carries it (an explicit
// property or the first matching dynamic template) and compares type,
// ignore_above, index and multi-fields with the ECS definition.
func TestTemplateMapsEveryECSFieldAsECSDefinesIt(t *testing.T) {
	ti := loadTemplate(t, ecsMappings)
	explicit, dynamic := 0, 0
	for name, def := range readECS(t) {
		if def.Type == "object" {
			continue // dynamic mapping makes objects by itself
		}
		m, rule := ti.mappingOf(name, nil)
		require.NotNil(t, m, "%s: not mapped", name)
		if rule == "" {
			explicit++
		} else {
			require.True(t, strings.HasPrefix(rule, "ecs_"), "%s: mapped by %s, not by its ECS rule", name, rule)
			dynamic++
		}
		require.Equal(t, def.Type, typeOf(m), name)
		if def.IgnoreAbove > 0 {
			require.EqualValues(t, def.IgnoreAbove, m["ignore_above"], name)
		}
		if def.Index != nil {
			require.Equal(t, *def.Index, m["index"], name)
		}
		want := map[string]any{}
		for _, mf := range def.MultiFields {
			want[mf.Name] = map[string]any{"type": mf.Type}
		}
		got, _ := m["fields"].(map[string]any)
		if len(want) == 0 {
			require.Empty(t, got, name)
		} else {
			require.Equal(t, want, got, name)
		}
	}
	require.Positive(t, explicit)
	require.Positive(t, dynamic)
}

// TestTemplateMultiFields spells out a few of ECS's multi-fields, mapped up
// front or by their dynamic template, and a few text fields without one.
func TestTemplateMultiFields(t *testing.T) {
	ti := loadTemplate(t, ecsMappings)
	for field, want := range map[string]string{
		"user.name":            "keyword", // up front
		"source.user.name":     "keyword",
		"url.original":         "wildcard", // a wildcard's multi-field
		"user_agent.original":  "keyword",
		"process.command_line": "wildcard", // by the dynamic template ecs_wildcard_text
		"host.os.full":         "keyword",  // ecs_keyword_1024_text
		"file.path":            "keyword",
	} {
		m, _ := ti.mappingOf(field, "x")
		require.NotNil(t, m, field)
		require.Equal(t, want, typeOf(m), field)
		require.Equal(t, map[string]any{"text": map[string]any{"type": "match_only_text"}}, m["fields"], field+".text")
	}
	for field, want := range map[string]string{
		"message":               "match_only_text", // itself, no multi-field
		"error.message":         "match_only_text",
		"event.original":        "keyword",
		"labels.siemfwd_source": "keyword", // not ECS
		"kerio.auth.method":     "keyword",
	} {
		m, _ := ti.mappingOf(field, "x")
		require.NotNil(t, m, field)
		require.Equal(t, want, typeOf(m), field)
		require.NotContains(t, m, "fields", field)
	}
	// index: false as ECS says: the raw event is kept, not searched.
	m, _ := ti.mappingOf("event.original", "x")
	require.Equal(t, false, m["index"])
	require.Equal(t, false, m["doc_values"])
}

// mappedFieldCount counts a mappings tree as Elasticsearch counts against
// index.mapping.total_fields.limit: every field and every object, and each
// multi-field. A test against the real node checks the count.
func mappedFieldCount(props map[string]any) int {
	n := 0
	for _, v := range props {
		m := v.(map[string]any)
		n++
		if sub, ok := m["properties"].(map[string]any); ok {
			n += mappedFieldCount(sub)
		}
		if multi, ok := m["fields"].(map[string]any); ok {
			n += len(multi)
		}
	}
	return n
}

func templateProperties(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	var m struct {
		Properties map[string]any `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	return m.Properties
}

// corpusDocs are the documents the processor makes of every corpus line:
// the Kerio corpora and the non-Kerio syslog lines.
func corpusDocs(t testing.TB) [][]byte {
	t.Helper()
	var docs [][]byte
	for _, ev := range ecsEvents(t, len(readCorpus(t)), "default") {
		docs = append(docs, ev.JSON)
	}
	for _, ev := range nonKerioEvents(t) {
		docs = append(docs, ev.JSON)
	}
	return docs
}

// TestFieldCountStaysWithinTheDefaultLimit: the template maps fewer than
// 1000 fields up front, and still fewer once every field the corpora
// produce (kerio.* and labels.* by their dynamic templates) is added.
func TestFieldCountStaysWithinTheDefaultLimit(t *testing.T) {
	ti := loadTemplate(t, ecsMappings)
	upFront := mappedFieldCount(templateProperties(t, ecsMappings))
	require.Less(t, upFront, 1000)
	require.Equal(t, len(ti.props), upFront, "the count and the index agree")

	fields := map[string]bool{}
	for p := range ti.props {
		fields[p] = true
	}
	for _, doc := range corpusDocs(t) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(doc, &m))
		leaves(ti, "", m, func(path string, _ any) {
			for i := range path {
				if path[i] == '.' {
					fields[path[:i]] = true
				}
			}
			fields[path] = true
		})
	}
	t.Logf("mapped fields: %d up front, %d after the corpora", upFront, len(fields))
	require.Less(t, len(fields), 1000)
}

// TestEveryECSFieldTheCodeWritesIsMappedUpFront reads the module's Go
// sources for string literals that name an ECS field and requires each to
// be in emitted_fields.txt, so that a field added in code without a corpus
// line is still mapped before the first document. Objects are left to
// dynamic mapping; this package's own literals name the dead-letter
// document's fields, which have a template of their own.
func TestEveryECSFieldTheCodeWritesIsMappedUpFront(t *testing.T) {
	defs := readECS(t)
	ti := loadTemplate(t, ecsMappings)
	literal := regexp.MustCompile(`"([@a-z0-9_]+(?:\.[a-z0-9_]+)*)"`)
	self, err := filepath.Abs(".")
	require.NoError(t, err)
	root := filepath.Join("..", "..")
	seen := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			abs, _ := filepath.Abs(path)
			if abs == self || d.Name() == "testdata" || (strings.HasPrefix(d.Name(), ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range literal.FindAllSubmatch(src, -1) {
			name := string(m[1])
			def, ok := defs[name]
			if !ok || def.Type == "object" {
				continue
			}
			seen++
			_, isProp := ti.props[name]
			require.True(t, isProp, "%s writes ECS field %s: add it to emitted_fields.txt and run go generate", path, name)
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, seen, 50, "the scan found the processor's fields")
}
