#!/usr/bin/env bash
# make test: every test with -race, then a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
go vet ./...
go test -race -shuffle=on -timeout 20m ./...
scripts/fuzz.sh "${FUZZTIME:-5s}"
