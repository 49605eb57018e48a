package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
)

// newTermsWindow is the look-back in which a new-terms rule reports terms
// first seen; everything before it, back to the rule's history window, is
// history (Elastic Security's new_terms rule works the same way).
const newTermsWindow = 10 * time.Minute

// harness runs the converted rules against the node. The node is the minimal
// integration-test build (no ES|QL, EQL or painless), so correlations are
// evaluated here with terms, cardinality and min aggregations, and sequences
// from the matching events in time order.
type harness struct {
	es    string
	index string
	now   time.Time
}

// evaluate runs rule r on the events of one syslog host. It returns the number
// of matching events for a query rule, and the alerting groups for a
// correlation or new-terms rule.
func (h *harness) evaluate(t *testing.T, rules map[string]distRule, r distRule, host string) (hits int, groups [][]string) {
	t.Helper()
	switch r.Type {
	case "query":
		return h.search(t, h.scoped(t, []distRule{r}, host, time.Time{})).Hits.Total.Value, nil
	case "new_terms":
		history, err := parseSpan(r.NewTerms.HistoryWindow)
		require.NoError(t, err)
		body := h.scoped(t, []distRule{r}, host, h.now.Add(-history))
		groups = h.groups(t, body, r.NewTerms.Fields, map[string]any{"first_seen": map[string]any{"min": map[string]any{"field": "@timestamp"}}},
			func(b bucket) bool {
				first := b.Aggs["first_seen"].Value
				return first != nil && *first >= float64(h.now.Add(-newTermsWindow).UnixMilli())
			})
		return 0, groups
	case "event_count", "value_count":
		c := r.Correlation
		body := h.scoped(t, h.refs(t, rules, c.Rules), host, h.now.Add(-time.Duration(c.TimespanSeconds)*time.Second))
		leaf := map[string]any{}
		if r.Type == "value_count" {
			leaf["distinct"] = map[string]any{"cardinality": map[string]any{"field": c.Field, "precision_threshold": 40000}}
		}
		return 0, h.groups(t, body, c.GroupBy, leaf, func(b bucket) bool {
			if r.Type == "value_count" {
				v := b.Aggs["distinct"].Value
				return v != nil && *v >= float64(c.GTE)
			}
			return b.DocCount >= c.GTE
		})
	case "temporal_ordered":
		return 0, h.sequence(t, rules, r, host)
	}
	t.Fatalf("%s: no evaluation for rule type %q", r.Name, r.Type)
	return 0, nil
}

// refs returns the base rules a correlation counts.
func (h *harness) refs(t *testing.T, rules map[string]distRule, names []string) []distRule {
	t.Helper()
	var out []distRule
	for _, n := range names {
		r, ok := rules[n]
		require.True(t, ok, "unknown rule %s", n)
		require.Equal(t, "query", r.Type, "%s: a count correlates base rules", n)
		out = append(out, r)
	}
	return out
}

// scoped wraps the rules' converted query bodies (any of them matches) with
// the host and the time range, leaving the converted queries as they are.
func (h *harness) scoped(t *testing.T, rs []distRule, host string, from time.Time) map[string]any {
	t.Helper()
	var should []any
	for _, r := range rs {
		var body struct {
			Query json.RawMessage `json:"query"`
		}
		require.NoError(t, json.Unmarshal(r.DSLLucene, &body), "%s: dsl_lucene", r.Name)
		require.NotEmpty(t, body.Query, "%s: dsl_lucene has no query", r.Name)
		should = append(should, body.Query)
	}
	ts := map[string]any{"lte": h.now.Format(time.RFC3339)}
	if !from.IsZero() {
		ts["gte"] = from.Format(time.RFC3339)
	}
	return map[string]any{
		"size":             0,
		"track_total_hits": true,
		"query": map[string]any{"bool": map[string]any{
			"should":               should,
			"minimum_should_match": 1,
			"filter": []any{
				map[string]any{"term": map[string]any{"log.syslog.hostname": host}},
				map[string]any{"range": map[string]any{"@timestamp": ts}},
			},
		}},
	}
}

