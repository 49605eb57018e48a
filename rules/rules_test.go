// Package rules holds the Kerio detection pack (Sigma rules, the pySigma
// pipeline and the converted rules/dist). Its tests prove every alerting rule
// on an attack scenario sent through the real siemfwd binary into the real
// Elasticsearch node, and check that rules/dist is what `make rules` writes.
package rules

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/testservice"
)

// dist is rules/dist/rules.json as rules/build.py writes it.
type dist struct {
	Rules []distRule `json:"rules"`
}

type distRule struct {
	Name          string          `json:"name"`
	Type          string          `json:"type"`
	BuildingBlock bool            `json:"building_block"`
	DSLLucene     json.RawMessage `json:"dsl_lucene"`
	Correlation   *struct {
		Rules           []string `json:"rules"`
		GroupBy         []string `json:"group_by"`
		TimespanSeconds int      `json:"timespan_seconds"`
		GTE             int      `json:"gte"`
		Field           string   `json:"field"`
	} `json:"correlation"`
	NewTerms *struct {
		Fields        []string `json:"fields"`
		HistoryWindow string   `json:"history_window"`
	} `json:"new_terms"`
}

func loadDist(t testing.TB) map[string]distRule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("dist", "rules.json"))
	require.NoError(t, err, "rules/dist/rules.json: run `make rules`")
	var d dist
	require.NoError(t, json.Unmarshal(b, &d))
	out := make(map[string]distRule, len(d.Rules))
	for _, r := range d.Rules {
		out[r.Name] = r
	}
	return out
}

// TestDistIsUpToDate regenerates rules/dist with the pinned pySigma tool
// environment and compares it byte for byte with the committed files.
func TestDistIsUpToDate(t *testing.T) {
	t.Parallel()
	python := os.Getenv("SIEMFWD_RULES_PYTHON")
	if python == "" {
		how := "SIEMFWD_RULES_PYTHON is not set: run `make rules` (it creates the pySigma environment) and set it to .cache/rules-venv-*/bin/python, or run `make test`"
		if os.Getenv("SIEMFWD_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal(how)
		}
		t.Skip(how)
	}
	out := t.TempDir()
	cmd := exec.Command(python, "build.py", "--out", out)
	res, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", res)
	want, err := filepath.Glob(filepath.Join("dist", "*"))
	require.NoError(t, err)
	got, err := filepath.Glob(filepath.Join(out, "*"))
	require.NoError(t, err)
	require.Equal(t, names(want), names(got), "files in rules/dist: run `make rules`")
	for _, f := range want {
		a, err := os.ReadFile(f)
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(out, filepath.Base(f)))
		require.NoError(t, err)
		require.True(t, bytes.Equal(a, b), "%s is stale: run `make rules` and commit rules/dist", f)
	}
}

