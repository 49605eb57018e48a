#!/usr/bin/env bash
# make test: start the real Kafka broker and Elasticsearch node (scripts/testenv;
# running ones are reused), run every test with -race against them, run every
# fuzz target briefly, and stop the services this run started.
set -euo pipefail
cd "$(dirname "$0")/.."

# Fresh data for every run: data left by earlier runs (indices the tests cannot
# delete on this node) would pile up shards until Elasticsearch runs out of heap.
if [ -z "${SIEMFWD_TESTENV_STATE:-}" ]; then
	SIEMFWD_TESTENV_STATE="$(mktemp -d "${TMPDIR:-/tmp}/siemfwd-testenv.XXXXXX")"
	chmod 755 "$SIEMFWD_TESTENV_STATE" # Elasticsearch runs as an unprivileged user
	export SIEMFWD_TESTENV_STATE
fi
export SIEMFWD_TESTENV_ES_HEAP="${SIEMFWD_TESTENV_ES_HEAP:--Xms1g -Xmx1g}"
# all: Kafka, Elasticsearch 8.19 and Elasticsearch 9.x (es9, for the sink's second run below).
scripts/testenv/up all
trap 'scripts/testenv/down --purge || true' EXIT
scripts/testenv/senders # rsyslog, for the real-sender tests
eval "$(scripts/testenv/env)"
export SIEMFWD_TEST_KAFKA SIEMFWD_TEST_ES SIEMFWD_TEST_ES9
# A test that finds no service address fails here instead of skipping.
export SIEMFWD_TEST_REQUIRE_SERVICES=1

# The pinned pySigma environment (cached under .cache/ by its pins), for the
# test that regenerates rules/dist and compares it with the committed files.
SIEMFWD_RULES_PYTHON="$(scripts/rules-env.sh)/bin/python"
export SIEMFWD_RULES_PYTHON

go vet ./...
# Linux is the production platform, but development on macOS and Windows must build.
GOOS=darwin GOARCH=arm64 go build ./...
GOOS=windows GOARCH=amd64 go build ./...
# Packages that talk to the shared broker and node run one at a time: some
# of their tests restart the broker or the node (scripts/testenv/restart),
# which must not pull the service away from another package's tests.
services='^siemfwd/(cmd/siemfwd|internal/conservation|sinks/kafka|sinks/elasticsearch|sources/kafka)$'
go test -race -shuffle=on -timeout 25m $(go list ./... | grep -Ev "$services")
go test -race -shuffle=on -timeout 25m -p 1 $(go list ./... | grep -E "$services")
# The Elasticsearch sink's tests that talk to the node (all named *RealNode*,
# which esAddress enforces) once more against Elasticsearch 9.x; the restart
# test restarts the node it writes to (testenv service es9 here). The tests
# with a fake node do not depend on the version and ran above.
SIEMFWD_TEST_ES="$SIEMFWD_TEST_ES9" go test -race -shuffle=on -timeout 15m -run RealNode ./sinks/elasticsearch
scripts/fuzz.sh "${FUZZTIME:-5s}"