type bucket struct {
	Key      any `json:"key"`
	DocCount int `json:"doc_count"`
	Aggs     map[string]struct {
		Value   *float64 `json:"value"`
		Buckets []bucket `json:"buckets"`
	} `json:"-"`
}

func (b *bucket) UnmarshalJSON(data []byte) error {
	type plain bucket
	if err := json.Unmarshal(data, (*plain)(b)); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	b.Aggs = map[string]struct {
		Value   *float64 `json:"value"`
		Buckets []bucket `json:"buckets"`
	}{}
	for k, v := range all {
		if k == "key" || k == "doc_count" || k == "key_as_string" {
			continue
		}
		var a struct {
			Value   *float64 `json:"value"`
			Buckets []bucket `json:"buckets"`
		}
		if err := json.Unmarshal(v, &a); err == nil {
			b.Aggs[k] = a
		}
	}
	return nil
}

type searchResult struct {
	Hits struct {
		Total struct {
			Value int `json:"value"`
		} `json:"total"`
		Hits []struct {
			Fields map[string][]any `json:"fields"`
		} `json:"hits"`
	} `json:"hits"`
	Aggregations json.RawMessage `json:"aggregations"`
}

// groups nests a terms aggregation per field, puts leaf under the last one,
// and returns the field values of every innermost bucket that alerts.
func (h *harness) groups(t *testing.T, body map[string]any, fields []string, leaf map[string]any, alerts func(bucket) bool) [][]string {
	t.Helper()
	aggs := leaf
	for i := len(fields) - 1; i >= 0; i-- {
		a := map[string]any{"terms": map[string]any{"field": fields[i], "size": 10000}}
		if len(aggs) > 0 {
			a["aggs"] = aggs
		}
		aggs = map[string]any{fmt.Sprintf("g%d", i): a}
	}
	body["aggs"] = aggs
	res := h.search(t, body)
	var root bucket
	require.NoError(t, json.Unmarshal(res.Aggregations, &root))
	out := [][]string{}
	var walk func(b bucket, depth int, keys []string)
	walk = func(b bucket, depth int, keys []string) {
		if depth == len(fields) {
			if alerts(b) {
				out = append(out, append([]string(nil), keys...))
			}
			return
		}
		for _, c := range b.Aggs[fmt.Sprintf("g%d", depth)].Buckets {
			walk(c, depth+1, append(keys, fmt.Sprint(c.Key)))
		}
	}
	walk(root, 0, nil)
	return out
}

// sequence evaluates a temporal_ordered correlation: for each group, every
// step in order, each after the previous one, within the timespan. A step is
// a base rule (one event) or an event_count correlation (its gte-th event).
func (h *harness) sequence(t *testing.T, rules map[string]distRule, r distRule, host string) [][]string {
	t.Helper()
	c := r.Correlation
	from := h.now.Add(-time.Duration(c.TimespanSeconds) * time.Second)
	type step struct {
		events map[string][]time.Time // group -> times, ascending
		need   int
	}
	var steps []step
	for _, name := range c.Rules {
		sr, ok := rules[name]
		require.True(t, ok, "unknown rule %s", name)
		base, need := sr, 1
		if sr.Type == "event_count" {
			require.Len(t, sr.Correlation.Rules, 1)
			require.Equal(t, c.GroupBy, sr.Correlation.GroupBy, "%s: a sequence step is grouped like the sequence", name)
			base, need = rules[sr.Correlation.Rules[0]], sr.Correlation.GTE
		}
		require.Equal(t, "query", base.Type, "%s: sequence step", name)
		body := h.scoped(t, []distRule{base}, host, from)
		body["size"] = 10000
		body["_source"] = false
		body["fields"] = append([]string{"@timestamp"}, c.GroupBy...)
		body["sort"] = []any{map[string]any{"@timestamp": "asc"}}
		res := h.search(t, body)
		st := step{events: map[string][]time.Time{}, need: need}
		for _, hit := range res.Hits.Hits {
			var key []string
			for _, f := range c.GroupBy {
				v := hit.Fields[f]
				if len(v) == 0 {
					key = nil
					break
				}
				key = append(key, fmt.Sprint(v[0]))
			}
			if key == nil {
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(hit.Fields["@timestamp"][0]))
			require.NoError(t, err)
			k := strings.Join(key, "\x00")
			st.events[k] = append(st.events[k], at)
		}
		steps = append(steps, st)
	}
	out := [][]string{}
	for k := range steps[0].events {
		after := time.Time{}
		ok := true
		for i, st := range steps {
			n := 0
			var done time.Time
			for _, at := range st.events[k] {
				if i > 0 && !at.After(after) {
					continue
				}
				n++
				if n == st.need {
					done = at
					break
				}
			}
			if done.IsZero() {
				ok = false
				break
			}
			after = done
		}
		if ok {
			out = append(out, strings.Split(k, "\x00"))
		}
	}
	return out
}

