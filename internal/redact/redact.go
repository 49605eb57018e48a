// Package redact keeps credentials that users put in URLs
// (scheme://user:password@host) out of logs and printed errors.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Mask replaces the user information of a URL.
const Mask = "REDACTED"

// userinfo matches the user information of a URL anywhere in a text: a
// scheme, "://", then everything up to the last "@" before the host that
// has no "/", space or quote in it (a password may contain ":" and "@").
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s"'@]*(?:@[^/\s"'@]*)*@`)

// URLs returns s with the user information of every URL in it replaced by
// REDACTED: "http://u:p@es:9200" becomes "http://REDACTED@es:9200". The
// user name goes too, since some services take a token there.
func URLs(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	return userinfo.ReplaceAllString(s, "${1}"+Mask+"@")
}

// Handler wraps h so that every message and attribute value of a record
// passes through URLs first: a URL with credentials logged anywhere (an
// address list, a client's error) reaches the log without them.
func Handler(h slog.Handler) slog.Handler { return handler{next: h} }

type handler struct{ next slog.Handler }

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, URLs(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = attr(a)
	}
	return handler{next: h.next.WithAttrs(clean)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{next: h.next.WithGroup(name)} }

// attr redacts one attribute. Values that print as text (strings, errors,
// string slices, Stringers) are redacted as their text; LogValuers are
// resolved first, so a Secret stays "REDACTED" by its own rule.
func attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, URLs(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case []string:
			clean := make([]string, len(x))
			for i, s := range x {
				clean[i] = URLs(s)
			}
			return slog.Any(a.Key, clean)
		case error, fmt.Stringer:
			if s := fmt.Sprint(x); URLs(s) != s {
				return slog.String(a.Key, URLs(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
