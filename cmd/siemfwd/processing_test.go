package main

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/enrich/mailflow"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/process"
	kafkasink "siemfwd/sinks/kafka"
	"siemfwd/sinks/stdout"
)

// TestChooseProcessing: the workers skip parsing only when no sink, route
// or enrichment of the configuration reads what parsing gives.
func TestChooseProcessing(t *testing.T) {
	m := metrics.New()
	kafka := func(mode, topic string, route pipeline.Route) pipeline.NamedSink {
		cfg := kafkasink.DefaultConfig()
		cfg.Brokers, cfg.Topic, cfg.Mode = []string{"127.0.0.1:9092"}, topic, mode
		s, err := kafkasink.New(cfg, slog.New(slog.DiscardHandler), m)
		require.NoError(t, err)
		return pipeline.NamedSink{Name: "kafka", Sink: s, Config: pipeline.SinkConfig{Route: route}}
	}
	edge := kafka(kafkasink.ModeEdge, "siem-raw", pipeline.Route{})
	out := pipeline.NamedSink{Name: "out", Sink: stdout.New(nil)}
	byHost := pipeline.Route{Hostname: pipeline.Match{Include: []string{"fw01"}}}
	byDataset := pipeline.Route{Dataset: pipeline.Match{Include: []string{"kerio_connect.security"}}}
	tracker := mailflow.New(mailflow.DefaultConfig())
	for _, tt := range []struct {
		name     string
		sinks    []pipeline.NamedSink
		mailFlow *mailflow.Tracker
		want     string
	}{
		{"one edge sink", []pipeline.NamedSink{edge}, nil, processingRaw},
		{"two edge sinks, one routed by hostname", []pipeline.NamedSink{edge, kafka(kafkasink.ModeEdge, "b", byHost)}, nil, processingRaw},
		{"an edge sink and stdout", []pipeline.NamedSink{edge, out}, nil, processingECS},
		{"an edge sink routed by dataset", []pipeline.NamedSink{kafka(kafkasink.ModeEdge, "siem-raw", byDataset)}, nil, processingECS},
		{"an edge sink whose topic names the dataset", []pipeline.NamedSink{kafka(kafkasink.ModeEdge, "raw-{event.dataset}", pipeline.Route{})}, nil, processingECS},
		{"a Kafka sink in ecs mode", []pipeline.NamedSink{kafka(kafkasink.ModeECS, "siem", pipeline.Route{})}, nil, processingECS},
		{"an edge sink with mail-flow correlation", []pipeline.NamedSink{edge}, tracker, processingECS},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, newProcessor := chooseProcessing(tt.sinks, process.ProcessOptions{Namespace: "default", MailFlow: tt.mailFlow}, m)
			require.Equal(t, tt.want, got)
			switch p := newProcessor(); got {
			case processingRaw:
				require.IsType(t, &process.RawProcessor{}, p)
			default:
				require.IsType(t, &process.ECSProcessor{}, p)
			}
		})
	}
}
