package kafka

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
)

func TestRoutesFromECSMatchTheWorkersRoutes(t *testing.T) {
	p := newProcessor()
	for _, l := range readCorpus(t) {
		ev := edgeEvent(l, nil)
		ev.Origin.Location = mustZone(t, "UTC")
		p.Process(ev)
		got, err := RoutesFromECS(ev.JSON)
		require.NoError(t, err, "%s: %s", l.ID, ev.JSON)
		want := ev.Routes
		if len(want.Categories) == 0 {
			want.Categories = nil
		}
		require.Equal(t, want, got, "%s: %s", l.ID, ev.JSON)
	}
}

func TestRoutesFromECSCases(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want pipeline.Routes
		err  string
	}{
		{"nested", `{"event":{"dataset":"kerio_connect.mail","kind":"event","category":["email","network"],"module":"kerio"},
			"log":{"syslog":{"hostname":"mx01"}},"source":{"ip":"192.0.2.1"},"data_stream":{"namespace":"prod"}}`,
			pipeline.Routes{Dataset: "kerio_connect.mail", Kind: "event", Categories: []string{"email", "network"}, Module: "kerio",
				Hostname: "mx01", SourceIP: "192.0.2.1", Namespace: "prod"}, ""},
		{"dotted at the top", `{"event.dataset":"a.b","log.syslog.hostname":"h","source.ip":"::1"}`,
			pipeline.Routes{Dataset: "a.b", Hostname: "h", SourceIP: "::1"}, ""},
		{"dotted inside", `{"log":{"syslog.hostname":"h"},"log.syslog":{"appname":"x"}}`, pipeline.Routes{Hostname: "h"}, ""},
		{"data stream dataset as fallback", `{"data_stream":{"dataset":"generic"}}`, pipeline.Routes{Dataset: "generic"}, ""},
		{"event dataset wins", `{"data_stream":{"dataset":"generic"},"event":{"dataset":"x"}}`, pipeline.Routes{Dataset: "x"}, ""},
		{"category as a string", `{"event":{"category":"web"}}`, pipeline.Routes{Categories: []string{"web"}}, ""},
		{"empty category", `{"event":{"category":[]}}`, pipeline.Routes{}, ""},
		{"escapes", `{"event":{"dataset":"a\"b\\c\u00e9"},"x":"\"}{"}`, pipeline.Routes{Dataset: "a\"b\\cé"}, ""},
		{"escaped key", `{"ev\u0065nt":{"kind":"alert"}}`, pipeline.Routes{Kind: "alert"}, ""},
		{"other types skipped", `{"event":{"kind":1,"dataset":{"x":[1,{"y":"}"}]},"category":[1,"a",null]},"source":null}`,
			pipeline.Routes{Categories: []string{"a"}}, ""},
		{"whitespace", " {\n\t\"event\" : { \"kind\" : \"event\" } }\n", pipeline.Routes{Kind: "event"}, ""},
		{"not an object", `["event"]`, pipeline.Routes{}, "not a JSON object"},
		{"empty", ``, pipeline.Routes{}, "not a JSON object"},
		{"syslog text", `<134>1 2026-11-29T09:00:00Z host app - - - {"a":1}`, pipeline.Routes{}, "not a JSON object"},
		{"truncated", `{"event":{"kind":"ev`, pipeline.Routes{}, "end of a string"},
		{"unbalanced", `{"x":[1,2}`, pipeline.Routes{}, "matching bracket"},
		{"missing colon", `{"event" {"kind":"x"}}`, pipeline.Routes{}, "':'"},
		{"trailing data", `{"a":1} {"b":2}`, pipeline.Routes{}, "data after the document"},
		{"bare word", `{"a":tru e}`, pipeline.Routes{}, "expecting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RoutesFromECS([]byte(tt.doc))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// referenceRoutes is RoutesFromECS written with encoding/json's tokenizer:
// slow, but obviously right about JSON. Last value wins, as in the scanner.
func referenceRoutes(doc []byte) (pipeline.Routes, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var r pipeline.Routes
	var streamDataset string
	var value func(path string) error
	value = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		f := lookup([]byte(path))
		if len(path) > maxPath {
			f = fieldNone
		}
		switch v := tok.(type) {
		case json.Delim:
			switch {
			case v == '{':
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					child := k.(string)
					if path != "" {
						child = path + "." + child
					}
					if f != fieldParent && path != "" {
						child = "\x00" // inside a skipped object nothing is a routing field
					}
					if err := value(child); err != nil {
						return err
					}
				}
				_, err = dec.Token()
				return err
			case v == '[':
				var cats []string
				for dec.More() {
					if f == fieldCategory {
						t, err := dec.Token()
						if err != nil {
							return err
						}
						if s, ok := t.(string); ok {
							cats = append(cats, s)
							continue
						}
						if d, ok := t.(json.Delim); ok {
							if err := skipRest(dec, d); err != nil {
								return err
							}
						}
						continue
					}
					if err := value("\x00"); err != nil {
						return err
					}
				}
				if f == fieldCategory {
					r.Categories = cats
				}
				_, err = dec.Token()
				return err
			}
		case string:
			switch f {
			case fieldDataset:
				r.Dataset = v
			case fieldStreamDataset:
				streamDataset = v
			case fieldKind:
				r.Kind = v
			case fieldCategory:
				r.Categories = []string{v}
			case fieldModule:
				r.Module = v
			case fieldHostname:
				r.Hostname = v
			case fieldSourceIP:
				r.SourceIP = v
			case fieldNamespace:
				r.Namespace = v
			}
		}
		return nil
	}
	if err := value(""); err != nil {
		return r, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, false
	}
	if r.Dataset == "" {
		r.Dataset = streamDataset
	}
	return r, true
}

