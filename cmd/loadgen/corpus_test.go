package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeCorpus writes labelled jsonl lines to a file and returns its path.
func writeCorpus(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "corpus.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return path
}

const (
	bareSecurity = `{"id": "a", "log": "connect.security", "raw": "[16/Jun/2004 18:37:17] Found virus in mail from <a@b.example> to <c@d.example>: EICAR"}`
	bareFilter   = `{"id": "b", "log": "control.filter", "raw": "[19/Mar/2025 09:52:00] PERMIT 'Web' packet from LAN"}`
	bareForeign  = `{"id": "c", "log": "unknown", "raw": "something else"}`
	wrapped      = `{"id": "d", "format": "rfc3164", "log": "connect.audit", "raw": "<22>Mar 14 09:15:02 mx audit: IMAP: User a@b.example authenticated"}`
)

// corpusHeaderRE captures the APP-NAME, the sequence number and the
// message of a bare corpus line in its generated header.
func corpusHeaderRE(format string) *regexp.Regexp {
	if format == formatRFC5424 {
		return regexp.MustCompile(`^<22>1 2026-03-14T09:\d\d:\d\d\.\d{3}Z mail01\.contoso\.example (\S+) - seq(\d+) - (.*)$`)
	}
	return regexp.MustCompile(`^<22>Mar 14 09:\d\d:\d\d mail01\.contoso\.example (\S+)\[(\d+)\]: (.*)$`)
}

func TestCorpusMessagesCycleAndFrame(t *testing.T) {
	lines, err := readCorpus([]string{writeCorpus(t, bareSecurity, bareFilter, wrapped, bareForeign)}, "")
	require.NoError(t, err)
	require.Len(t, lines, 4)
	apps := []string{"security", "filter", "", "unknown"} // the log's name as Kerio's APP-NAME

	for _, format := range []string{formatRFC5424, formatRFC3164} {
		t.Run(format, func(t *testing.T) {
			msgs, err := corpusMessages(testConfig(format), lines, 10)
			require.NoError(t, err)
			require.Equal(t, 10, msgs.Len())
			re := corpusHeaderRE(format)
			for i := range 10 {
				m, l := string(msgs.At(i)), lines[i%len(lines)]
				if l.Format != "" {
					require.Equal(t, l.Raw, m, "a wrapped line goes out as it is")
					continue
				}
				h := re.FindStringSubmatch(m)
				require.NotNil(t, h, "message %d: %q", i, m)
				require.Equal(t, apps[i%len(apps)], h[1])
				require.Equal(t, strconv.Itoa(i), h[2])
				require.Equal(t, l.Raw, h[3])
			}
		})
	}
}

func TestCorpusAppOverridesEveryBareLine(t *testing.T) {
	lines, err := readCorpus([]string{writeCorpus(t, bareSecurity, bareFilter)}, "")
	require.NoError(t, err)
	cfg := testConfig(formatRFC5424)
	cfg.App = "kerio"
	msgs, err := corpusMessages(cfg, lines, 2)
	require.NoError(t, err)
	for i := range 2 {
		require.Equal(t, "kerio", corpusHeaderRE(cfg.Format).FindStringSubmatch(string(msgs.At(i)))[1])
	}
}

func TestReadCorpusSelectsOneLogAcrossFiles(t *testing.T) {
	a, b := writeCorpus(t, bareSecurity, bareFilter), writeCorpus(t, wrapped, bareSecurity, bareForeign)
	lines, err := readCorpus([]string{a, b}, "connect.security")
	require.NoError(t, err)
	require.Len(t, lines, 2)
	for _, l := range lines {
		require.Equal(t, "connect.security", l.Log)
	}

	_, err = readCorpus([]string{a}, "control.http")
	require.ErrorContains(t, err, "no corpus lines")
	_, err = readCorpus([]string{writeCorpus(t, bareSecurity, `{"log": `)}, "")
	require.ErrorContains(t, err, ":2:")
	_, err = readCorpus([]string{writeCorpus(t, `{"log": "connect.mail", "raw": "a\nb"}`)}, "")
	require.ErrorContains(t, err, "newline")
	_, err = readCorpus([]string{filepath.Join(t.TempDir(), "missing.jsonl")}, "")
	require.Error(t, err)
}

// The real corpora load, and selecting the Security log keeps only its lines.
func TestRunPrintsTheRepositoryCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "kerio")
	files := filepath.Join(dir, "dev.jsonl") + "," + filepath.Join(dir, "syslog_wrapped.jsonl")
	var out, errOut strings.Builder
	require.NoError(t, run(t.Context(), []string{"-print", "-n", "500", "-corpus", files, "-corpus-log", "connect.security"}, &out, &errOut))
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, got, 500)
	for _, m := range got {
		require.Regexp(t, ` security[[ :]`, m, "every line names the Security log")
	}

	require.Error(t, run(t.Context(), []string{"-print", "-corpus-log", "connect.security"}, &out, &errOut), "-corpus-log needs -corpus")
}
