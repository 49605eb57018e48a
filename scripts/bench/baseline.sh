#!/usr/bin/env bash
# Records the in-process benchmarks of the packages on the hot path into
# testdata/bench/baseline.txt, the benchstat baseline (BENCHMARKS.md), or
# into OUT for a run to compare with it:
#
#   scripts/bench/baseline.sh                       # re-record the baseline
#   OUT=new.txt scripts/bench/baseline.sh && \
#     go run golang.org/x/perf/cmd/benchstat@latest testdata/bench/baseline.txt new.txt
#   BENCHTIME=1s scripts/bench/baseline.sh          # on a quiet machine
#
# The file starts with comment lines, which benchstat skips: the commit, the
# date, the benchtime and the load average before and after, because on a
# shared machine the times are only as good as the load let them be (the
# allocation columns do not depend on it).
#
# Environment (all optional): BENCHTIME (100ms), COUNT (6), OUT.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
BENCHTIME=${BENCHTIME:-100ms}
COUNT=${COUNT:-6}
OUT=${OUT:-$root/testdata/bench/baseline.txt}
pkgs=(./pipeline ./process ./parse/kerio ./parse/syslogparse ./ecs ./sources/syslog)

results=$(mktemp)
trap 'rm -f "$results"' EXIT
commit=$(git -C "$root" rev-parse --short HEAD)
if [[ -n $(git -C "$root" status --porcelain -- '*.go') ]]; then commit+=" with uncommitted changes"; fi
load0=$(cut -d' ' -f1-3 /proc/loadavg)
(cd "$root" && go test -run '^$' -bench . -benchmem -count="$COUNT" -benchtime="$BENCHTIME" "${pkgs[@]}") >"$results"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "# scripts/bench/baseline.sh at $commit on $(date -u +%F), benchtime $BENCHTIME, count $COUNT, $(nproc) cores."
	echo "# Load average $load0 at the start and $load1 at the end (other work on the machine): the times"
	echo "# are as noisy as that; B/op and allocs/op do not depend on it."
	cat "$results"
} >"$OUT"
echo "wrote $OUT" >&2
