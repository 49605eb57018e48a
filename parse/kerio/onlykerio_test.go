package kerio

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
)

// With OnlyKerio, a line whose wording no Kerio layout has leaves the
// document untouched (the caller maps it as generic syslog), whatever
// Kerio-like APP-NAME it came with. Access-log lines are left out: Kerio
// Control's Http log writes that very layout, so an APP-NAME such as
// "kerio" with one is Kerio's.
func TestOnlyKerioLeavesForeignLinesAlone(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "nonkerio", "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	p := NewParser()
	var doc ecs.Document
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			doc.Reset()
			if p.Parse(&doc, sc.Text(), Hint{Product: "kerio_control", Log: "http"}, time.UTC).Matched {
				continue // an access-log line has the Control Http log's layout (docs/kerio.md §6.5.2)
			}
			for _, app := range []string{"kerio", "mail", "security", "error", "warn", "config", "debug"} {
				for _, fileLine := range []bool{false, true} {
					doc.Reset()
					res := p.Parse(&doc, sc.Text(), Hint{AppName: app, FileLine: fileLine, OnlyKerio: true}, time.UTC)
					require.False(t, res.Matched, "%s as %s: %s", filepath.Base(name), app, sc.Text())
					require.Empty(t, doc.Fields(), "%s as %s: %s", filepath.Base(name), app, sc.Text())
				}
			}
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
}

// With OnlyKerio, Kerio's wording and Kerio's bracketed time still make a
// line Kerio's.
func TestOnlyKerioKeepsKerioLines(t *testing.T) {
	p := NewParser()
	var doc ecs.Document
	for _, tt := range []struct {
		msg, app, dataset string
		tags              []string
	}{
		{"IMAP: User john.doe@example.local authenticated from IP address 10.150.90.11", "audit", "kerio_connect.audit", nil},
		{"Failed IMAP login from 10.0.0.1, missing Kerio account mallory@example.com", "kerio", "kerio_connect.security", nil},
		{"[07/Dec/2026 10:00:00] wording no layout knows", "warn", "kerio.warning", []string{"kerio_generic"}},
	} {
		doc.Reset()
		res := p.Parse(&doc, tt.msg, Hint{AppName: tt.app, OnlyKerio: true}, time.UTC)
		require.True(t, res.Matched, tt.msg)
		require.Equal(t, tt.dataset, doc.GetString(ecs.NewKey("event.dataset")), tt.msg)
		require.Equal(t, tt.tags, stringsOf(&doc, "tags"), tt.msg)
	}
}