func names(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// TestEveryAlertingRuleHasAScenario keeps the pack and the scenarios in step:
// a rule without a scenario does not ship.
func TestEveryAlertingRuleHasAScenario(t *testing.T) {
	rules := loadDist(t)
	var alerting, covered []string
	for name, r := range rules {
		if !r.BuildingBlock {
			alerting = append(alerting, name)
		}
	}
	for _, s := range attacks(time.Now()) {
		covered = append(covered, s.rule)
	}
	slices.Sort(alerting)
	slices.Sort(covered)
	require.Equal(t, alerting, covered)
}

// TestRulesFireOnScenariosAndStaySilentOnBaseline sends every attack scenario
// and the benign baseline through the real siemfwd binary into the real
// node, then evaluates each rule's converted query (and its correlation) on
// each scenario's events and on the baseline's.
func TestRulesFireOnScenariosAndStaySilentOnBaseline(t *testing.T) {
	t.Parallel()
	es := testservice.Elasticsearch(t)
	rules := loadDist(t)
	now := time.Now().UTC().Truncate(time.Second)
	scenarios := attacks(now)
	lines := baseline(now)
	for _, s := range scenarios {
		lines = append(lines, s.lines...)
	}

	ns := uniqueNamespace()
	h := &harness{es: es, index: "logs-kerio*-" + ns, now: now}
	t.Cleanup(func() {
		// The minimal test build has no data stream API; there the data
		// stays, under a namespace no other run uses.
		_, _, _ = h.send("DELETE", "/_data_stream/"+h.index, nil)
	})
	start := time.Now()
	bin := buildSiemfwd(t)
	t.Logf("built siemfwd in %s", time.Since(start).Round(time.Millisecond))
	run := startSiemfwd(t, bin, config(t, es, ns))
	sendAll(t, run.addr, lines)
	// Conservation: every line is one document, and every one was recognised.
	h.waitCount(t, len(lines))
	run.stop(t)
	t.Logf("%d lines indexed through siemfwd after %s", len(lines), time.Since(start).Round(time.Millisecond))
	require.Zero(t, h.count(t, map[string]any{"terms": map[string]any{"tags": []string{"kerio_generic", "kerio_unmatched", "_syslog_parse_failure"}}}),
		"every scenario line is a known Kerio wording")

	// The baseline is made of near misses: every building block matches some
	// of it, so the silence of the alerting rules is their thresholds',
	// groupings' and allow lists' doing, not missing data.
	for name, r := range rules {
		if !r.BuildingBlock {
			continue
		}
		hits, groups := h.evaluate(t, rules, r, baselineHost)
		require.True(t, hits > 0 || len(groups) > 0, "building block %s matches nothing in the baseline", name)
	}

	for _, s := range scenarios {
		r, ok := rules[s.rule]
		require.True(t, ok, "scenario for unknown rule %s", s.rule)
		t.Run(s.rule, func(t *testing.T) {
			hits, groups := h.evaluate(t, rules, r, s.lines[0].host)
			if s.want != nil {
				require.ElementsMatch(t, s.want, groups, "alerts on the attack")
			} else {
				require.Equal(t, s.hits, hits, "hits on the attack")
			}
			baseHits, baseGroups := h.evaluate(t, rules, r, baselineHost)
			require.Zero(t, baseHits, "hits on the baseline")
			require.Empty(t, baseGroups, "alerts on the baseline")
			t.Logf("%s: attack %d hits, %d alerts %v; baseline %d hits, %d alerts", s.rule, hits, len(groups), groups, baseHits, len(baseGroups))
		})
	}
}

func uniqueNamespace() string {
	var b [5]byte
	rand.Read(b[:])
	return "rules" + hex.EncodeToString(b[:])
}

// buildSiemfwd compiles the real binary.
func buildSiemfwd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "siemfwd")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/siemfwd").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// config writes a siemfwd config: one TCP syslog source per product, GeoIP
// from a test database, and the Elasticsearch sink writing data streams in
// namespace ns.
func config(t *testing.T, es, ns string) string {
	t.Helper()
	dir := t.TempDir()
	city := filepath.Join(dir, "city.mmdb")
	writeCityDB(t, city)
	yaml := fmt.Sprintf(`log: {level: info, format: json}
admin: {address: ""}
pipeline:
  namespace: %s
  enrich:
    geoip: {city_db: %q}
sources:
  connect: {type: syslog, protocol: tcp, address: "127.0.0.1:0", product: kerio_connect}
  control: {type: syslog, protocol: tcp, address: "127.0.0.1:0", product: kerio_control}
sinks:
  elasticsearch:
    type: elasticsearch
    addresses: [%q]
    mode: data_stream
    compress: false
    install_template: true
    linger: 100ms
    when_full: block
`, ns, city, es)
	path := filepath.Join(dir, "siemfwd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

// writeCityDB builds a GeoIP2-City database that places 81.2.69.0/24 in Great
// Britain and 1.128.0.0/16 in Australia.
func writeCityDB(t *testing.T, path string) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 28})
	require.NoError(t, err)
	for cidr, country := range map[string][2]string{"81.2.69.0/24": {"GB", "United Kingdom"}, "1.128.0.0/16": {"AU", "Australia"}} {
		_, n, err := net.ParseCIDR(cidr)
		require.NoError(t, err)
		require.NoError(t, tree.Insert(n, mmdbtype.Map{"country": mmdbtype.Map{
			"iso_code": mmdbtype.String(country[0]),
			"names":    mmdbtype.Map{"en": mmdbtype.String(country[1])},
		}}))
	}
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = tree.WriteTo(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// siemfwdRun is the running binary and the address of each source.
type siemfwdRun struct {
	cmd  *exec.Cmd
	addr map[string]string
	done chan struct{} // closed once the process has exited
	err  error         // its exit error, written before done is closed
}

// startSiemfwd runs the binary and waits until both sources listen (their
// "listening" log lines carry the bound addresses).
func startSiemfwd(t *testing.T, bin, cfg string) *siemfwdRun {
	t.Helper()
	cmd := exec.Command(bin, "run", "-c", cfg)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	r := &siemfwdRun{cmd: cmd, addr: map[string]string{}, done: make(chan struct{})}
	listening := make(chan [2]string, 2)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var l struct {
				Msg     string `json:"msg"`
				Source  string `json:"source"`
				Address string `json:"address"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "listening" && l.Source != "" {
				listening <- [2]string{l.Source, l.Address}
			}
			if bytes.Contains(sc.Bytes(), []byte(`"level":"ERROR"`)) {
				t.Logf("siemfwd: %s", sc.Bytes())
			}
		}
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			<-r.done
		}
	})
	deadline := time.After(time.Minute)
	for len(r.addr) < 2 {
		select {
		case a := <-listening:
			r.addr[a[0]] = a[1]
		case <-r.done:
			t.Fatalf("siemfwd exited before listening: %v", r.err)
		case <-deadline:
			t.Fatal("siemfwd did not start listening within a minute")
		}
	}
	return r
}

// stop sends SIGTERM and waits for a clean exit (the sink flushes first).
func (r *siemfwdRun) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-r.done:
		require.NoError(t, r.err, "siemfwd exit")
	case <-time.After(time.Minute):
		t.Fatal("siemfwd did not stop within a minute")
	}
}

// sendAll sends each line, LF-framed over TCP, to its product's source.
func sendAll(t *testing.T, addr map[string]string, lines []line) {
	t.Helper()
	conns := map[string]net.Conn{}
	for _, src := range []string{"connect", "control"} {
		c, err := net.Dial("tcp", addr[src])
		require.NoError(t, err)
		conns[src] = c
	}
	for _, l := range lines {
		src := "connect"
		if l.product == kerioControl {
			src = "control"
		}
		_, err := io.WriteString(conns[src], l.wire()+"\n")
		require.NoError(t, err)
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
}

// securityRule is the part of an Elastic Security rule the pack sets.
type securityRule struct {
	RuleID    string   `json:"rule_id"`
	Type      string   `json:"type"`
	Language  string   `json:"language"`
	Query     string   `json:"query"`
	Index     []string `json:"index"`
	From      string   `json:"from"`
	Threshold *struct {
		Field       []string `json:"field"`
		Value       int      `json:"value"`
		Cardinality []struct {
			Field string `json:"field"`
			Value int    `json:"value"`
		} `json:"cardinality"`
	} `json:"threshold"`
	NewTermsFields     []string `json:"new_terms_fields"`
	HistoryWindowStart string   `json:"history_window_start"`
}

// TestElasticSecurityRulesCarryTheProvenParameters: the file users import
// holds one rule per alerting rule, with the query, counts, groups and
// windows that the scenario test evaluates from rules.json.
func TestElasticSecurityRulesCarryTheProvenParameters(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("dist", "rules.json"))
	require.NoError(t, err)
	var d struct {
		Rules []struct {
			distRule
			ID          string `json:"id"`
			Lucene      string `json:"lucene"`
			ElasticEQL  string `json:"elastic_eql"`
			Correlation *struct {
				Rules    []string `json:"rules"`
				GroupBy  []string `json:"group_by"`
				Timespan string   `json:"timespan"`
				GTE      int      `json:"gte"`
				Field    string   `json:"field"`
			} `json:"correlation"`
		} `json:"rules"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	f, err := os.Open(filepath.Join("dist", "elastic-security-rules.ndjson"))
	require.NoError(t, err)
	defer f.Close()
	imported := map[string]securityRule{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r securityRule
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		imported[r.RuleID] = r
	}
	require.NoError(t, sc.Err())

	alerting := 0
	for _, r := range d.Rules {
		s, ok := imported[r.ID]
		if r.BuildingBlock {
			require.False(t, ok, "%s: a building block is not imported as a rule", r.Name)
			continue
		}
		alerting++
		require.True(t, ok, "%s is missing from elastic-security-rules.ndjson", r.Name)
		require.Equal(t, []string{"logs-kerio*"}, s.Index, r.Name)
		switch r.Type {
		case "query", "new_terms":
			require.Equal(t, r.Type, s.Type, r.Name)
			require.Equal(t, "lucene", s.Language, r.Name)
			require.Equal(t, r.Lucene, s.Query, r.Name)
			if r.Type == "new_terms" {
				require.Equal(t, r.NewTerms.Fields, s.NewTermsFields, r.Name)
				require.Equal(t, "now-"+r.NewTerms.HistoryWindow, s.HistoryWindowStart, r.Name)
			}
		case "event_count", "value_count":
			c := r.Correlation
			require.Equal(t, "threshold", s.Type, r.Name)
			require.Equal(t, r.Lucene, s.Query, r.Name)
			require.Equal(t, "now-"+c.Timespan, s.From, r.Name)
			require.Equal(t, c.GroupBy, s.Threshold.Field, r.Name)
			if r.Type == "event_count" {
				require.Equal(t, c.GTE, s.Threshold.Value, r.Name)
				require.Empty(t, s.Threshold.Cardinality, r.Name)
			} else {
				require.Equal(t, 1, s.Threshold.Value, r.Name)
				require.Len(t, s.Threshold.Cardinality, 1, r.Name)
				require.Equal(t, c.Field, s.Threshold.Cardinality[0].Field, r.Name)
				require.Equal(t, c.GTE, s.Threshold.Cardinality[0].Value, r.Name)
			}
		case "temporal_ordered":
			c := r.Correlation
			require.Equal(t, "eql", s.Type, r.Name)
			require.Equal(t, "eql", s.Language, r.Name)
			require.Equal(t, r.ElasticEQL, s.Query, r.Name)
			require.True(t, strings.HasPrefix(s.Query, "sequence by "+strings.Join(c.GroupBy, ", ")+" with maxspan="+c.Timespan+"\n"), "%s: %s", r.Name, s.Query)
		default:
			t.Fatalf("%s: unexpected type %s", r.Name, r.Type)
		}
	}
	require.Len(t, imported, alerting, "one imported rule per alerting rule")
}

// TestDocsDescribeEveryAlertingRule keeps docs/detections.md in step with the pack.
func TestDocsDescribeEveryAlertingRule(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "detections.md"))
	require.NoError(t, err)
	for name, r := range loadDist(t) {
		if r.BuildingBlock {
			continue
		}
		require.GreaterOrEqual(t, strings.Count(string(doc), "`"+name+"`"), 2, "docs/detections.md: %s in the rule table and in the results", name)
	}
}
