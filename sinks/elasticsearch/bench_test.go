package elasticsearch

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"siemfwd/pipeline"
)

// BenchmarkWrite measures the sink's own cost per event (build, id,
// compress, send, parse) against a server that discards the body and
// answers a canned success, so the node's indexing time is not in it.
func BenchmarkWrite(b *testing.B) {
	const batch, chunk = 1000, 500
	resp := `{"errors":false,"items":[` + strings.TrimSuffix(strings.Repeat(`{"create":{"status":201}},`, chunk), ",") + `]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		io.WriteString(w, resp)
	}))
	defer srv.Close()
	base := ecsEvents(b, batch, "default")
	bytesPer := 0
	for _, ev := range base {
		bytesPer += len(ev.JSON)
	}
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("compress=%v", compress), func(b *testing.B) {
			s := newTestSink(b, srv.URL, func(c *Config) { c.Compress = compress; c.MaxEventsPerRequest = chunk })
			events := make([]*pipeline.Event, batch)
			copy(events, base)
			b.SetBytes(int64(bytesPer))
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if err := s.Write(b.Context(), events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*batch), "ns/event")
		})
	}
}
