#!/usr/bin/env bash
# End-to-end load test of the Kafka sink (BENCHMARKS.md, "TCP → Kafka sink"):
# TCP → siemfwd → the local broker, acks=all.
#
#   scripts/bench/kafka.sh
#   N=1000000 PARTITIONS=3 COMPRESSION=lz4 RUNS=3 scripts/bench/kafka.sh
#
# Each run creates a fresh topic with PARTITIONS partitions on BROKER, starts
# siemfwd (TCP source, kafka sink), sends N events with cmd/loadgen, and ends
# at the first 0.1 s poll of the admin /metrics that shows
# siemfwd_sink_events_total{outcome="sent"} >= N. It then checks that the
# topic's end offsets sum to N, stops siemfwd and deletes the topic.
#   events/s  N / (that poll's time - loadgen's first send)
#   CPU-s/M   siemfwd utime+stime (/proc/PID/stat) per million events
#   events/Write, ms/Write  how the sink loop batched, from its metrics
#   broker    the same for the broker's JVM (found by its listening port); it
#             includes any other client's traffic to that broker meanwhile
#   loadgen   the sender's CPU time
#   all       siemfwd + broker + loadgen CPU-s/M; 2e6 / all is the most
#             events/s the 2 cores could carry even with nothing else running
# With RUNS > 1 the medians are printed last.
#
# Environment (all optional): N (1000000), RUNS (3), PARTITIONS (3),
# COMPRESSION (lz4), BROKER (127.0.0.1:9092), MAX_EVENTS (sink max_events,
# 4096), EXTRA_SINK (more YAML keys for the sink, e.g. "batch_timeout: 2ms"),
# SIEMFWD_BIN, LOADGEN, SIEMFWD_TCP_PORT (55170), SIEMFWD_ADMIN_PORT (55172),
# MAX_SECS (60 + N/20000), BUFFER (memory, or disk: the sink's disk buffer
# in a fresh directory per run; scripts/bench/diskbuf.sh compares the two).
N=${N:-1000000} # before lib.sh, whose default is larger
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-3}
PARTITIONS=${PARTITIONS:-3}
COMPRESSION=${COMPRESSION:-lz4}
BROKER=${BROKER:-127.0.0.1:9092}
MAX_EVENTS=${MAX_EVENTS:-4096}
EXTRA_SINK=${EXTRA_SINK:-}
BUFFER=${BUFFER:-memory}
SIEMFWD_BIN=${SIEMFWD_BIN:-$BENCH_ROOT/bin/siemfwd}
SIEMFWD_TCP_PORT=${SIEMFWD_TCP_PORT:-55170}
SIEMFWD_ADMIN_PORT=${SIEMFWD_ADMIN_PORT:-55172}
KAFKA_CLI=$BENCH_ROOT/scripts/testenv/kafka-run-class

# CONFIG is the siemfwd configuration; @...@ are filled in per run.
CONFIG='
log: {level: warn, format: text}
admin: {address: "127.0.0.1:@ADMIN_PORT@"}
pipeline: {data_dir: "@DATA_DIR@"}
sources:
  bench_tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:@TCP_PORT@"}
sinks:
  kafka:
    type: kafka
    brokers: ["@BROKER@"]
    topic: "@TOPIC@"
    default_topic: "@TOPIC@"
    compression: @COMPRESSION@
    max_events: @MAX_EVENTS@
    buffer: {type: @BUFFER@}
@EXTRA_SINK@
'

build_siemfwd() {
	if [[ ! -x $SIEMFWD_BIN ]]; then
		echo "building $SIEMFWD_BIN (make build)" >&2
		make -C "$BENCH_ROOT" build >&2
	fi
}

# broker_pid: the process listening on BROKER's port (empty if not visible).
broker_pid() {
	ss -Hltnp "sport = :${BROKER##*:}" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}

# sent_events: siemfwd_sink_events_total{outcome="sent"} of the kafka sink.
sent_events() {
	curl -fsS --max-time 2 "http://127.0.0.1:$SIEMFWD_ADMIN_PORT/metrics" 2>/dev/null |
		awk '/^siemfwd_sink_events_total\{/ && /outcome="sent"/ && /sink="kafka"/ {s += $NF} END {printf "%d\n", s}'
}

