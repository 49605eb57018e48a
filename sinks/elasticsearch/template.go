package elasticsearch

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

//go:generate go run ./internal/gen -ecs ../../testdata/ecs/ecs_flat.json -fields emitted_fields.txt -out ecs_mappings.json

// ecsMappings is the "mappings" object of the component template: the ECS
// fields siemfwd emits (emitted_fields.txt) with their ECS types and
// multi-fields, and dynamic templates for every other ECS field, kerio.*
// and labels.*. It stays within Elasticsearch's default limit of 1000
// mapped fields, so the template sets no index.mapping.total_fields.limit.
//
//go:embed ecs_mappings.json
var ecsMappings []byte

// ComponentTemplateName is the name of the component template that holds the ECS mappings.
func (c Config) ComponentTemplateName() string { return c.TemplateName + "-ecs-mappings" }

// deadLetterPattern is the dead-letter template's pattern: in data stream
// mode every namespace of the dead-letter dataset (logs-siemfwd.deadletter-*),
// so that changing the namespace later needs no new template; in index mode
// the index itself.
func (c Config) deadLetterPattern() string {
	if c.Mode == ModeDataStream {
		if i := strings.LastIndexByte(c.DeadLetterIndex, '-'); i > len("logs") {
			return c.DeadLetterIndex[:i+1] + "*"
		}
	}
	return c.DeadLetterIndex
}

// DeadLetterTemplateName is the name of the index template of the dead-letter index.
func (c Config) DeadLetterTemplateName() string { return c.TemplateName + "-deadletter" }

// probe asks the cluster for its version; it fails when no node answers as
// Elasticsearch or the credentials are refused. Builds without the root
// endpoint (the minimal integ-test distribution) answer 405 to GET /; then
// _cluster/health proves the node is there, and the version is "unknown".
func (s *Sink) probe(ctx context.Context) (string, error) {
	res, err := esapi.InfoRequest{}.Do(ctx, s.client)
	if err != nil {
		return "", fmt.Errorf("probe %v: %w", s.cfg.Addresses, err)
	}
	body, err := readBody(res.Body)
	if err != nil {
		return "", fmt.Errorf("probe: %w", err)
	}
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusMethodNotAllowed, http.StatusNotFound, http.StatusBadRequest:
		res, err := esapi.ClusterHealthRequest{}.Do(ctx, s.client)
		if err != nil {
			return "", fmt.Errorf("probe %v: %w", s.cfg.Addresses, err)
		}
		body, err := readBody(res.Body)
		if err != nil {
			return "", fmt.Errorf("probe: %w", err)
		}
		if res.StatusCode != http.StatusOK {
			return "", fmt.Errorf("probe: %w", statusError(res.StatusCode, body))
		}
		return "unknown", nil
	default:
		return "", fmt.Errorf("probe: %w", statusError(res.StatusCode, body))
	}
	var info struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return "", fmt.Errorf("probe: unparseable answer: %w", err)
	}
	return info.Version.Number, nil
}

// installTemplates puts the component template with the ECS mappings, the
// index template for the sink's names and, when the dead-letter index is
// set, its template. A template that exists is left alone unless
// overwrite_template is set.
func (s *Sink) installTemplates(ctx context.Context) error {
	c := s.cfg
	mappings, err := s.mappings()
	if err != nil {
		return err
	}
	component := func(m []byte) any {
		return map[string]any{
			"template": map[string]any{
				"mappings": json.RawMessage(m),
			},
			"_meta": map[string]any{"managed_by": "siemfwd", "description": "ECS field types for siemfwd events"},
		}
	}
	err = s.putTemplate(ctx, "_component_template", c.ComponentTemplateName(), component(mappings))
	if isMappingRefused(err) {
		// A node without the mapper-extras or x-pack mapper modules (an OSS
		// or test build) refuses match_only_text, wildcard, ...: try the
		// nearest core types. If the node refuses those too, its first
		// answer is the one to report.
		portable, perr := portableMappings(mappings)
		if perr != nil {
			return perr
		}
		if s.putTemplate(ctx, "_component_template", c.ComponentTemplateName(), component(portable)) != nil {
			return err
		}
		s.log.Warn("cluster refused some ECS field types; using text/keyword/float instead", "err", err)
		err = nil
	}
	if err != nil {
		return err
	}
	// As Elastic's integrations do: the operator's own <name>@custom
	// component comes last (it wins) and siemfwd never writes it.
	custom := c.TemplateName + "@custom"
	index := map[string]any{
		"index_patterns":                     c.TemplatePatterns,
		"priority":                           c.TemplatePriority,
		"composed_of":                        []string{c.ComponentTemplateName(), custom},
		"ignore_missing_component_templates": []string{custom},
		"_meta":                              map[string]any{"managed_by": "siemfwd"},
	}
	if c.Mode == ModeDataStream {
		index["data_stream"] = map[string]any{}
		if c.DataRetention != "" {
			index["template"] = map[string]any{"lifecycle": map[string]any{"data_retention": c.DataRetention}}
		}
	}
	if err := s.putTemplate(ctx, "_index_template", c.TemplateName, index); err != nil {
		return err
	}
	if c.DeadLetterIndex == "" {
		return nil
	}
	dlq := map[string]any{
		"index_patterns": []string{c.deadLetterPattern()},
		"priority":       c.TemplatePriority,
		"template":       map[string]any{"mappings": json.RawMessage(deadLetterMappings)},
		"_meta":          map[string]any{"managed_by": "siemfwd", "description": "events Elasticsearch refused"},
	}
	if c.Mode == ModeDataStream {
		dlq["data_stream"] = map[string]any{}
		if c.DataRetention != "" {
			dlq["template"].(map[string]any)["lifecycle"] = map[string]any{"data_retention": c.DataRetention}
		}
	}
	return s.putTemplate(ctx, "_index_template", c.DeadLetterTemplateName(), dlq)
}

