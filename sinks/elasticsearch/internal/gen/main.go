// Command gen writes the Elasticsearch mappings of the sink's index template
// from the ECS field definitions, so that every ECS field siemfwd may emit
// has its ECS type before the first document arrives (dynamic mapping would
// make source.ip a keyword and break CIDR queries).
//
//	go run ./internal/gen -in ../../testdata/ecs/ecs_flat.json -out ecs_mappings.json
//
// It is run by go:generate in package elasticsearch; a test there checks
// that the committed file equals a fresh generation.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	in := flag.String("in", "", "ecs_flat.json")
	out := flag.String("out", "", "mappings file to write")
	flag.Parse()
	flat, err := os.ReadFile(*in)
	if err == nil {
		var b []byte
		if b, err = Generate(flat); err == nil {
			err = os.WriteFile(*out, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// keywordLimit is ECS's ignore_above for keywords: longer values are kept in
// _source but not indexed, instead of failing the document.
const keywordLimit = 1024

// Generate returns the "mappings" object of the component template: every
// ECS field with its type, and dynamic templates for kerio.*, labels.* and
// anything else.
func Generate(flat []byte) ([]byte, error) {
	var fields map[string]struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(flat, &fields); err != nil {
		return nil, fmt.Errorf("ecs_flat.json: %w", err)
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	root := map[string]any{}
	for _, name := range names {
		leaf, err := mapping(name, fields[name].Type)
		if err != nil {
			return nil, err
		}
		if err := insert(root, strings.Split(name, "."), leaf); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	mappings := map[string]any{
		// Strings that look like dates stay keywords unless a field says
		// otherwise: a date guessed from the first document fixes the type
		// of the field for the whole backing index.
		"date_detection":    false,
		"numeric_detection": false,
		"dynamic_templates": dynamicTemplates(),
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

// mapping is the ES mapping of one ECS field.
func mapping(name, typ string) (map[string]any, error) {
	switch typ {
	case "keyword":
		if name == "event.original" {
			// ECS: the raw event is kept for reprocessing, not searched; not
			// indexing it also lifts the 32 KiB limit of indexed keywords.
			return map[string]any{"type": "keyword", "index": false, "doc_values": false}, nil
		}
		return map[string]any{"type": "keyword", "ignore_above": keywordLimit}, nil
	case "scaled_float":
		return map[string]any{"type": "scaled_float", "scaling_factor": 1000}, nil
	case "object", "nested":
		return map[string]any{"type": typ}, nil
	case "match_only_text", "wildcard", "constant_keyword", "text", "ip", "date", "long", "integer",
		"short", "byte", "unsigned_long", "float", "double", "half_float", "boolean", "flattened",
		"geo_point", "binary":
		return map[string]any{"type": typ}, nil
	}
	return nil, fmt.Errorf("%s: unknown ECS type %q", name, typ)
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

// dynamicTemplates map fields that ECS does not define. The first match
// wins, so the specific kerio rules come before the catch-alls.
func dynamicTemplates() []any {
	keyword := map[string]any{"type": "keyword", "ignore_above": keywordLimit}
	tmpl := func(name string, match map[string]any, m map[string]any) map[string]any {
		match["mapping"] = m
		return map[string]any{name: match}
	}
	return []any{
		// Times the Kerio parsers turn into RFC 3339.
		tmpl("kerio_delivered_date", map[string]any{"path_match": "kerio.operations.delivered"}, map[string]any{"type": "date"}),
		// Spam scores may be integral in one message and fractional in the next.
		tmpl("kerio_spam_score", map[string]any{"path_match": "kerio.spam.score"}, map[string]any{"type": "float"}),
		tmpl("kerio_spam_threshold", map[string]any{"path_match": "kerio.spam.threshold"}, map[string]any{"type": "float"}),
		// Counts, sizes, ids.
		tmpl("kerio_longs", map[string]any{"path_match": "kerio.*", "match_mapping_type": "long"}, map[string]any{"type": "long"}),
		tmpl("kerio_floats", map[string]any{"path_match": "kerio.*", "match_mapping_type": "double"}, map[string]any{"type": "float"}),
		tmpl("kerio_strings", map[string]any{"path_match": "kerio.*", "match_mapping_type": "string"}, keyword),
		tmpl("labels_strings", map[string]any{"path_match": "labels.*", "match_mapping_type": "string"}, keyword),
		tmpl("strings_as_keyword", map[string]any{"match_mapping_type": "string"}, keyword),
	}
}