// search runs a _search on the scenario's data streams.
func (h *harness) search(t *testing.T, body map[string]any) searchResult {
	t.Helper()
	var res searchResult
	h.do(t, "POST", "/"+h.index+"/_search", body, &res)
	return res
}

func (h *harness) count(t *testing.T, query map[string]any) int {
	t.Helper()
	var res struct {
		Count int `json:"count"`
	}
	h.do(t, "POST", "/"+h.index+"/_count", map[string]any{"query": query}, &res)
	return res.Count
}

// waitCount refreshes and counts until the node holds n documents; more than
// n, or n not reached within three minutes, fails. Until the new data streams'
// shards are active the node answers 503, which only means "not yet".
func (h *harness) waitCount(t *testing.T, n int) {
	t.Helper()
	body := map[string]any{"query": map[string]any{"match_all": map[string]any{}}}
	poll.UntilOK(t, 3*time.Minute, func() string {
		var res struct {
			Count int `json:"count"`
		}
		if !h.try(t, "POST", "/"+h.index+"/_refresh?allow_no_indices=true", nil, nil) ||
			!h.try(t, "POST", "/"+h.index+"/_count?allow_no_indices=true", body, &res) {
			return "the node to answer"
		}
		require.LessOrEqual(t, res.Count, n, "documents in %s", h.index)
		if res.Count < n {
			return fmt.Sprintf("%d of %d documents in %s", res.Count, n, h.index)
		}
		return ""
	})
}

// try is do for a node that may not be ready: false on 503 or when the node
// does not answer in time (a loaded test machine).
func (h *harness) try(t *testing.T, method, path string, body any, out any) bool {
	t.Helper()
	status, b, err := h.send(method, path, body)
	if err != nil {
		t.Logf("%s %s: %v (retrying)", method, path, err)
		return false
	}
	if status == http.StatusServiceUnavailable {
		return false
	}
	require.Less(t, status, 300, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s", b)
	}
	return true
}

func (h *harness) do(t *testing.T, method, path string, body any, out any) {
	t.Helper()
	status, b := h.request(t, method, path, body)
	require.Less(t, status, 300, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s", b)
	}
}

func (h *harness) request(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	status, b, err := h.send(method, path, body)
	require.NoError(t, err)
	return status, b
}

// send makes one request; it does not use t.Context because cleanups call it
// after the test's context ended (the client's timeout bounds it instead).
func (h *harness) send(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.es+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// parseSpan reads a Sigma time span: a number and one of s, m, h, d.
func parseSpan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("time span %q: want a number and s, m, h or d", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("time span %q: want a positive number and s, m, h or d", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("time span %q: unit must be s, m, h or d", s)
	}
	return time.Duration(n) * unit, nil
}
