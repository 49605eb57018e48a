// Command gen writes the Elasticsearch mappings of the sink's index template
// from the ECS field definitions.
//
//	go run ./internal/gen -ecs ../../testdata/ecs/ecs_flat.json -fields emitted_fields.txt -out ecs_mappings.json
//
// The fields siemfwd emits (the -fields list) are mapped up front, each with
// the type, parameters and multi-fields ECS gives it. Every other ECS field
// gets its ECS mapping from a dynamic template that names its exact path, so
// it is mapped correctly the first time a document carries it, and counts
// against index.mapping.total_fields.limit only from then on. Mapping all
// 2,600 ECS fields up front would need that limit raised to 10,000 (see
// README, "Elasticsearch").
//
// It is run by go:generate in package elasticsearch; a test there checks
// that the committed file equals a fresh generation.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func main() {
	ecsFile := flag.String("ecs", "", "ecs_flat.json")
	fieldsFile := flag.String("fields", "", "the ECS fields siemfwd emits, one a line")
	out := flag.String("out", "", "mappings file to write")
	flag.Parse()
	if err := run(*ecsFile, *fieldsFile, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(ecsFile, fieldsFile, out string) error {
	flat, err := os.ReadFile(ecsFile)
	if err != nil {
		return err
	}
	list, err := os.ReadFile(fieldsFile)
	if err != nil {
		return err
	}
	b, err := Generate(flat, list)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// keywordLimit is ECS's usual ignore_above for keywords, used for fields
// outside ECS: longer values are kept in _source but not indexed, instead
// of failing the document.
const keywordLimit = 1024

// Field is one ECS field definition: its type and the mapping parameters
// ECS sets for it.
type Field struct {
	Type          string       `json:"type"`
	IgnoreAbove   int          `json:"ignore_above"`
	Index         *bool        `json:"index"`
	DocValues     *bool        `json:"doc_values"`
	ScalingFactor float64      `json:"scaling_factor"`
	MultiFields   []MultiField `json:"multi_fields"`
}

// MultiField is one of a field's alternative indexings, e.g. user.name.text.
type MultiField struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Generate returns the "mappings" object of the component template: the
// listed fields with their ECS mappings, and dynamic templates for kerio.*,
// labels.*, every other ECS field, and anything else.
func Generate(flat, fieldList []byte) ([]byte, error) {
	var fields map[string]Field
	if err := json.Unmarshal(flat, &fields); err != nil {
		return nil, fmt.Errorf("ecs_flat.json: %w", err)
	}
	emitted, own, err := parseFieldList(fieldList, fields)
	if err != nil {
		return nil, err
	}
	all := maps.Clone(fields)
	maps.Copy(all, own)
	names := slices.Sorted(maps.Keys(all))
	root := map[string]any{}
	var rest []string // ECS fields left to dynamic templates
	for _, name := range names {
		if !emitted[name] {
			rest = append(rest, name)
			continue
		}
		leaf, err := mapping(name, all[name])
		if err != nil {
			return nil, err
		}
		if err := insert(root, strings.Split(name, "."), leaf); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	ecsRules, err := ecsDynamicTemplates(rest, fields)
	if err != nil {
		return nil, err
	}
	dynamic := kerioTemplates()
	dynamic = append(dynamic, ecsRules...)
	dynamic = append(dynamic, catchAll())
	mappings := map[string]any{
		// Strings that look like dates stay keywords unless a field says
		// otherwise: a date guessed from the first document fixes the type
		// of the field for the whole backing index.
		"date_detection":    false,
		"numeric_detection": false,
		"dynamic_templates": dynamic,
		"properties":        root,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(mappings); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parseFieldList reads the list of emitted fields: one field a line, blank
// lines and #-comments ignored. A line is an ECS field name, or a name and
// a type for one of siemfwd's own fields that ECS does not define (e.g.
// "log.offset long", as Beats map it); own lists the latter. An unknown
// name without a type, a type given for an ECS field, and a name listed
// twice are errors. The ECS nested fields above a listed field are added,
// so that the field lands in the right Lucene document.
func parseFieldList(b []byte, fields map[string]Field) (set map[string]bool, own map[string]Field, err error) {
	set, own = map[string]bool{}, map[string]Field{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		words := strings.Fields(line)
		if len(words) == 0 {
			continue
		}
		name := words[0]
		_, isECS := fields[name]
		switch {
		case len(words) > 2:
			return nil, nil, fmt.Errorf("field list line %d: want a name and at most a type, got %q", n, line)
		case len(words) == 2 && isECS:
			return nil, nil, fmt.Errorf("field list line %d: %q is an ECS field: ECS gives its type", n, name)
		case len(words) == 2:
			own[name] = Field{Type: words[1]}
		case !isECS:
			return nil, nil, fmt.Errorf("field list line %d: %q is not an ECS field (give a type for a field of siemfwd's own)", n, name)
		}
		if set[name] {
			return nil, nil, fmt.Errorf("field list line %d: %q is listed twice", n, name)
		}
		set[name] = true
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	for name := range set {
		for i := strings.IndexByte(name, '.'); i > 0; i = nextDot(name, i) {
			if f, ok := fields[name[:i]]; ok && f.Type == "nested" {
				set[name[:i]] = true
			}
		}
	}
	return set, own, nil
}

func nextDot(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '.')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// mapping is the ES mapping of one ECS field, with the parameters ECS's own
// template generator copies: ignore_above (keyword, flattened), index and
// doc_values when the field is not indexed, scaling_factor, and the
// multi-fields.
func mapping(name string, f Field) (map[string]any, error) {
	m := map[string]any{"type": f.Type}
	switch f.Type {
	case "keyword", "flattened":
		if f.IgnoreAbove > 0 {
			m["ignore_above"] = f.IgnoreAbove
		}
	case "scaled_float":
		if f.ScalingFactor <= 0 {
			return nil, fmt.Errorf("%s: scaled_float without a scaling_factor", name)
		}
		m["scaling_factor"] = f.ScalingFactor
	case "object", "nested", "match_only_text", "wildcard", "constant_keyword", "text", "ip", "date", "long",
		"integer", "short", "byte", "unsigned_long", "float", "double", "half_float", "boolean", "geo_point", "binary":
	default:
		return nil, fmt.Errorf("%s: unknown ECS type %q", name, f.Type)
	}
	if f.Index != nil && !*f.Index && f.Type != "object" && f.Type != "nested" {
		m["index"] = false
		if f.DocValues != nil {
			m["doc_values"] = *f.DocValues
		}
	}
	if len(f.MultiFields) > 0 {
		sub := map[string]any{}
		for _, mf := range f.MultiFields {
			if mf.Name == "" || mf.Type == "" {
				return nil, fmt.Errorf("%s: multi-field without a name or type", name)
			}
			sub[mf.Name] = map[string]any{"type": mf.Type}
		}
		m["fields"] = sub
	}
	return m, nil
}

// insert puts leaf at path in the properties tree, making intermediate
// objects; an object or nested field keeps its type and gains properties.
func insert(props map[string]any, path []string, leaf map[string]any) error {
	head := path[0]
	if len(path) == 1 {
		if old, ok := props[head].(map[string]any); ok {
			// An intermediate object was made for children first.
			if leaf["type"] != "object" && leaf["type"] != "nested" {
				return fmt.Errorf("a %v field cannot have sub-fields", leaf["type"])
			}
			if leaf["type"] == "nested" {
				old["type"] = "nested"
			}
			return nil
		}
		props[head] = leaf
		return nil
	}
	node, ok := props[head].(map[string]any)
	if !ok {
		node = map[string]any{}
		props[head] = node
	}
	switch node["type"] {
	case nil, "nested":
	case "object":
		delete(node, "type") // an object with declared children is implied by properties
	default:
		return fmt.Errorf("%s is a %v field and cannot have sub-fields", head, node["type"])
	}
	sub, ok := node["properties"].(map[string]any)
	if !ok {
		sub = map[string]any{}
		node["properties"] = sub
	}
	return insert(sub, path[1:], leaf)
}

// ecsDynamicTemplates groups the ECS fields that are not mapped up front by
// their mapping and makes one dynamic template per group, matching the
// fields' exact paths. Object fields are left out: dynamic mapping makes
// objects by itself.
func ecsDynamicTemplates(names []string, fields map[string]Field) ([]any, error) {
	type group struct {
		mapping map[string]any
		paths   []string
	}
	groups := map[string]*group{}
	for _, name := range names {
		if fields[name].Type == "object" {
			continue
		}
		m, err := mapping(name, fields[name])
		if err != nil {
			return nil, err
		}
		rule := ruleName(m)
		g, ok := groups[rule]
		if !ok {
			g = &group{mapping: m}
			groups[rule] = g
		}
		if !mapsEqual(g.mapping, m) {
			return nil, fmt.Errorf("%s: two mappings named %s", name, rule)
		}
		g.paths = append(g.paths, name)
	}
	rules := make([]string, 0, len(groups))
	for r := range groups {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	out := make([]any, 0, len(rules))
	for _, r := range rules {
		g := groups[r]
		out = append(out, map[string]any{r: map[string]any{"path_match": g.paths, "mapping": g.mapping}})
	}
	return out, nil
}

// ruleName names a dynamic template after the mapping it applies, e.g.
// ecs_keyword_1024_text for a keyword with ignore_above 1024 and a text
// multi-field.
func ruleName(m map[string]any) string {
	parts := []string{"ecs", m["type"].(string)}
	if n, ok := m["ignore_above"].(int); ok {
		parts = append(parts, strconv.Itoa(n))
	}
	if m["index"] == false {
		parts = append(parts, "unindexed")
	}
	if sub, ok := m["fields"].(map[string]any); ok {
		names := make([]string, 0, len(sub))
		for n := range sub {
			names = append(names, n)
		}
		slices.Sort(names)
		parts = append(parts, names...)
	}
	return strings.Join(parts, "_")
}

func mapsEqual(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// kerioTemplates map the kerio.* fields that ECS does not define, and the
// labels. The first match wins, so the specific kerio rules come before the
// kerio catch-alls.
func kerioTemplates() []any {
	keyword := map[string]any{"type": "keyword", "ignore_above": keywordLimit}
	return []any{
		// Times the Kerio parsers turn into RFC 3339.
		rule("kerio_delivered_date", map[string]any{"path_match": "kerio.operations.delivered"}, map[string]any{"type": "date"}),
		// Spam scores may be integral in one message and fractional in the next.
		rule("kerio_spam_score", map[string]any{"path_match": "kerio.spam.score"}, map[string]any{"type": "float"}),
		rule("kerio_spam_threshold", map[string]any{"path_match": "kerio.spam.threshold"}, map[string]any{"type": "float"}),
		// Counts, sizes, ids.
		rule("kerio_longs", map[string]any{"path_match": "kerio.*", "match_mapping_type": "long"}, map[string]any{"type": "long"}),
		rule("kerio_floats", map[string]any{"path_match": "kerio.*", "match_mapping_type": "double"}, map[string]any{"type": "float"}),
		rule("kerio_strings", map[string]any{"path_match": "kerio.*", "match_mapping_type": "string"}, keyword),
		rule("labels_strings", map[string]any{"path_match": "labels.*", "match_mapping_type": "string"}, keyword),
	}
}

// catchAll maps strings outside ECS, kerio.* and labels.* as keywords; it
// comes last.
func catchAll() any {
	return rule("strings_as_keyword", map[string]any{"match_mapping_type": "string"},
		map[string]any{"type": "keyword", "ignore_above": keywordLimit})
}

func rule(name string, match, mapping map[string]any) map[string]any {
	match["mapping"] = mapping
	return map[string]any{name: match}
}
