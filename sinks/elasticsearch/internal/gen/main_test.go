package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommittedMappingsAreFresh fails when ecs_mappings.json differs from
// what the generator makes of the committed ECS definitions.
func TestCommittedMappingsAreFresh(t *testing.T) {
	flat, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "testdata", "ecs", "ecs_flat.json"))
	require.NoError(t, err)
	want, err := Generate(flat)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join("..", "..", "ecs_mappings.json"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got),
		"sinks/elasticsearch/ecs_mappings.json is stale: run `go generate ./sinks/elasticsearch`")
}

func TestGenerateRejectsBadInput(t *testing.T) {
	_, err := Generate([]byte(`{"a":{"type":"keyword"},"a.b":{"type":"keyword"}}`))
	require.ErrorContains(t, err, "a.b")
	_, err = Generate([]byte(`{"a":{"type":"mystery"}}`))
	require.ErrorContains(t, err, "unknown ECS type")
	_, err = Generate([]byte(`not json`))
	require.Error(t, err)
}

func TestGenerateShapes(t *testing.T) {
	b, err := Generate([]byte(`{"o":{"type":"object"},"o.k":{"type":"keyword"},"n":{"type":"nested"},"n.i":{"type":"ip"},"event.original":{"type":"keyword"}}`))
	require.NoError(t, err)
	require.JSONEq(t, `{
		"o": {"properties": {"k": {"type": "keyword", "ignore_above": 1024}}},
		"n": {"type": "nested", "properties": {"i": {"type": "ip"}}},
		"event": {"properties": {"original": {"type": "keyword", "index": false, "doc_values": false}}}
	}`, string(extractProperties(t, b)))
}

func extractProperties(t *testing.T, b []byte) []byte {
	t.Helper()
	var m struct {
		Properties json.RawMessage `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(b, &m))
	return m.Properties
}