# write_stats: "WRITES SECONDS", the kafka sink's successful Write calls and
# the total time they took, to show events per Write and ms per Write.
write_stats() {
	curl -fsS --max-time 2 "http://127.0.0.1:$SIEMFWD_ADMIN_PORT/metrics" 2>/dev/null |
		awk '/^siemfwd_sink_batches_total\{/ && /sink="kafka"/ {w += $NF}
			/^siemfwd_sink_request_duration_seconds_sum\{/ && /sink="kafka"/ {d += $NF}
			END {printf "%d %f\n", w, d}'
}

# other_outcomes: every non-sent sink outcome and source drop, for the log.
other_outcomes() {
	curl -fsS --max-time 2 "http://127.0.0.1:$SIEMFWD_ADMIN_PORT/metrics" 2>/dev/null |
		awk '(/^siemfwd_sink_events_total\{/ && !/outcome="sent"/ || /^siemfwd_(sink|source)_dropped/) && $NF != 0 {printf "%s ", $0}'
}

# end_offsets TOPIC: the sum of the topic's partitions' end offsets.
end_offsets() {
	"$KAFKA_CLI" org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$BROKER" --topic "$1" --time -1 2>/dev/null |
		awk -F: '{s += $NF} END {printf "%d\n", s}'
}

# run_once I: one measured run; prints one table row and appends
# "events/s cpu-s/M broker-cpu-s/M" to $SCRATCH/results.
run_once() {
	local i=$1 topic conf=$SCRATCH/siemfwd.yaml
	topic=bench-$(date +%s)-$$-$COMPRESSION-p$PARTITIONS-$i
	"$KAFKA_CLI" topics --bootstrap-server "$BROKER" --create --topic "$topic" \
		--partitions "$PARTITIONS" --replication-factor 1 >/dev/null
	sed -e "s/@TCP_PORT@/$SIEMFWD_TCP_PORT/" -e "s/@ADMIN_PORT@/$SIEMFWD_ADMIN_PORT/" -e "s/@BROKER@/$BROKER/" \
		-e "s/@TOPIC@/$topic/" -e "s/@COMPRESSION@/$COMPRESSION/" -e "s/@MAX_EVENTS@/$MAX_EVENTS/" \
		-e "s|@DATA_DIR@|$SCRATCH/data-$i|" -e "s/@BUFFER@/$BUFFER/" \
		-e "s/@EXTRA_SINK@/${EXTRA_SINK:+    $EXTRA_SINK}/" <<<"$CONFIG" >"$conf"
	"$SIEMFWD_BIN" run -c "$conf" >/dev/null 2>>"$SCRATCH/siemfwd.stderr" &
	RECEIVER_PID=$!
	wait_listening tcp "$SIEMFWD_TCP_PORT" "$RECEIVER_PID"
	local pid=$RECEIVER_PID bpid cpu0 bcpu0=0 load
	bpid=$(broker_pid)
	load=$(cut -d' ' -f1 /proc/loadavg)
	cpu0=$(cpu_ticks "$pid")
	[[ -n $bpid ]] && bcpu0=$(cpu_ticks "$bpid")

	local summary start_ns end_ns sent=0 deadline lcpu
	# The subshell reports loadgen's CPU time: its children's utime+stime.
	summary=$(
		me=$BASHPID
		"$LOADGEN" -proto tcp -addr "127.0.0.1:$SIEMFWD_TCP_PORT" -format rfc5424 -framing lf -n "$N" -seed 1
		sed 's/^.*) //' "/proc/$me/stat" | awk '{print "loadgen_ticks=" $14 + $15}'
	)
	start_ns=$(sed -n 's/.* start_unix_ns=\([0-9]*\).*/\1/p' <<<"$summary")
	lcpu=$(sed -n 's/^loadgen_ticks=//p' <<<"$summary")
	deadline=$(($(date +%s) + MAX_SECS))
	while :; do
		sent=$(sent_events)
		end_ns=$(date +%s%N)
		((sent >= N)) && break
		if (($(date +%s) >= deadline)); then
			echo "timed out after ${MAX_SECS}s: $sent of $N sent" >&2
			break
		fi
		sleep 0.1
	done
	local cpu1 bcpu1=0 rss other offsets writes wsecs
	cpu1=$(cpu_ticks "$pid")
	read -r writes wsecs < <(write_stats)
	[[ -n $bpid ]] && bcpu1=$(cpu_ticks "$bpid")
	rss=$(peak_rss_kib "$pid")
	other=$(other_outcomes)
	stop_receiver
	offsets=$(end_offsets "$topic")
	"$KAFKA_CLI" topics --bootstrap-server "$BROKER" --delete --topic "$topic" >/dev/null 2>&1 || true
	[[ -n $other ]] && echo "  run $i: other outcomes: $other" >&2
	if ((offsets != N)); then echo "  run $i: topic end offsets sum to $offsets, not $N" >&2; fi

	awk -v i="$i" -v n="$N" -v sent="$sent" -v t0="$start_ns" -v t1="$end_ns" -v c0="$cpu0" -v c1="$cpu1" \
		-v b0="$bcpu0" -v b1="$bcpu1" -v hz="$CLK_TCK" -v rss="$rss" -v off="$offsets" -v load="$load" \
		-v w="$writes" -v ws="$wsecs" -v lc="$lcpu" -v out="$SCRATCH/results" '
	BEGIN {
		el = (t1 - t0) / 1e9; if (el <= 0) el = 1e-9
		cpu = (c1 - c0) / hz; bcpu = (b1 - b0) / hz; lcpu = lc / hz
		all = (cpu + bcpu + lcpu) / (n / 1e6)
		printf "| %3d | %9d | %7.2f | %9.0f | %7.2f | %7.2f | %7.2f | %7.2f | %9.0f | %6.0f | %6.1f | %7.1f | %9d | %5s |\n",
			i, sent, el, sent / el, cpu / (n / 1e6), bcpu / (n / 1e6), lcpu / (n / 1e6), all, 2e6 / all,
			(w > 0 ? sent / w : 0), (w > 0 ? 1000 * ws / w : 0), rss / 1024, off, load
		printf "%.0f %.3f %.3f %.3f\n", sent / el, cpu / (n / 1e6), bcpu / (n / 1e6), all >> out
	}'
}

main() {
	build_siemfwd
	bench_begin
	echo "$("$SIEMFWD_BIN" version 2>/dev/null | head -1 || true), N=$N, partitions=$PARTITIONS, compression=$COMPRESSION, max_events=$MAX_EVENTS, buffer=$BUFFER${EXTRA_SINK:+, $EXTRA_SINK}, $(nproc) cores" >&2
	echo "| run | sent | elapsed s | events/s | siemfwd CPU-s/M | broker CPU-s/M | loadgen CPU-s/M | all CPU-s/M | 2-core ceiling events/s | events/Write | ms/Write | siemfwd RSS MiB | end offsets | load |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	local i
	for ((i = 1; i <= RUNS; i++)); do
		run_once "$i"
	done
	if ((RUNS > 1)); then
		sort -n -k1 "$SCRATCH/results" | awk '{r[NR] = $1} END {printf "median events/s %.0f\n", r[int((NR + 1) / 2)]}'
		sort -n -k2 "$SCRATCH/results" | awk '{c[NR] = $2} END {printf "median siemfwd CPU-s/M %.2f\n", c[int((NR + 1) / 2)]}'
		sort -n -k3 "$SCRATCH/results" | awk '{c[NR] = $3} END {printf "median broker CPU-s/M %.2f\n", c[int((NR + 1) / 2)]}'
		sort -n -k4 "$SCRATCH/results" | awk '{c[NR] = $4} END {printf "median all CPU-s/M %.2f (2-core ceiling %.0f events/s)\n", c[int((NR + 1) / 2)], 2e6 / c[int((NR + 1) / 2)]}'
	fi
}

main "$@"
