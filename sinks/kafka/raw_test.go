package kafka

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestForwardsRaw: only an edge-mode sink whose topic and key read nothing
// that parsing gives lets the workers skip parsing (pipeline.RawForwarder).
func TestForwardsRaw(t *testing.T) {
	for _, tt := range []struct {
		name, mode, topic, keyBy, key string
		want                          bool
	}{
		{"edge with the defaults", ModeEdge, "siem-raw", "", "", true},
		{"edge keyed by hostname", ModeEdge, "siem-raw", KeyByHostname, "", true},
		{"edge, topic by source name and namespace", ModeEdge, "raw-{siemfwd.source}-{data_stream.namespace}", "", "", true},
		{"edge, key template over the hostname", ModeEdge, "siem-raw", KeyByTemplate, "{log.syslog.hostname}", true},
		{"edge, topic by dataset", ModeEdge, "raw-{event.dataset}", "", "", false},
		{"edge, topic falling back to a parsed field", ModeEdge, "raw-{log.syslog.hostname|source.ip}", "", "", false},
		{"edge, key template over source.ip", ModeEdge, "siem-raw", KeyByTemplate, "{source.ip}", false},
		{"edge, an unused key template over source.ip", ModeEdge, "siem-raw", KeyBySenderAddress, "{source.ip}", true},
		{"ecs", ModeECS, "siem", "", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig([]string{"127.0.0.1:9092"}, tt.topic)
			cfg.Mode, cfg.KeyBy = tt.mode, tt.keyBy
			if tt.key != "" {
				cfg.Key = tt.key
			}
			assert.Equal(t, tt.want, newSink(t, cfg).ForwardsRaw())
		})
	}
}
