package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommittedMappingsAreFresh fails when ecs_mappings.json differs from
// what the generator makes of the committed ECS definitions and field list.
func TestCommittedMappingsAreFresh(t *testing.T) {
	flat, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "testdata", "ecs", "ecs_flat.json"))
	require.NoError(t, err)
	list, err := os.ReadFile(filepath.Join("..", "..", "emitted_fields.txt"))
	require.NoError(t, err)
	want, err := Generate(flat, list)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join("..", "..", "ecs_mappings.json"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got),
		"sinks/elasticsearch/ecs_mappings.json is stale: run `go generate ./sinks/elasticsearch`")
}

func TestGenerateRejectsBadInput(t *testing.T) {
	for name, tt := range map[string]struct{ flat, list, err string }{
		"leaf with children":  {`{"a":{"type":"keyword"},"a.b":{"type":"keyword"}}`, "a\na.b", "a.b"},
		"unknown type":        {`{"a":{"type":"mystery"}}`, "a", "unknown ECS type"},
		"unknown type, later": {`{"a":{"type":"mystery"}}`, "", "unknown ECS type"},
		"not json":            {`not json`, "", "ecs_flat.json"},
		"listed, not ECS":     {`{"a":{"type":"keyword"}}`, "a\n# x\nb", `line 3: "b" is not an ECS field`},
		"listed twice":        {`{"a":{"type":"keyword"}}`, "a\na", `"a" is listed twice`},
		"own, listed twice":   {`{"a":{"type":"keyword"}}`, "b long\nb long", `"b" is listed twice`},
		"ECS, typed":          {`{"a":{"type":"keyword"}}`, "a long", `"a" is an ECS field`},
		"own, bad type":       {`{"a":{"type":"keyword"}}`, "b mystery", "unknown ECS type"},
		"three words":         {`{"a":{"type":"keyword"}}`, "b long x", "at most a type"},
		"scaled, no factor":   {`{"a":{"type":"scaled_float"}}`, "a", "scaling_factor"},
		"nameless multi":      {`{"a":{"type":"keyword","multi_fields":[{"type":"text"}]}}`, "a", "multi-field"},
	} {
		_, err := Generate([]byte(tt.flat), []byte(tt.list))
		require.ErrorContains(t, err, tt.err, name)
	}
}

func TestGenerateShapes(t *testing.T) {
	flat := `{
		"o":{"type":"object"},"o.k":{"type":"keyword","ignore_above":1024},
		"n":{"type":"nested"},"n.i":{"type":"ip"},
		"event.original":{"type":"keyword","index":false,"doc_values":false},
		"user.name":{"type":"keyword","ignore_above":1024,"multi_fields":[{"name":"text","type":"match_only_text"}]},
		"x.f":{"type":"scaled_float","scaling_factor":1000},
		"x.w":{"type":"wildcard","multi_fields":[{"name":"text","type":"match_only_text"}]},
		"x.v":{"type":"wildcard","multi_fields":[{"name":"text","type":"match_only_text"}]},
		"x.o":{"type":"object"}
	}`
	b, err := Generate([]byte(flat), []byte("o.k\nn.i # the nested parent comes along\nevent.original\nuser.name\nx.f\nlog.offset long # own\n"))
	require.NoError(t, err)
	var m struct {
		Properties json.RawMessage  `json:"properties"`
		Dynamic    []map[string]any `json:"dynamic_templates"`
	}
	require.NoError(t, json.Unmarshal(b, &m))
	require.JSONEq(t, `{
		"o": {"properties": {"k": {"type": "keyword", "ignore_above": 1024}}},
		"n": {"type": "nested", "properties": {"i": {"type": "ip"}}},
		"event": {"properties": {"original": {"type": "keyword", "index": false, "doc_values": false}}},
		"user": {"properties": {"name": {"type": "keyword", "ignore_above": 1024, "fields": {"text": {"type": "match_only_text"}}}}},
		"x": {"properties": {"f": {"type": "scaled_float", "scaling_factor": 1000}}},
		"log": {"properties": {"offset": {"type": "long"}}}
	}`, string(m.Properties))
	// The unlisted ECS fields, grouped by mapping, between the kerio rules
	// and the catch-all; the object x.o is left to dynamic mapping.
	var ecs []any
	for _, d := range m.Dynamic {
		if v, ok := d["ecs_wildcard_text"]; ok {
			ecs = append(ecs, v)
		}
	}
	require.Len(t, m.Dynamic, len(kerioTemplates())+2)
	require.Contains(t, m.Dynamic[len(m.Dynamic)-1], "strings_as_keyword")
	require.Len(t, ecs, 1)
	got, _ := json.Marshal(ecs[0])
	require.JSONEq(t, `{"path_match":["x.v","x.w"],"mapping":{"type":"wildcard","fields":{"text":{"type":"match_only_text"}}}}`, string(got))
}
