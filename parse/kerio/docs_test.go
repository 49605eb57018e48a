package kerio

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
)

// docRow is one row of the event-action table in docs/kerio.md.
type docRow struct {
	datasets, cats, types, outcomes []string
	kind                            string
}

// TestDocsActionTable keeps docs/kerio.md honest: every event.action the
// corpus produces is in its table with the same categorisation, and the
// table lists no action the parser does not produce.
func TestDocsActionTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "kerio.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "\n## 3. Event actions")
	require.True(t, ok, "docs/kerio.md has no section 3. Event actions")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]docRow{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") || !strings.Contains(line, "| `kerio_") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "| "), " | ")
		require.Len(t, cols, 6, line)
		list := func(s, sep string) []string {
			var out []string
			for _, v := range strings.Split(s, sep) {
				out = append(out, strings.Trim(strings.TrimSpace(v), "`"))
			}
			return out
		}
		rows[strings.Trim(cols[0], "`")] = docRow{
			datasets: list(cols[1], ","), kind: cols[2], cats: list(cols[3], ","),
			types: list(cols[4], ","), outcomes: list(cols[5], "/"),
		}
	}
	require.NotEmpty(t, rows)

	p := NewParser()
	var doc ecs.Document
	seen := map[string]bool{}
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl"} {
		for _, l := range loadCorpus(t, file) {
			parseLine(t, p, &doc, l)
			a := doc.GetString(ecs.NewKey("event.action"))
			if a == "" {
				continue
			}
			seen[a] = true
			r, ok := rows[a]
			require.True(t, ok, "docs/kerio.md lacks %s (%s)", a, l.ID)
			require.Contains(t, r.datasets, doc.GetString(ecs.NewKey("event.dataset")), "%s (%s)", a, l.ID)
			require.Equal(t, r.kind, doc.GetString(ecs.NewKey("event.kind")), "%s (%s)", a, l.ID)
			require.Equal(t, r.cats, stringsOf(&doc, "event.category"), "%s (%s)", a, l.ID)
			require.Equal(t, r.types, stringsOf(&doc, "event.type"), "%s (%s)", a, l.ID)
			outcome := doc.GetString(ecs.NewKey("event.outcome"))
			if outcome == "" {
				outcome = "–"
			}
			require.True(t, slices.Contains(r.outcomes, outcome), "%s (%s): outcome %q not in %q", a, l.ID, outcome, r.outcomes)
		}
	}
	for a := range rows {
		require.True(t, seen[a], "docs/kerio.md lists %s, which no corpus line produces", a)
	}
}
