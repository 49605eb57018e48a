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
go test -race -shuffle=on -timeout 25m ./...
scripts/fuzz.sh "${FUZZTIME:-5s}"
