package file

import (
	"path/filepath"
	"strings"
)

// logFromPath derives the Kerio log name from a file name, so that one
// source with a glob over a log directory tags each file's events with its
// own log (security.log → "security" → dataset kerio_connect.security).
//
// The name is the part of the base name before its first dot, less any
// trailing date or counter joined by "-" or "_":
//
//	security.log               → security
//	security.log.1             → security
//	security.log.2.gz          → security
//	security-2026-03-14.log    → security
//	security_20260314.log      → security
//	mail.2026-03-14.log        → mail
//
// A name that is not one of Kerio's logs is still returned: the parser then
// ignores the hint and recognises the log from the text.
func logFromPath(path string) string {
	base := filepath.Base(path)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	for {
		i := strings.LastIndexAny(base, "-_")
		if i <= 0 || !allDigits(base[i+1:]) {
			return base
		}
		base = base[:i]
	}
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
