package process_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/corpus"
	"siemfwd/pipeline"
)

// readNonKerio reads every line of testdata/nonkerio/*.log: common Linux
// and network-device lines from public test data (see the README there).
func readNonKerio(t testing.TB) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "nonkerio", "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := make(map[string][]string)
	n := 0
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.TrimSpace(line) != "" {
				out[filepath.Base(name)] = append(out[filepath.Base(name)], line)
				n++
			}
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	require.GreaterOrEqual(t, n, 300, "the corpus shrank")
	return out
}

// genericFields are the only fields a line that is not Kerio's may carry
// when no profile adds any: what the transport, the syslog header and the
// configuration give. Nothing may come from the free text.
var genericFields = map[string]bool{
	"@timestamp": true, "event.created": true, "event.original": true, "event.kind": true,
	"event.dataset": true, "message": true, "tags": true, "host.hostname": true,
	"process.name": true, "process.pid": true, "observer.hostname": true, "observer.ip": true,
	"ecs.version": true, "agent.type": true, "agent.name": true, "agent.version": true,
	"labels.siemfwd_source": true, "data_stream.type": true, "data_stream.dataset": true,
	"data_stream.namespace": true, "log.file.path": true, "log.offset": true,
}

// checkNotKerio reports what makes doc look like a Kerio event or carry a
// field read from the free text.
func checkNotKerio(t *testing.T, ev *pipeline.Event) {
	t.Helper()
	got := flatten(t, ev.JSON)
	for key := range got {
		if !genericFields[key] && !strings.HasPrefix(key, "log.syslog.") {
			t.Errorf("%s: field not from the header or the configuration (%v)\n%s", key, got[key], ev.JSON)
		}
	}
	for _, key := range []string{"event.dataset", "data_stream.dataset", "event.module"} {
		if v, _ := got[key].(string); strings.Contains(v, "kerio") {
			t.Errorf("%s: %q\n%s", key, v, ev.JSON)
		}
	}
	if tags, ok := got["tags"].([]any); ok {
		for _, tag := range tags {
			if s, _ := tag.(string); strings.HasPrefix(s, "kerio") {
				t.Errorf("tag %q\n%s", s, ev.JSON)
			}
		}
	}
	if ev.Routes.Module != "" {
		t.Errorf("routed as module %q", ev.Routes.Module)
	}
	if app, ok := got["log.syslog.appname"]; ok {
		require.Equal(t, app, got["process.name"], "process.name is the tag")
	}
	if host, ok := got["log.syslog.hostname"]; ok {
		require.Equal(t, host, got["host.hostname"], "host.hostname is the header's")
	}
}

func TestNonKerioLinesAreGenericSyslog(t *testing.T) {
	p := newProcessor()
	received := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	syslogOrigin := &pipeline.Origin{Source: "syslog", Transport: "tcp", Format: pipeline.FormatSyslog, Location: time.UTC}
	for file, lines := range readNonKerio(t) {
		for i, line := range lines {
			events := map[string]*pipeline.Event{
				"as sent": {Raw: []byte(line), Origin: syslogOrigin},
			}
			if !strings.HasPrefix(line, "<") {
				events["with PRI"] = &pipeline.Event{Raw: []byte("<38>" + line), Origin: syslogOrigin}
				// A bare line as a relay wraps it: RFC 5424 with the
				// program as APP-NAME.
				events["in RFC 5424"] = &pipeline.Event{Raw: []byte("<190>1 2026-12-07T12:00:00Z web01 nginx 4242 - - " + line), Origin: syslogOrigin}
			}
			// A file source that names no product, reading files whose
			// names Kerio uses too (Linux's mail.log, Apache's error.log).
			for _, log := range []string{"mail", "error", "security", "warn", "config", "kerio"} {
				events["file "+log+".log"] = &pipeline.Event{Raw: []byte(line), Origin: &pipeline.Origin{Source: "files",
					Transport: "file", Format: pipeline.FormatLine, Location: time.UTC, Log: log, FilePath: "/var/log/" + log + ".log"}}
			}
			for how, ev := range events {
				ev.Received = received
				t.Run(file+"/"+how, func(t *testing.T) {
					p.Process(ev)
					if t.Failed() {
						return
					}
					checkNotKerio(t, ev)
					if t.Failed() {
						t.Logf("line %d: %s", i+1, line)
					}
				})
			}
		}
	}
}

