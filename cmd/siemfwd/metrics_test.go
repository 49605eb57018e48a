package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// oneSourceOneSink is the smallest config with an admin listener: one
// syslog source and one stdout sink, nothing sent yet.
const oneSourceOneSink = `
log: {level: info, format: json}
admin: {address: "127.0.0.1:0"}
sources: {in_tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:0"}}
sinks: {out: {type: stdout}}
`

// scrape reads every family from a running siemfwd's /metrics.
func (s *siemfwd) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + s.addr["admin"] + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// hasSeries says whether family has a series whose labels include want.
func hasSeries(fam *dto.MetricFamily, want map[string]string) bool {
next:
	for _, m := range fam.GetMetric() {
		for _, lp := range m.GetLabel() {
			if v, ok := want[lp.GetName()]; ok && v != lp.GetValue() {
				continue next
			}
		}
		return true
	}
	return false
}

// readmeMetricNames lists the siemfwd_ names in README's metrics table.
func readmeMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	readme := string(b)
	start := strings.Index(readme, "\nMetrics (labels are bounded")
	require.GreaterOrEqual(t, start, 0, "README lost its metrics table")
	end := start + strings.Index(readme[start:], "\n## ")
	names := map[string]bool{}
	for _, m := range regexp.MustCompile("`(siemfwd_[a-z0-9_]+)`").FindAllStringSubmatch(readme[start:end], -1) {
		names[m[1]] = true
	}
	return names
}

// TestMetricsExistFromTheFirstScrape: before any event, the runtime
// collectors and every configured source's and sink's series are there at
// zero, and every siemfwd_ family is documented in README.
func TestMetricsExistFromTheFirstScrape(t *testing.T) {
	s := startSiemfwd(t, oneSourceOneSink, 2)
	families := s.scrape(t)
	runtimeNames := []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_gc_duration_seconds"}
	if runtime.GOOS == "linux" {
		runtimeNames = append(runtimeNames, "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds")
	}
	for _, name := range runtimeNames {
		require.Contains(t, families, name)
	}
	zero := []struct {
		name   string
		labels map[string]string
	}{
		{"siemfwd_source_received_events_total", map[string]string{"source": "in_tcp"}},
		{"siemfwd_source_received_bytes_total", map[string]string{"source": "in_tcp"}},
		{"siemfwd_source_dropped_events_total", map[string]string{"source": "in_tcp", "reason": "queue_full"}},
		{"siemfwd_source_connections", map[string]string{"source": "in_tcp"}},
		{"siemfwd_sink_events_total", map[string]string{"sink": "out", "outcome": "sent"}},
		{"siemfwd_sink_events_total", map[string]string{"sink": "out", "outcome": "retried"}},
		{"siemfwd_sink_events_total", map[string]string{"sink": "out", "outcome": "dead_lettered"}},
		{"siemfwd_sink_events_total", map[string]string{"sink": "out", "outcome": "failed"}},
		{"siemfwd_sink_batches_total", map[string]string{"sink": "out"}},
		{"siemfwd_sink_dropped_events_total", map[string]string{"sink": "out", "reason": "queue_full"}},
		{"siemfwd_sink_request_duration_seconds", map[string]string{"sink": "out"}},
		{"siemfwd_queue_batches", map[string]string{"queue": "out"}},
	}
	for _, z := range zero {
		fam, ok := families[z.name]
		require.True(t, ok, "%s is missing before the first event", z.name)
		require.True(t, hasSeries(fam, z.labels), "%s%v is missing before the first event", z.name, z.labels)
		require.Zero(t, s.metric(t, z.name, z.labels), "%s%v", z.name, z.labels)
	}
	documented := readmeMetricNames(t)
	for name := range families {
		if strings.HasPrefix(name, "siemfwd_") {
			require.True(t, documented[name], "%s is exported but not in README's metrics table", name)
		}
	}
}

// TestGrafanaDashboardUsesExportedNames: every metric the dashboard in docs/
// queries is one siemfwd exports (README's table, which the test above
// keeps honest) or one of the Go and process collectors'.
func TestGrafanaDashboardUsesExportedNames(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-dashboard.json"))
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	require.NotEmpty(t, dash.Panels)
	s := startSiemfwd(t, oneSourceOneSink, 2)
	families := s.scrape(t)
	documented := readmeMetricNames(t)
	name := regexp.MustCompile(`\b(?:siemfwd|go|process)_[a-z0-9_]+\b`)
	used := 0
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, target := range p.Targets {
			for _, n := range name.FindAllString(target.Expr, -1) {
				used++
				base := n
				if strings.HasSuffix(n, "_seconds_bucket") {
					base = strings.TrimSuffix(n, "_bucket")
				}
				_, exported := families[base]
				require.True(t, documented[base] || exported, "panel %q queries %s, which siemfwd does not export", p.Title, n)
			}
		}
	}
	require.Greater(t, used, 10)
}
