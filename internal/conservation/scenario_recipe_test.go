package conservation

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
)

// recipeDoc is the page whose one-machine recipe TestOneMachineRecipe runs.
var recipeDoc = filepath.Join("..", "..", "docs", "scaling.md")

// recipe returns the lines of the first sh block after the heading
// "## Trying it on one machine", without comments and blank lines.
func recipe(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(recipeDoc)
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(b), "\n## Trying it on one machine\n")
	require.True(t, ok, "%s has no section \"Trying it on one machine\"", recipeDoc)
	_, block, ok := strings.Cut(after, "```sh\n")
	require.True(t, ok, "the recipe in %s has no sh block", recipeDoc)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok, "the recipe's sh block in %s does not end", recipeDoc)
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// command is one recipe line: its environment, program and arguments, and
// whether it runs in the background.
type command struct {
	env        map[string]string
	args       []string
	background bool
}

func parseCommand(t *testing.T, line string) command {
	t.Helper()
	c := command{env: map[string]string{}}
	line, c.background = strings.CutSuffix(line, "&")
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok && len(c.args) == 0 && strings.HasPrefix(k, "SIEMFWD_") {
			c.env[k] = v
			continue
		}
		c.args = append(c.args, strings.Trim(f, "'"))
	}
	require.NotEmpty(t, c.args, "recipe line %q runs nothing", line)
	return c
}

