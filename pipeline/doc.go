// Package pipeline is siemfwd's engine: events, batches and their
// acknowledgements, the Source, Processor and Sink contracts, the worker
// pool, the routed fan-out, the per-sink batch and retry loops, the disk
// buffer loop and event ids.
//
//	Source ─(chan Batch)→ workers: Processor ─→ fan-out by Route ─(chan per sink)→ sink loop ─→ Sink
//	                                                         └ disk buffer (optional, per sink) ┘
//
// It knows nothing of what events say. Parsing, the ECS document, enrichment
// and Kafka live in their own packages (parse/..., ecs, enrich/..., kafka/...),
// and the processor that ties them together (package process) plugs in
// through Processor; sources and sinks plug in through Source and Sink and
// never import each other. The engine imports only the standard library, its
// support packages pipeline/diskbuf (a disk log of opaque records),
// pipeline/ledger (per-sender counts) and pipeline/metrics (the Prometheus
// collectors), and siemfwd/internal helpers; deps_test.go fails on anything
// else of this module and on the domain's third-party modules.
package pipeline
