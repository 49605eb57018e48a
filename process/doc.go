// Package process is the domain's side of the engine: the pipeline.Processor
// that turns a received message into its ECS document (syslog header and
// Kerio parsing, the charset, enrichment, the JSON encoding and the routing
// fields), and the two internal sources whose events are ECS documents made
// by siemfwd itself: silence alerts from the ledger and mail-flow summaries.
//
// It ties the domain packages together (parse/..., ecs, enrich/...) and
// imports the engine for its contracts; the engine never imports it, and
// neither do sources or sinks (only cmd/siemfwd wires it in, and tests).
package process
