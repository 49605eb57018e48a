package pipeline_test

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// domain lists what the engine must not depend on: parsing, ECS, enrichment,
// the processor, Kafka, and the components built on the engine, by import
// path prefix (a whole path element: "siemfwd/ecs" is not "siemfwd/ecsx").
var domain = []string{
	"siemfwd/parse",
	"siemfwd/ecs",
	"siemfwd/enrich",
	"siemfwd/process",
	"siemfwd/kafka",
	"siemfwd/sources",
	"siemfwd/sinks",
	"siemfwd/cmd",
	"github.com/leodido/go-syslog",
	"github.com/segmentio/kafka-go",
	"github.com/twmb/franz-go",
	"github.com/elastic/go-elasticsearch",
	"github.com/oschwald/maxminddb-golang",
	"golang.org/x/text",
}

// engineMayImport is where the engine's own imports from this module may
// come from: the engine's support packages and the module's internal helpers.
// A new top-level package is domain until it is added here.
var engineMayImport = []string{"siemfwd/pipeline", "siemfwd/internal"}

func TestEngineDependsOnNoDomainPackage(t *testing.T) {
	// Each line: a package of the engine's dependency graph, then its imports.
	lines := goList(t, "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "siemfwd/pipeline")
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Fields(l)[0] == "siemfwd/pipeline" }) {
		t.Fatalf("go list -deps siemfwd/pipeline did not list the engine: %q", lines)
	}
	// Report the edges where the engine's graph first reaches the domain,
	// that is imports of it by packages that are not domain themselves.
	for _, line := range lines {
		fields := strings.Fields(line)
		if why(fields[0]) != "" {
			continue
		}
		for _, imp := range fields[1:] {
			if w := why(imp); w != "" {
				t.Errorf("%s imports %s, %s; the domain plugs into the engine through pipeline.Processor, Source and Sink", fields[0], imp, w)
			}
		}
	}
}

// why says why the engine must not depend on pkg, or "" when it may.
func why(pkg string) string {
	for _, d := range domain {
		if under(pkg, d) {
			return "which is domain (" + d + ")"
		}
	}
	if under(pkg, "siemfwd") && !slices.ContainsFunc(engineMayImport, func(p string) bool { return under(pkg, p) }) {
		return fmt.Sprintf("which is outside the engine's support packages %q", engineMayImport)
	}
	return ""
}

func TestSourcesAndSinksDoNotImportEachOther(t *testing.T) {
	for _, tt := range []struct{ pkgs, forbidden string }{
		{"siemfwd/sources/...", "siemfwd/sinks"},
		{"siemfwd/sinks/...", "siemfwd/sources"},
	} {
		lines := goList(t, "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, tt.pkgs)
		if len(lines) == 0 {
			t.Fatalf("go list %s listed no packages", tt.pkgs)
		}
		for _, line := range lines {
			fields := strings.Fields(line)
			for _, dep := range fields[1:] {
				if under(dep, tt.forbidden) {
					t.Errorf("%s depends on %s: sources and sinks meet only in the engine's contracts (wiring lives in cmd/siemfwd)", fields[0], dep)
				}
			}
		}
	}
}

// goList runs the go command's list with args and returns its output lines.
// go test puts its own toolchain first on PATH, so "go" is the one that
// builds this test.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(gotool, append([]string{"list"}, args...)...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// under reports whether the import path pkg is prefix or inside it.
func under(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}
