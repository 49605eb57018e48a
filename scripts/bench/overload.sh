#!/usr/bin/env bash
# Memory under sustained overload (BENCHMARKS.md, "memory under overload"): siemfwd with the
# default queue sizes, its stdout piped into a reader throttled to RATE bytes/s,
# loadgen sending TCP as fast as it may for SECS seconds. Prints VmRSS, the
# source's and the sink's counts and the queue depths every 10 s, the peak RSS,
# then stops siemfwd with SIGTERM and reports how long it took to exit
# (pipeline.shutdown_timeout, default 30 s, bounds it).
#
#   scripts/bench/overload.sh                   # SECS=100 RATE=1000000
#   SIEMFWD_BIN=/tmp/x/siemfwd SECS=60 scripts/bench/overload.sh
#
# Ports: OVERLOAD_TCP_PORT (default 55160), OVERLOAD_ADMIN_PORT (default 55162).
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

SECS=${SECS:-100}
RATE=${RATE:-1000000}
TCP_PORT=${OVERLOAD_TCP_PORT:-55160}
ADMIN_PORT=${OVERLOAD_ADMIN_PORT:-55162}
SIEMFWD_BIN=${SIEMFWD_BIN:-$BENCH_ROOT/bin/siemfwd}

# metric NAME: the sum of a metric's samples on siemfwd's /metrics.
metric() {
	curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" |
		awk -v m="$1" '$1 == m || index($1, m "{") == 1 {s += $NF} END {printf "%d\n", s}'
}

main() {
	bench_scratch
	trap bench_cleanup EXIT
	build_loadgen
	[[ -x $SIEMFWD_BIN ]] || make -C "$BENCH_ROOT" build >&2
	cat >"$SCRATCH/siemfwd.yaml" <<YAML
log: {level: warn, format: text}
admin: {address: "127.0.0.1:$ADMIN_PORT"}
sources:
  t: {type: syslog, protocol: tcp, address: "127.0.0.1:$TCP_PORT"}
sinks:
  out: {type: stdout}
YAML
	# The throttled reader: RATE bytes per second, in 64 KiB reads.
	local slow="import sys, time
r = $RATE
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    time.sleep(len(b) / r)"
	mkfifo "$SCRATCH/out"
	python3 -c "$slow" <"$SCRATCH/out" &
	local reader=$!
	"$SIEMFWD_BIN" run -c "$SCRATCH/siemfwd.yaml" >"$SCRATCH/out" 2>"$SCRATCH/stderr" &
	RECEIVER_PID=$!
	local pid=$RECEIVER_PID
	wait_listening tcp "$TCP_PORT" "$pid"
	"$LOADGEN" -proto tcp -addr "127.0.0.1:$TCP_PORT" -format rfc5424 -n 3000000 -seed 1 >/dev/null 2>&1 &
	local sender=$!
	echo "siemfwd $("$SIEMFWD_BIN" version | cut -d' ' -f2), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), reader at $RATE B/s, $SECS s"
	echo
	echo "| t (s) | VmRSS MiB | source received | sink sent | input queue (batches) | sink queue (batches) |"
	echo "|---:|---:|---:|---:|---:|---:|"
	local t
	for ((t = 10; t <= SECS; t += 10)); do
		sleep 10
		printf '| %d | %.1f | %s | %s | %s | %s |\n' "$t" \
			"$(awk '/^VmRSS:/ {print $2 / 1024}' "/proc/$pid/status")" \
			"$(metric siemfwd_source_received_events_total)" \
			"$(curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^siemfwd_sink_events_total\{/ && /outcome="sent"/ {s += $NF} END {printf "%d", s}')" \
			"$(curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^siemfwd_queue_batches\{/ && /queue="input"/ {print $NF}')" \
			"$(curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^siemfwd_queue_batches\{/ && /queue="out"/ {print $NF}')"
	done
	echo
	echo "peak RSS (VmHWM): $(awk '{printf "%.1f", $1 / 1024}' <<<"$(peak_rss_kib "$pid")") MiB; dropped: $(metric siemfwd_source_dropped_events_total)"
	kill "$sender" 2>/dev/null || true
	wait "$sender" 2>/dev/null || true
	local start end
	start=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	end=$(date +%s%N)
	RECEIVER_PID=""
	echo "SIGTERM to exit: $(((end - start) / 1000000)) ms (stdout still blocked on the slow reader)"
	kill "$reader" 2>/dev/null || true
	wait "$reader" 2>/dev/null || true
}

main "$@"
