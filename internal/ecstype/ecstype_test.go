package ecstype

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAcceptsWhatElasticsearchIndexesIntoTheType(t *testing.T) {
	tests := []struct {
		typ      string
		accepted []string // JSON values
		refused  []string
	}{
		{"keyword", []string{`"a"`, `""`}, []string{`1`, `true`, `{}`, `null`}},
		{"match_only_text", []string{`"a b"`}, []string{`1.5`}},
		{"ip", []string{`"192.0.2.1"`, `"2001:db8::1"`}, []string{`"mail01"`, `"192.0.2"`, `1`}},
		{"date", []string{`"2026-03-14T09:15:02.481Z"`, `"2026-03-14T10:15:02+01:00"`}, []string{`"2026-03-14"`, `"14/Mar/2026"`, `1`}},
		{"long", []string{`22`, `-3`}, []string{`2.5`, `"22"`}},
		{"float", []string{`9.74`, `1`}, []string{`"9.74"`, `true`}},
		{"boolean", []string{`true`, `false`}, []string{`"true"`, `1`}},
		{"flattened", []string{`{"a":{"b":"1"}}`}, []string{`"a"`, `[]`}},
		{"geo_point", []string{`{"lat":1,"lon":2}`}, []string{`"1,2"`}},
		{"nested", nil, []string{`{}`, `"a"`}},
	}
	decode := func(s string) any {
		var v any
		require.NoError(t, json.Unmarshal([]byte(s), &v))
		return v
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			for _, s := range tt.accepted {
				require.True(t, Accepts(tt.typ, decode(s)), "%s refused %s", tt.typ, s)
			}
			for _, s := range tt.refused {
				require.False(t, Accepts(tt.typ, decode(s)), "%s accepted %s", tt.typ, s)
			}
		})
	}
}