// skipRest consumes the rest of the object or array opened by d.
func skipRest(dec *json.Decoder, d json.Delim) error {
	depth := 1
	for depth > 0 {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func FuzzRoutesFromECS(f *testing.F) {
	p := newProcessor()
	for i, l := range readCorpus(f) {
		if i%10 != 0 {
			continue
		}
		ev := edgeEvent(l, mustZone(f, "UTC"))
		p.Process(ev)
		f.Add(ev.JSON)
	}
	f.Add([]byte(`{"event.dataset":"a","event":{"dataset":"b"},"event":{"category":["x",{"y":[]}]}}`))
	f.Add([]byte(`{"a":"\\\"","log":{"syslog":{"hostname":"h\u0041"}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := RoutesFromECS(doc)
		trimmed := bytes.TrimSpace(doc)
		if !json.Valid(doc) || len(trimmed) == 0 || trimmed[0] != '{' || deeperThan(doc, 30) {
			return // no panic is all that is asked of invalid input
		}
		require.NoError(t, err, "valid JSON object refused: %q", doc)
		want, ok := referenceRoutes(doc)
		require.True(t, ok)
		if len(want.Categories) == 0 {
			want.Categories = nil
		}
		if len(got.Categories) == 0 {
			got.Categories = nil
		}
		require.Equal(t, want, got, "doc %q", doc)
	})
}

// deeperThan reports whether doc nests brackets deeper than n (the scanner
// refuses very deep values it skips; valid JSON, but no ECS document).
func deeperThan(doc []byte, n int) bool {
	depth, inStr, esc := 0, false, false
	for _, c := range doc {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
			if depth > n {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

// ecsRoutesStruct is the encoding/json alternative BenchmarkRoutesFromECS
// compares the scanner with.
type ecsRoutesStruct struct {
	Event struct {
		Dataset  string   `json:"dataset"`
		Kind     string   `json:"kind"`
		Category []string `json:"category"`
		Module   string   `json:"module"`
	} `json:"event"`
	Log struct {
		Syslog struct {
			Hostname string `json:"hostname"`
		} `json:"syslog"`
	} `json:"log"`
	Source struct {
		IP string `json:"ip"`
	} `json:"source"`
	DataStream struct {
		Dataset   string `json:"dataset"`
		Namespace string `json:"namespace"`
	} `json:"data_stream"`
}

func BenchmarkRoutesFromECS(b *testing.B) {
	var doc []byte
	p := newProcessor()
	for _, l := range readCorpus(b) {
		if strings.HasPrefix(l.ID, "sys-") {
			ev := edgeEvent(l, mustZone(b, "UTC"))
			p.Process(ev)
			doc = ev.JSON
			break
		}
	}
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		cpu := processCPU()
		for b.Loop() {
			if _, err := RoutesFromECS(doc); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("encoding_json_struct", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		cpu := processCPU()
		for b.Loop() {
			var s ecsRoutesStruct
			if err := json.Unmarshal(doc, &s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	})
}
