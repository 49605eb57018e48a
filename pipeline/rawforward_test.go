package pipeline_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
)

func TestRouteReadsParsedFields(t *testing.T) {
	some := pipeline.Match{Include: []string{"x"}}
	for _, tt := range []struct {
		route pipeline.Route
		want  bool
	}{
		{pipeline.Route{}, false},
		{pipeline.Route{Hostname: some, Source: some}, false},
		{pipeline.Route{Dataset: some}, true},
		{pipeline.Route{Category: pipeline.Match{Exclude: []string{"x"}}}, true},
		{pipeline.Route{Kind: some}, true},
	} {
		require.Equal(t, tt.want, tt.route.ReadsParsedFields(), "%+v", tt.route)
	}
}
