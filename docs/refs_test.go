// Package docs holds the checks that keep the documentation and the code
// that cites it in step: a reference to a section of a document must name a
// document in the repository and a section it has.
package docs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sectionRef is one "§N" in a file, with the document it points at: a
// path ending in .md ("docs/kerio.md §6.4", with or without backquotes), a
// document named in capitals ("FORMATS §5", meaning FORMATS.md), the
// previous reference's document when it continues a list ("§6.4, §6.5",
// "§6.4/§6.5"), or, in a Markdown file, that file itself ("see §1.4").
// A bare "§N" in code and an RFC's section ("RFC 5424 §6") are not checked.
var sectionRef = regexp.MustCompile("(?:`?([\\w./-]+\\.md|\\b[A-Z][A-Z_]{2,})`?\\s+)?§(\\d+(?:\\.\\d+)*)")

var (
	rfcBefore = regexp.MustCompile(`RFC\s*\d+\s*$`)
	listGlue  = regexp.MustCompile(`^(?:,\s*|/|\s+and\s+|\s+or\s+)$`)
)

// checkedExt are the files whose references are checked.
var checkedExt = map[string]bool{".go": true, ".md": true, ".yaml": true, ".yml": true, ".jsonl": true, ".sh": true}

// selfPath is this file, whose examples of dangling references are meant.
var selfPath = filepath.Join("docs", "refs_test.go")

// danglingRefs returns every reference under root whose document or
// section does not exist, as "file: reference: reason".
func danglingRefs(root string) ([]string, error) {
	var bad []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if !checkedExt[filepath.Ext(path)] || rel == selfPath {
			return nil
		}
		text, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(text), "§") {
			return err
		}
		for _, problem := range fileRefs(root, rel, string(text)) {
			bad = append(bad, rel+": "+problem)
		}
		return nil
	})
	return bad, err
}

// fileRefs checks the references of one file, rel being its path under root.
func fileRefs(root, rel, text string) []string {
	var bad []string
	lastDoc, lastEnd := "", -1
	for _, m := range sectionRef.FindAllStringSubmatchIndex(text, -1) {
		doc, section := "", text[m[4]:m[5]]
		switch {
		case m[2] >= 0:
			doc = text[m[2]:m[3]]
			if !strings.HasSuffix(doc, ".md") {
				doc += ".md"
			}
		case lastEnd >= 0 && listGlue.MatchString(text[lastEnd:m[0]]):
			doc = lastDoc
		case rfcBefore.MatchString(text[max(0, m[0]-12):m[0]]):
		case filepath.Ext(rel) == ".md":
			doc = rel
		}
		lastDoc, lastEnd = doc, m[1]
		if doc == "" {
			continue
		}
		ref := text[m[0]:m[1]]
		path, ok := resolveDoc(root, rel, doc)
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: no document %s in the repository", ref, doc))
			continue
		}
		if !hasSection(path, section) {
			bad = append(bad, fmt.Sprintf("%s: %s has no section %s", ref, doc, section))
		}
	}
	return bad
}

// resolveDoc finds doc next to the citing file or from the repository root.
func resolveDoc(root, rel, doc string) (string, bool) {
	for _, p := range []string{filepath.Join(root, filepath.Dir(rel), doc), filepath.Join(root, doc)} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
	}
	return "", false
}

// hasSection reports whether the Markdown file at path has a heading
// numbered section ("## 6. …", "### 6.4.1 …").
func hasSection(path, section string) bool {
	text, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	heading := regexp.MustCompile(`(?m)^#{1,6}\s+` + regexp.QuoteMeta(section) + `\.?\s`)
	return heading.Match(text)
}

func TestNoDanglingSectionReferences(t *testing.T) {
	bad, err := danglingRefs("..")
	require.NoError(t, err)
	require.Empty(t, bad, "references to documents or sections that do not exist")
}

func TestDanglingReferencesAreFound(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, rel), []byte(text), 0o644))
	}
	write("docs/guide.md", "# Guide\n\n## 1. Start\n\n### 1.2 More\n\nSee §1.2 and §3.\n")
	write("pkg/a.go", "// See docs/guide.md §1.2, §1.3 and `docs/guide.md` §1; FORMATS §5;\n"+
		"// RFC 5424 §6 and a bare (§9) are not ours; docs/gone.md §1; docs/guide.md §1/§2.\n")
	bad, err := danglingRefs(root)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{
		"docs/guide.md: §3: docs/guide.md has no section 3",
		"pkg/a.go: §1.3: docs/guide.md has no section 1.3",
		"pkg/a.go: FORMATS §5: no document FORMATS.md in the repository",
		"pkg/a.go: docs/gone.md §1: no document docs/gone.md in the repository",
		"pkg/a.go: §2: docs/guide.md has no section 2",
	}, bad)
}