// The lines the issue reported as filed as Kerio by the default config.
func TestIssueLinesAreGenericSyslog(t *testing.T) {
	o := &pipeline.Origin{Source: "syslog_tcp", Transport: "tcp", Format: pipeline.FormatSyslog, Location: time.UTC}
	for _, tt := range []struct {
		name, raw, message, app, pid, host string
	}{
		{"nginx access line", `<190>Dec  7 10:00:00 web01 nginx: 127.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"`,
			`127.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"`, "nginx", "", "web01"},
		{"sshd session", "<86>Dec  7 10:00:00 host1 sshd[42]: alice - session opened", "alice - session opened", "sshd", "42", "host1"},
		{"short nginx line", `<190>Dec  7 10:00:00 web01 nginx: 10.0.0.1 - bob [07/Dec/2026:10:00:00 +0000] "GET http://example.com/ HTTP/1.1" 304 0 +4`,
			`10.0.0.1 - bob [07/Dec/2026:10:00:00 +0000] "GET http://example.com/ HTTP/1.1" 304 0 +4`, "nginx", "", "web01"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := &pipeline.Event{Raw: []byte(tt.raw), Origin: o, Received: time.Date(2026, 12, 7, 10, 0, 1, 0, time.UTC)}
			newProcessor().Process(ev)
			checkNotKerio(t, ev)
			got := flatten(t, ev.JSON)
			require.Equal(t, "syslog", got["event.dataset"])
			require.Equal(t, "event", got["event.kind"])
			require.Equal(t, tt.message, got["message"])
			require.Equal(t, tt.app, got["process.name"])
			require.Equal(t, tt.host, got["host.hostname"])
			if tt.pid != "" {
				require.Equal(t, float64(42), got["process.pid"])
			} else {
				require.NotContains(t, got, "process.pid")
			}
			require.NotContains(t, got, "tags")
		})
	}
}

// A source that names no product still files Kerio's lines as Kerio's when
// the APP-NAME (a file's log name) is one Kerio uses and the wording
// matches: every corpus line whose expectation names an event.action.
func TestKerioLinesAreKerioWithoutAProduct(t *testing.T) {
	p := newProcessor()
	n := 0
	for _, file := range corpus.Files {
		for _, l := range readCorpus(t, file) {
			action, ok := l.Expected["event.action"].(string)
			if !ok || l.Log == "unknown" {
				continue
			}
			t.Run(l.ID, func(t *testing.T) {
				ev := l.Event()
				if l.Format == "" {
					ev = asSyslog(l) // the log name as APP-NAME
				} else {
					o := *ev.Origin
					o.Product, o.Log = "", ""
					ev.Origin = &o
				}
				p.Process(ev)
				got := flatten(t, ev.JSON)
				require.Equal(t, action, got["event.action"], "%s", ev.JSON)
				// Logs both products write (config, security, …) name the
				// product only by configuration.
				module, log, _ := strings.Cut(got["event.dataset"].(string), ".")
				require.True(t, strings.HasPrefix(module, "kerio"), "%s", ev.JSON)
				if want, ok := l.Expected["event.dataset"].(string); ok {
					_, wantLog, _ := strings.Cut(want, ".")
					require.Equal(t, wantLog, log, "%s", ev.JSON)
				}
				n++
			})
		}
	}
	require.Greater(t, n, 150)
}

// A line that only an APP-NAME calls Kerio's, in wording no Kerio layout
// has, is generic syslog; a source that names the product keeps it as
// kerio_generic.
func TestKerioAppNameAloneIsNotEnough(t *testing.T) {
	raw := "<22>1 2026-12-07T10:00:00Z mx01 security - - - something Kerio never wrote"
	for _, tt := range []struct {
		product, dataset string
		tags             any
	}{
		{"", "syslog", nil},
		{"kerio_connect", "kerio_connect.security", []any{"kerio_generic"}},
		{"kerio", "kerio.security", []any{"kerio_generic"}},
	} {
		t.Run("product "+tt.product, func(t *testing.T) {
			ev := &pipeline.Event{Raw: []byte(raw), Received: time.Now(),
				Origin: &pipeline.Origin{Source: "s", Format: pipeline.FormatSyslog, Location: time.UTC, Product: tt.product}}
			newProcessor().Process(ev)
			got := flatten(t, ev.JSON)
			require.Equal(t, tt.dataset, got["event.dataset"])
			require.Equal(t, tt.tags, got["tags"])
			if tt.product == "" {
				checkNotKerio(t, ev)
			}
		})
	}
}