// configPort returns the port of a source's address in a shipped config,
// as the file writes it (`name: {... address: "host:port" ...}`).
func configPort(t *testing.T, config, source string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", config))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s+` + source + `:.*address: "[^"]*:(\d+)"`).FindSubmatch(b)
	require.NotNil(t, m, "configs/%s: no address for %s", config, source)
	return string(m[1])
}

// TestOneMachineRecipe runs the recipe of docs/scaling.md ("Trying it on
// one machine") line by line, as written, and fails on a line it does not
// know. What it moves, so that it collides with nothing else on the test
// broker and node: listening and admin addresses (127.0.0.1:0), the broker
// and node addresses (the test services), the edge's data directory (a
// temporary one), and the names of the topic, dead-letter topic, group,
// namespace and dead-letter index. The shipped configs are otherwise
// unchanged: the edge creates its topic (create_topics), the indexer waits
// for it, and Elasticsearch ends up counting exactly what loadgen sent.
func TestOneMachineRecipe(t *testing.T) {
	n := NewNames("recipe")
	dir := t.TempDir()
	brokers := strings.Join(testservice.Kafka(t), ",")
	es := testservice.Elasticsearch(t)
	moved := map[string]map[string]string{
		"configs/edge.yaml": {
			"SIEMFWD_PIPELINE_DATA_DIR":             filepath.Join(dir, "edge-data"),
			"SIEMFWD_SOURCES_SYSLOG_UDP_ADDRESS":    "127.0.0.1:0",
			"SIEMFWD_SOURCES_SYSLOG_TCP_ADDRESS":    "127.0.0.1:0",
			"SIEMFWD_SINKS_KAFKA_BROKERS":           brokers,
			"SIEMFWD_SINKS_KAFKA_TOPIC":             n.TopicPrefix + "raw",
			"SIEMFWD_SINKS_KAFKA_DEAD_LETTER_TOPIC": n.DeadTopic,
		},
		"configs/indexer.yaml": {
			"SIEMFWD_PIPELINE_NAMESPACE":                    n.Namespace,
			"SIEMFWD_SOURCES_FROM_EDGES_BROKERS":            brokers,
			"SIEMFWD_SOURCES_FROM_EDGES_TOPICS":             n.TopicPrefix + "raw",
			"SIEMFWD_SOURCES_FROM_EDGES_GROUP_ID":           "cons-" + run + "-recipe",
			"SIEMFWD_SINKS_ELASTICSEARCH_ADDRESSES":         es,
			"SIEMFWD_SINKS_ELASTICSEARCH_DEAD_LETTER_INDEX": n.DeadIndex,
		},
	}
	edgeTCP := "127.0.0.1:" + configPort(t, "edge.yaml", "syslog_tcp")
	procs := map[string]*Proc{}
	sent := -1
	counted := false
	for _, line := range recipe(t) {
		c := parseCommand(t, line)
		switch prog := c.args[0]; {
		case line == "make build":
			// TestMain built siemfwd; loadgen is built where it is used.
		case line == "scripts/testenv/up":
			require.NotEmpty(t, brokers) // make test started them (or the test failed above)
		case prog == "bin/siemfwd":
			require.Len(t, c.args, 4, "recipe line %q", line)
			require.Equal(t, []string{"run", "-c"}, c.args[1:3], "recipe line %q", line)
			config := c.args[3]
			env, ok := moved[config]
			require.True(t, ok, "recipe line %q: the test knows no config %s", line, config)
			require.True(t, c.background, "recipe line %q: siemfwd runs in the background", line)
			for k := range c.env {
				_, ok := env[k]
				require.True(t, ok, "recipe line %q sets %s, which the test does not move", line, k)
			}
			p := Start(t, strings.TrimPrefix(config, "configs/"), env)
			procs[config] = p
		case prog == "bin/loadgen":
			edge := procs["configs/edge.yaml"]
			require.NotNil(t, edge, "recipe line %q: loadgen before the edge", line)
			args := slices.Clone(c.args[1:])
			i := slices.Index(args, "-addr")
			require.True(t, i >= 0 && i+1 < len(args) && args[i+1] == edgeTCP,
				"recipe line %q sends to %s, the edge's TCP port in configs/edge.yaml", line, edgeTCP)
			args[i+1] = edge.Listen["syslog_tcp"]
			i = slices.Index(args, "-n")
			require.True(t, i >= 0 && i+1 < len(args), "recipe line %q says how many to send (-n)", line)
			want, err := strconv.Atoi(args[i+1])
			require.NoError(t, err, "recipe line %q", line)
			sent = runLoadgen(t, args)
			require.Equal(t, want, sent, "loadgen sent what the recipe says")
		case prog == "curl":
			require.Positive(t, sent, "recipe line %q: nothing was sent before", line)
			u, err := url.Parse(c.args[len(c.args)-1])
			require.NoError(t, err, "recipe line %q", line)
			path, ok := strings.CutSuffix(u.Path, "-default/_count")
			require.True(t, ok, "recipe line %q counts the default namespace (configs/indexer.yaml)", line)
			countURL := es + path + "-" + n.Namespace + "/_count"
			poll.UntilOK(t, patience, func() string {
				var res struct {
					Count int `json:"count"`
				}
				require.NoError(t, json.Unmarshal(esCall(t, http.MethodGet, countURL, ""), &res))
				require.LessOrEqual(t, res.Count, sent, "Elasticsearch counts more than loadgen sent")
				if res.Count != sent {
					return fmt.Sprintf("Elasticsearch counts %d of %d", res.Count, sent)
				}
				return ""
			})
			counted = true
		default:
			t.Fatalf("the recipe in %s has a line this test does not run: %q", recipeDoc, line)
		}
	}
	require.True(t, counted, "the recipe ends by counting what Elasticsearch holds")
	edge := procs["configs/edge.yaml"]
	ledger := edge.Ledger()
	require.EqualValues(t, sent, ledger.Received)
	require.Empty(t, ledger.Dropped)
	t.Logf("RECIPE loadgen sent %d; the edge received %d; Elasticsearch counts %d", sent, ledger.Received, sent)
	for _, p := range procs {
		require.Equal(t, 0, p.Stop())
	}
}

// runLoadgen builds cmd/loadgen, runs it with args and returns how many
// messages it says it sent.
func runLoadgen(t *testing.T, args []string) int {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "loadgen")
	out, err := exec.Command("go", "build", "-o", bin, "siemfwd/cmd/loadgen").CombinedOutput()
	require.NoError(t, err, "building loadgen: %s", out)
	out, err = exec.Command(bin, args...).CombinedOutput()
	require.NoError(t, err, "loadgen %v: %s", args, out)
	m := regexp.MustCompile(` sent=(\d+) `).FindSubmatch(out)
	require.NotNil(t, m, "loadgen printed no sent=: %s", out)
	sent, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	return sent
}