// mappings returns the compact ECS mappings for this mode: in index mode one
// index may hold several datasets, so constant_keyword becomes keyword.
func (s *Sink) mappings() ([]byte, error) {
	if s.cfg.Mode == ModeIndex {
		return retype(ecsMappings, map[string]string{"constant_keyword": "keyword"})
	}
	return retype(ecsMappings, nil)
}

// portableMappings replaces the types that need ES modules beyond the core
// (match_only_text, wildcard, constant_keyword, scaled_float) with core ones.
func portableMappings(b []byte) ([]byte, error) {
	return retype(b, map[string]string{
		"match_only_text":  "text",
		"wildcard":         "keyword",
		"constant_keyword": "keyword",
		"scaled_float":     "float",
	})
}

// retype returns the mappings b, compacted, with every field of a type in
// to (properties, multi-fields and dynamic templates alike) given the new
// type. A keyword made from another type gets ECS's ignore_above; a float
// loses the scaling factor.
func retype(b []byte, to map[string]string) ([]byte, error) {
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if typ, ok := x["type"].(string); ok {
				if nt, ok := to[typ]; ok {
					x["type"] = nt
					delete(x, "scaling_factor")
					if nt == "keyword" {
						x["ignore_above"] = 1024
					}
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(tree)
	return json.Marshal(tree)
}

// isMappingRefused reports a 400 answer to a template: the node could not
// parse the mappings. A node that lacks a field type says "The mapper type
// [wildcard] ... does not exist" for a property, but "dynamic template [x]
// has invalid content" for a dynamic template, so the answer is not parsed further.
func isMappingRefused(err error) bool {
	var re *RequestError
	return errors.As(err, &re) && re.Status == http.StatusBadRequest
}

// putTemplate PUTs kind/name (kind is _index_template or _component_template)
// unless it exists and overwriting is off.
func (s *Sink) putTemplate(ctx context.Context, kind, name string, tmpl any) error {
	body, err := json.Marshal(tmpl)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", kind, name, err)
	}
	if !s.cfg.OverwriteTemplate {
		exists, err := s.exists(ctx, kind, name)
		if err != nil {
			return err
		}
		if exists {
			s.log.Info("template exists; leaving it alone (set overwrite_template to replace it)", "template", kind+"/"+name)
			return nil
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "/"+kind+"/"+name, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Perform(req)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", kind, name, err)
	}
	rb, err := readBody(res.Body)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", kind, name, err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("put %s/%s: %w", kind, name, statusError(res.StatusCode, rb))
	}
	s.log.Info("template installed", "template", kind+"/"+name)
	return nil
}

// exists reports whether kind/name is there (HEAD answers 200 or 404).
func (s *Sink) exists(ctx context.Context, kind, name string) (bool, error) {
	var res *esapi.Response
	var err error
	if kind == "_component_template" {
		res, err = esapi.ClusterExistsComponentTemplateRequest{Name: name}.Do(ctx, s.client)
	} else {
		res, err = esapi.IndicesExistsIndexTemplateRequest{Name: name}.Do(ctx, s.client)
	}
	if err != nil {
		return false, fmt.Errorf("check %s/%s: %w", kind, name, err)
	}
	readBody(res.Body)
	switch res.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("check %s/%s: %w", kind, name, statusError(res.StatusCode, nil))
}

// readBody reads and closes a response body, up to 1 MiB.
func readBody(body io.ReadCloser) ([]byte, error) {
	defer body.Close()
	return io.ReadAll(io.LimitReader(body, 1<<20))
}

// statusError describes a failed answer with ES's error type and reason when
// the body has them. The reason is cut at maxReason bytes: a refused template
// comes back whole inside it, tens of kilobytes in one log line.
func statusError(status int, body []byte) error {
	var e struct {
		Error *esError `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		return &RequestError{Status: status, Type: e.Error.Type, Reason: shorten(e.Error.reason(), maxReason)}
	}
	return &RequestError{Status: status}
}

// maxReason bounds the reason of a RequestError.
const maxReason = 1024

// shorten cuts s to at most n bytes on a rune boundary, saying how long it was.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}
