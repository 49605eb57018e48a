package kerio

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
)

// corpusLine is one line of testdata/kerio/*.jsonl (docs/kerio.md §6.6).
type corpusLine struct {
	ID       string         `json:"id"`
	Log      string         `json:"log"`
	Raw      string         `json:"raw"`
	Format   string         `json:"format"` // rfc5424 | rfc3164 for syslog_wrapped; "" for file lines
	Expected map[string]any `json:"expected"`
}

func loadCorpus(tb testing.TB, name string) []corpusLine {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "kerio", name))
	require.NoError(tb, err)
	defer f.Close()
	var out []corpusLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l corpusLine
		require.NoError(tb, json.Unmarshal(sc.Bytes(), &l), "%s: %s", name, sc.Text())
		out = append(out, l)
	}
	require.NoError(tb, sc.Err())
	require.NotEmpty(tb, out)
	return out
}

// hintOf derives the hint from a corpus line's "log" field ("connect.security",
// "control", "unknown", …).
func hintOf(log string) Hint {
	prod, name, _ := strings.Cut(log, ".")
	var h Hint
	switch prod {
	case "connect":
		h.Product = "kerio_connect"
	case "control":
		h.Product = "kerio_control"
	default:
		return Hint{}
	}
	h.Log = name
	return h
}

// splitSyslog strips an RFC 5424 or RFC 3164 header, only as far as this
// package's tests need it: MSG and APP-NAME. The real header parser lives
// in another package.
func splitSyslog(tb testing.TB, format, raw string) (app, msg string) {
	tb.Helper()
	i := strings.IndexByte(raw, '>')
	require.Positive(tb, i, raw)
	rest := raw[i+1:]
	switch format {
	case "rfc5424":
		parts := strings.SplitN(rest, " ", 7) // VERSION TS HOST APP PROCID MSGID SD+MSG
		require.Len(tb, parts, 7, raw)
		app = parts[3]
		sdmsg := parts[6]
		if strings.HasPrefix(sdmsg, "-") {
			msg = strings.TrimPrefix(sdmsg[1:], " ")
		} else {
			j, inQuote := 0, false
			for j < len(sdmsg) {
				ch := sdmsg[j]
				switch {
				case ch == '\\':
					j++
				case ch == '"':
					inQuote = !inQuote
				case ch == ']' && !inQuote && (j+1 == len(sdmsg) || sdmsg[j+1] != '['):
					msg = strings.TrimPrefix(sdmsg[j+1:], " ")
					j = len(sdmsg)
				}
				j++
			}
		}
	case "rfc3164":
		require.Greater(tb, len(rest), 16, raw)
		rest = rest[16:] // "Mmm dd hh:mm:ss "
		_, rest, _ = strings.Cut(rest, " ")
		tag, m, ok := strings.Cut(rest, ": ")
		require.True(tb, ok, raw)
		if k := strings.IndexByte(tag, '['); k >= 0 {
			tag = tag[:k]
		}
		app, msg = tag, m
	default:
		tb.Fatalf("unknown format %q", format)
	}
	return app, strings.TrimPrefix(msg, "\uFEFF")
}

// parseLine runs the parser on a corpus line the way the worker would.
func parseLine(tb testing.TB, p *Parser, doc *ecs.Document, l corpusLine) Result {
	tb.Helper()
	doc.Reset()
	if l.Format == "" {
		h := hintOf(l.Log)
		h.FileLine = true
		return p.Parse(doc, l.Raw, h, time.UTC)
	}
	app, msg := splitSyslog(tb, l.Format, l.Raw)
	h := hintOf(l.Log)
	h.Log = "" // over syslog the log is known from APP-NAME only
	h.AppName = app
	return p.Parse(doc, msg, h, time.UTC)
}

func TestCorpus(t *testing.T) {
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl"} {
		t.Run(file, func(t *testing.T) {
			p := NewParser()
			var doc ecs.Document
			for _, l := range loadCorpus(t, file) {
				t.Run(l.ID, func(t *testing.T) {
					res := parseLine(t, p, &doc, l)
					checkExpected(t, &doc, res, l)
				})
			}
		})
	}
}

