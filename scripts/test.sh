#!/usr/bin/env bash
# make test: start the real Kafka broker and Elasticsearch node (scripts/testenv;
# running ones are reused), run every test with -race against them, run every
# fuzz target briefly, and stop the services this run started.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/testenv/up
trap 'scripts/testenv/down || true' EXIT
eval "$(scripts/testenv/env)"
export SIEMFWD_TEST_KAFKA SIEMFWD_TEST_ES

go vet ./...
# Packages that talk to the shared broker and node run one at a time: some
# of their tests restart the broker or the node (scripts/testenv/restart),
# which must not pull the service away from another package's tests.
services='^siemfwd/(cmd/siemfwd|sinks/kafka|sinks/elasticsearch|sources/kafka)$'
go test -race -shuffle=on -timeout 25m $(go list ./... | grep -Ev "$services")
go test -race -shuffle=on -timeout 25m -p 1 $(go list ./... | grep -E "$services")
scripts/fuzz.sh "${FUZZTIME:-5s}"
