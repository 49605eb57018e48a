package main

import (
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
	"siemfwd/process"
)

// Processing modes, as the start-up log names them.
const (
	processingECS = "ecs" // parse, map and encode every event (process.ECSProcessor)
	processingRaw = "raw" // read the syslog header only (process.RawProcessor)
)

// chooseProcessing picks what the workers do with each event. Raw when
// every sink forwards the raw message (a Kafka sink in edge mode whose
// topic and key name no parsed field) and no sink route matches on a
// parsed field, and mail-flow correlation is off (it needs the parsed
// messages): the edge of a two-tier deployment then costs what receiving
// and producing cost, and its indexers make the documents. A configuration
// with any other sink, or such a route, keeps the full processing, for
// every event: workers do not know which sinks an event will go to before
// it is parsed.
func chooseProcessing(sinks []pipeline.NamedSink, opts process.ProcessOptions, m *metrics.Metrics) (string, func() pipeline.Processor) {
	full := func() pipeline.Processor { return process.NewECSProcessor(opts, m) }
	if opts.MailFlow != nil {
		return processingECS, full
	}
	for _, s := range sinks {
		raw, ok := s.Sink.(pipeline.RawForwarder)
		if !ok || !raw.ForwardsRaw() || s.Config.Route.ReadsParsedFields() {
			return processingECS, full
		}
	}
	return processingRaw, func() pipeline.Processor { return process.NewRawProcessor(opts.Namespace) }
}