// checkExpected compares the document with a line's expected fields.
func checkExpected(t *testing.T, doc *ecs.Document, res Result, l corpusLine) {
	t.Helper()
	for key, want := range l.Expected {
		switch {
		case strings.HasPrefix(key, "log.syslog."):
			continue // the syslog header package sets these
		case key == "event.original":
			if l.Format == "" {
				require.Equal(t, l.Raw, want, "event.original is the raw line")
			}
			continue
		case key == "@timestamp":
			if l.Format != "" {
				continue // the header time wins there; the worker applies it
			}
			ts := res.Zoned
			if ts.IsZero() {
				ts = res.Bracket
			}
			if want == nil {
				require.True(t, ts.IsZero(), "@timestamp: want no time, got %v", ts)
				continue
			}
			require.False(t, ts.IsZero(), "@timestamp: no time found")
			require.Equal(t, want, ts.UTC().Format(time.RFC3339Nano), "@timestamp")
			continue
		}
		f, ok := doc.Get(ecs.NewKey(key))
		if want == nil {
			require.False(t, ok, "%s must be absent, got %s\n%s", key, fieldString(f), dump(doc))
			continue
		}
		require.True(t, ok, "%s missing (want %v)\n%s", key, want, dump(doc))
		require.True(t, valueEqual(f, want), "%s: got %s, want %#v\n%s", key, fieldString(f), want, dump(doc))
	}
	if l.Format == "" && l.Expected["event.original"] == nil {
		// Every matched line has a message; unmatched ones keep the whole line.
		require.True(t, doc.Has(ecs.NewKey("message")), "message missing")
	}
}

func valueEqual(f *ecs.Field, want any) bool {
	switch w := want.(type) {
	case string:
		switch f.Kind {
		case ecs.KindString:
			return f.Str == w
		case ecs.KindTime:
			return f.Time.UTC().Format(time.RFC3339Nano) == w
		}
	case float64:
		switch f.Kind {
		case ecs.KindInt:
			return float64(f.Int) == w
		case ecs.KindFloat:
			return math.Abs(f.Float()-w) < 1e-9
		}
	case bool:
		return f.Kind == ecs.KindBool && f.Bool == w
	case []any:
		if f.Kind != ecs.KindStrings || len(f.Strs) != len(w) {
			return false
		}
		for i, v := range w {
			if s, ok := v.(string); !ok || s != f.Strs[i] {
				return false
			}
		}
		return true
	}
	return false
}

func fieldString(f *ecs.Field) string {
	if f == nil {
		return "<absent>"
	}
	switch f.Kind {
	case ecs.KindString:
		return fmt.Sprintf("%q", f.Str)
	case ecs.KindInt:
		return fmt.Sprint(f.Int)
	case ecs.KindFloat:
		return fmt.Sprint(f.Float())
	case ecs.KindBool:
		return fmt.Sprint(f.Bool)
	case ecs.KindStrings:
		return fmt.Sprintf("%q", f.Strs)
	case ecs.KindTime:
		return f.Time.Format(time.RFC3339Nano)
	case ecs.KindRaw:
		return f.Str
	}
	return "?"
}

func dump(doc *ecs.Document) string {
	var b strings.Builder
	for _, f := range doc.Fields() {
		fmt.Fprintf(&b, "  %s = %s\n", f.Key.Name(), fieldString(&f))
	}
	return b.String()
}

// ecsSchema is what the schema tests need of testdata/ecs.
type ecsSchema struct {
	fields map[string]struct {
		Type      string   `json:"type"`
		Normalize []string `json:"normalize"`
	}
	allowed      map[string][]string // event.kind/category/type/outcome → allowed names
	typesByCat   map[string][]string
	catsByType   map[string][]string
	loadedFields int
}

func loadSchema(tb testing.TB) *ecsSchema {
	tb.Helper()
	s := &ecsSchema{allowed: map[string][]string{}}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ecs", "ecs_flat.json"))
	require.NoError(tb, err)
	require.NoError(tb, json.Unmarshal(b, &s.fields))
	s.loadedFields = len(s.fields)
	b, err = os.ReadFile(filepath.Join("..", "..", "testdata", "ecs", "categorization.json"))
	require.NoError(tb, err)
	var cat struct {
		Fields map[string]struct {
			Allowed []struct {
				Name string `json:"name"`
			} `json:"allowed_values"`
		} `json:"fields"`
		TypesByCat map[string][]string `json:"expected_event_types_by_category"`
		CatsByType map[string][]string `json:"categories_by_event_type"`
	}
	require.NoError(tb, json.Unmarshal(b, &cat))
	for k, v := range cat.Fields {
		for _, a := range v.Allowed {
			s.allowed[k] = append(s.allowed[k], a.Name)
		}
	}
	s.typesByCat, s.catsByType = cat.TypesByCat, cat.CatsByType
	require.NotEmpty(tb, s.allowed["event.category"])
	return s
}

