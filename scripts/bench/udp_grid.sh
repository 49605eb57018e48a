#!/usr/bin/env bash
# Issue #2's UDP target (highest lossless paced rate, siemfwd against
# rsyslog) on grids of rates chosen per receiver: rsyslog.sh and siemfwd.sh
# alternate run by run, so a change in the machine's load hits both. Each run
# also records the CPU time the hypervisor stole and every other process that
# used more than 15 % of a core while it ran (sampled each second), because
# on the shared 2-core machine either can turn a lossless rate into a lossy
# one; a run with entries there is disturbed and says so.
#
#   flock -x /tmp/siemfwd-bench.lock scripts/bench/udp_grid.sh
#   RUNS=3 RS_RATES="110000 125000" SF_RATES="200000 225000" scripts/bench/udp_grid.sh
#
# Environment (all optional; lib.sh documents N, SIEMFWD_BIN, LOADGEN, BENCH_DIR):
#   RUNS      runs per receiver (default 3)
#   RS_RATES  rsyslog's paced rates (default "100000 125000 150000")
#   SF_RATES  siemfwd's paced rates (default "175000 200000 225000 250000")
#   OUT       where the per-run tables go (default: a new temporary directory)
# Prints per run: steal seconds, the other busy processes seen, and the rows.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3}
RS_RATES=${RS_RATES:-100000 125000 150000}
SF_RATES=${SF_RATES:-175000 200000 225000 250000}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
export N=${N:-2000000}

scenarios() {
	local r out=""
	for r in $1; do out+=" udp-3164-$((r / 1000))k:udp:rfc3164:lf:$r"; done
	echo "$out"
}

steal_ticks() { awk '/^cpu /{print $9}' /proc/stat; }

# watch_others FILE: every second, append the processes other than the
# receivers, loadgen and this script's own tools that use > 15 % of a core.
watch_others() {
	while :; do
		ps -eo pcpu,comm --sort=-pcpu |
			awk -v t="$(date +%T)" 'NR > 1 && $1 > 15 && $2 !~ /^(siemfwd|loadgen|rsyslogd|ps|awk|wc|rm|sort|sleep|bash|date|curl|stat)$/ {print t, $2, $1 "%"}'
		sleep 1
	done >>"$1"
}

hz=$(getconf CLK_TCK)
for i in $(seq 1 "$RUNS"); do
	for who in rsyslog siemfwd; do
		rates=$RS_RATES
		[[ $who == siemfwd ]] && rates=$SF_RATES
		others=$OUT/$who-$i.others
		: >"$others"
		watch_others "$others" &
		watcher=$!
		s0=$(steal_ticks)
		SCENARIOS=$(scenarios "$rates") "$here/$who.sh" >"$OUT/$who-$i.md" 2>"$OUT/$who-$i.err"
		s1=$(steal_ticks)
		kill "$watcher"
		wait "$watcher" 2>/dev/null || true
		echo "## $who run $i: steal $(awk -v t=$((s1 - s0)) -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}') s, other busy processes: $(sort -u -k2,2 "$others" | awk '{printf "%s%s(%s)", sep, $2, $3; sep=" "}')"
		grep -E "^\| $who " "$OUT/$who-$i.md" || cat "$OUT/$who-$i.err"
	done
done
