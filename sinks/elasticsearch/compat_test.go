package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// exchange is one request the sink made and what the node answered.
type exchange struct {
	method, path        string
	accept, contentType string
	status              int
	product, warning    string
}

// recordingProxy forwards to the real node and records every exchange,
// so a test sees the headers go-elasticsearch sends and the node's answers.
type recordingProxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []exchange
}

func newRecordingProxy(t testing.TB, target string) *recordingProxy {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := &recordingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{DisableKeepAlives: true}
	rp.ModifyResponse = func(res *http.Response) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.log = append(p.log, exchange{method: res.Request.Method, path: res.Request.URL.Path,
			accept: res.Request.Header.Get("Accept"), contentType: res.Request.Header.Get("Content-Type"),
			status: res.StatusCode, product: res.Header.Get("X-Elastic-Product"), warning: res.Header.Get("Warning")})
		return nil
	}
	p.srv = httptest.NewServer(rp)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *recordingProxy) exchanges() []exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]exchange(nil), p.log...)
}

// nodeVersion asks the node for its version (_nodes/_local: the minimal
// build has no GET /).
func nodeVersion(t testing.TB) string {
	t.Helper()
	var nodes struct {
		Nodes map[string]struct {
			Version string `json:"version"`
		} `json:"nodes"`
	}
	require.Equal(t, 200, esDo(t, "GET", "/_nodes/_local?filter_path=nodes.*.version", "", &nodes))
	for _, n := range nodes.Nodes {
		return n.Version
	}
	t.Fatal("no node in _nodes/_local")
	return ""
}

// TestRealNodeClientCompatibility runs everything the sink asks of a node
// through go-elasticsearch v8 against the node under test (8.19, and 9.x in
// scripts/test.sh's second run): the probe, template installs, _bulk creates
// into a data stream, the _mget that settles 409s. It records the headers:
// without compatibility mode the client sends plain JSON media types (no
// compatible-with), and with ELASTIC_CLIENT_APIVERSIONING=true it asks for
// compatible-with=8; either way the node answers every request as
// Elasticsearch (the client's product check) without a deprecation warning.
func TestRealNodeClientCompatibility(t *testing.T) {
	version := nodeVersion(t)
	t.Logf("node version %s", version)
	for _, compat := range []bool{false, true} {
		name := map[bool]string{false: "default", true: "compatible-with=8"}[compat]
		t.Run(name, func(t *testing.T) {
			if compat {
				t.Setenv("ELASTIC_CLIENT_APIVERSIONING", "true")
			}
			proxy := newRecordingProxy(t, esAddress(t))
			ns := uniqueNamespace(t)
			cleanup(t, ns)
			s := newTestSink(t, proxy.srv.URL, func(c *Config) {
				c.OverwriteTemplate = true
				c.DeadLetterIndex = "logs-siemfwd.deadletter-" + ns
				c.RequestTimeout = 20 * time.Second
			})
			// An upper bound only: a loaded machine's node can take minutes.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			require.NoError(t, s.Start(ctx))
			events := ecsEvents(t, 50, ns)
			writeAll(ctx, t, s, events)
			// Again: every create answers 409 and one _mget finds them stored.
			require.NoError(t, s.Write(ctx, events))
			require.Equal(t, len(events), esCount(t, "logs-*-"+ns, ""))

			// The documents went into data streams: backing indices .ds-….
			var resolved struct {
				DataStreams []struct {
					Name           string   `json:"name"`
					BackingIndices []string `json:"backing_indices"`
					TimestampField string   `json:"timestamp_field"`
				} `json:"data_streams"`
				Indices []json.RawMessage `json:"indices"`
			}
			require.Equal(t, 200, esDo(t, "GET", "/_resolve/index/logs-*-"+ns, "", &resolved))
			require.NotEmpty(t, resolved.DataStreams)
			require.Empty(t, resolved.Indices, "no plain indices")
			for _, ds := range resolved.DataStreams {
				require.Equal(t, "@timestamp", ds.TimestampField)
				require.True(t, strings.HasPrefix(ds.BackingIndices[0], ".ds-"+ds.Name+"-"), ds.BackingIndices[0])
			}

			seen := map[string]bool{}
			headers := map[string]bool{}
			for _, x := range proxy.exchanges() {
				key := x.method + " " + x.path
				headers[fmt.Sprintf("%s %s: Accept %q, Content-Type %q → %d", x.method, strings.SplitN(x.path+"/", "/", 3)[1], x.accept, x.contentType, x.status)] = true
				seen[key] = true
				if strings.HasPrefix(x.path, "/_component_template/") || strings.HasPrefix(x.path, "/_index_template/") {
					seen[x.method+" template"] = true
				}
				require.Empty(t, x.warning, "%s: deprecation warning", key)
				if x.status >= 200 && x.status < 300 {
					require.Equal(t, "Elasticsearch", x.product, key)
				}
				if compat {
					require.Equal(t, compatibleWith8, x.accept, key)
					if x.method == http.MethodPut || x.method == http.MethodPost {
						require.Equal(t, compatibleWith8, x.contentType, key)
					}
				} else {
					require.NotContains(t, x.accept, "compatible-with", key)
					require.NotContains(t, x.contentType, "compatible-with", key)
				}
			}
			t.Logf("exchanges with %s %s:\n%s", name, version, strings.Join(slices.Sorted(maps.Keys(headers)), "\n"))
			for _, want := range []string{"PUT template", "POST /_bulk", "POST /_mget"} {
				require.True(t, seen[want], "the sink did not %s: %v", want, seen)
			}
		})
	}
}

// compatibleWith8 is the media type go-elasticsearch v8 sends in
// compatibility mode, for the body and the answer.
const compatibleWith8 = "application/vnd.elasticsearch+json;compatible-with=8"