// check returns a description of every schema violation in doc.
func (s *ecsSchema) check(doc *ecs.Document) []string {
	var bad []string
	for _, f := range doc.Fields() {
		if strings.HasPrefix(f.Key.Name(), "kerio.") || strings.HasPrefix(f.Key.Name(), "labels.") {
			continue
		}
		def, ok := s.fields[f.Key.Name()]
		if !ok {
			bad = append(bad, f.Key.Name()+": not an ECS field")
			continue
		}
		isArray := slices.Contains(def.Normalize, "array")
		if f.Kind == ecs.KindStrings && !isArray {
			bad = append(bad, f.Key.Name()+": array for a non-array field")
		}
		var vals []string
		switch f.Kind {
		case ecs.KindString:
			vals = []string{f.Str}
		case ecs.KindStrings:
			vals = f.Strs
		}
		switch def.Type {
		case "keyword", "text", "wildcard", "match_only_text", "constant_keyword":
			if f.Kind != ecs.KindString && f.Kind != ecs.KindStrings {
				bad = append(bad, f.Key.Name()+": want a string")
			}
		case "ip":
			if f.Kind != ecs.KindString && f.Kind != ecs.KindStrings {
				bad = append(bad, f.Key.Name()+": want an IP string")
			}
			for _, v := range vals {
				if _, err := netip.ParseAddr(v); err != nil {
					bad = append(bad, fmt.Sprintf("%s: %q is not an IP", f.Key.Name(), v))
				}
			}
		case "long", "integer", "short", "byte", "unsigned_long":
			if f.Kind != ecs.KindInt {
				bad = append(bad, f.Key.Name()+": want an integer")
			}
		case "float", "double", "scaled_float", "half_float":
			if f.Kind != ecs.KindFloat && f.Kind != ecs.KindInt {
				bad = append(bad, f.Key.Name()+": want a number")
			}
		case "boolean":
			if f.Kind != ecs.KindBool {
				bad = append(bad, f.Key.Name()+": want a boolean")
			}
		case "date":
			if f.Kind != ecs.KindTime {
				bad = append(bad, f.Key.Name()+": want a time")
			}
		case "flattened", "object":
			if f.Kind != ecs.KindRaw {
				bad = append(bad, f.Key.Name()+": want raw JSON")
			}
		default:
			bad = append(bad, f.Key.Name()+": unhandled ECS type "+def.Type)
		}
		if allowed, ok := s.allowed[f.Key.Name()]; ok {
			for _, v := range vals {
				if !slices.Contains(allowed, v) {
					bad = append(bad, fmt.Sprintf("%s: %q not allowed", f.Key.Name(), v))
				}
			}
		}
	}
	// Category/type pairs: every type fits one of the categories, and every
	// category has one of its expected types.
	cats, types := stringsOf(doc, "event.category"), stringsOf(doc, "event.type")
	if len(cats) > 0 || len(types) > 0 {
		if len(cats) == 0 || len(types) == 0 {
			bad = append(bad, "event.category and event.type must come together")
		}
		for _, ty := range types {
			if !slices.ContainsFunc(cats, func(c string) bool { return slices.Contains(s.typesByCat[c], ty) }) {
				bad = append(bad, fmt.Sprintf("event.type %q fits none of %q", ty, cats))
			}
		}
		for _, c := range cats {
			if !slices.ContainsFunc(types, func(ty string) bool { return slices.Contains(s.typesByCat[c], ty) }) {
				bad = append(bad, fmt.Sprintf("event.category %q has none of its types in %q", c, types))
			}
		}
	}
	if !doc.Has(ecs.NewKey("event.kind")) {
		bad = append(bad, "event.kind missing")
	}
	return bad
}

func stringsOf(doc *ecs.Document, key string) []string {
	f, ok := doc.Get(ecs.NewKey(key))
	if !ok {
		return nil
	}
	if f.Kind == ecs.KindString {
		return []string{f.Str}
	}
	return f.Strs
}

func TestSchema(t *testing.T) {
	s := loadSchema(t)
	p := NewParser()
	var doc ecs.Document
	seen := map[string]bool{}
	for _, file := range []string{"dev.jsonl", "syslog_wrapped.jsonl", "variants.jsonl"} {
		for _, l := range loadCorpus(t, file) {
			parseLine(t, p, &doc, l)
			for _, f := range doc.Fields() {
				seen[f.Key.Name()] = true
			}
			require.Empty(t, s.check(&doc), "%s %s\n%s", file, l.ID, dump(&doc))
		}
	}
	require.Greater(t, len(seen), 90, "the corpus should exercise most fields")
}
