#!/usr/bin/env bash
# Issue #7: an indexer consuming raw Kerio syslog lines from Kafka, compared
# with one siemfwd receiving the same lines over TCP directly. Both write ECS
# JSON with the stdout sink to a file on tmpfs.
#
#   scripts/bench/indexer.sh                    # N=1000000 RUNS=3, needs a broker
#   KAFKA=127.0.0.1:9092 N=500000 RUNS=1 scripts/bench/indexer.sh
#
# Per run:
#  1. fill: a fresh topic (PARTITIONS, default 6) is filled the way edges fill
#     it: an edge siemfwd (configs/edge.yaml: Kafka sink in edge mode, lz4,
#     keyed by sender, disk buffer) fed by loadgen over TCP, so every record
#     carries the edge header (siemfwd.edge). The run waits until the edge's sink reports
#     N events sent (acknowledged by the broker). Not measured.
#  2. indexer: siemfwd with a kafka source (new group, earliest) reads the
#     topic. events/s = N / (mtime of the output when it holds N lines -
#     time the indexer logged "partitions assigned"), so the group join (a few
#     seconds of Kafka's rebalance delay) is not counted as consuming time.
#  3. direct: siemfwd with a syslog TCP source, fed by the same loadgen
#     command. events/s = N / (mtime of the output - loadgen's first send).
# CPU-s/M is the receiving siemfwd's utime+stime (/proc/PID/stat) over its
# whole life until its output is complete, per million events; the broker and
# loadgen are not counted. Printed: each run, then the medians of RUNS runs
# and the ratios indexer/direct (target of issue #7: within 20 %).
#
# Every key of the topic is the one sender (127.0.0.1), so the records land
# in one partition, as one busy sender's would.
#
# Environment: N, RUNS, KAFKA (brokers, default 127.0.0.1:9092), PARTITIONS,
# SIEMFWD_BIN, LOADGEN, BENCH_DIR, KEEP_TOPICS=1 (do not delete the topics),
# and the ports INDEXER_BENCH_PORT (edge and direct TCP, default 55160) and
# INDEXER_BENCH_ADMIN (admin of the edge, default 55161).
N=${N:-1000000}
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-3}
KAFKA=${KAFKA:-127.0.0.1:9092}
PARTITIONS=${PARTITIONS:-6}
SIEMFWD_BIN=${SIEMFWD_BIN:-$BENCH_ROOT/bin/siemfwd}
PORT=${INDEXER_BENCH_PORT:-55160}
ADMIN=${INDEXER_BENCH_ADMIN:-55161}
KAFKA_CLI=$BENCH_ROOT/scripts/testenv/kafka-run-class
export PROTO=tcp # read by wait_output
LOADGEN_ARGS=(-proto tcp -format rfc5424 -framing lf -seed 1)
TOPICS=()

edge_config() { # TOPIC DATA_DIR
	cat <<EOF
log: {level: warn, format: text}
admin: {address: "127.0.0.1:$ADMIN"}
pipeline: {data_dir: "$2"}
sources:
  syslog_tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:$PORT"}
sinks:
  kafka:
    type: kafka
    mode: edge
    brokers: ["$KAFKA"]
    topic: $1
    key_by: sender_address
    compression: lz4
    buffer: {type: disk, max_bytes: 10737418240}
EOF
}

indexer_config() { # TOPIC GROUP
	cat <<EOF
log: {level: info, format: json}
sources:
  from_edges:
    type: kafka
    brokers: ["$KAFKA"]
    topics: [$1]
    group_id: $2
    mode: raw
    start_offset: earliest
    commit_interval: 1s
sinks:
  out: {type: stdout}
EOF
}

direct_config() {
	cat <<EOF
log: {level: warn, format: text}
sources:
  syslog_tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:$PORT"}
sinks:
  out: {type: stdout}
EOF
}

# edge_sent: events the edge's Kafka sink has had acknowledged by the broker.
edge_sent() {
	curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN/metrics" 2>/dev/null |
		awk '/^siemfwd_sink_events_total\{/ && /outcome="sent"/ {s += $NF} END {printf "%d\n", s}'
}

# fill TOPIC: the topic holds N edge records when it returns.
fill() {
	local topic=$1 dir=$SCRATCH/edge-$1 i sent
	mkdir -p "$dir/data"
	"$KAFKA_CLI" topics --bootstrap-server "$KAFKA" --create --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1 >/dev/null
	TOPICS+=("$topic")
	edge_config "$topic" "$dir/data" >"$dir/edge.yaml"
	"$SIEMFWD_BIN" run -c "$dir/edge.yaml" >/dev/null 2>>"$SCRATCH/edge.stderr" &
	RECEIVER_PID=$!
	wait_listening tcp "$PORT" "$RECEIVER_PID"
	"$LOADGEN" "${LOADGEN_ARGS[@]}" -addr "127.0.0.1:$PORT" -n "$N" >/dev/null
	for ((i = 0; ; i++)); do
		sent=$(edge_sent || echo 0)
		((sent >= N)) && break
		if ((i > MAX_SECS * 2)); then
			echo "edge sent only $sent of $N events to $topic after ${MAX_SECS}s" >&2
			return 1
		fi
		sleep 0.5
	done
	stop_receiver
}

# assigned_ns FILE: when the indexer logged its partition assignment, in ns.
assigned_ns() {
	local t
	t=$(grep -m1 '"msg":"partitions assigned"' "$1" | sed 's/.*"time":"\([^"]*\)".*/\1/')
	[[ -n $t ]] || return 1
	date -d "$t" +%s%N
}

# report OUT START_NS: once the receiver (RECEIVER_PID) was started and fed,
# wait for N lines in OUT, stop it and set RESULT to "events/s CPU-s/M".
# (Results go through a variable, not $(...), so that RECEIVER_PID is this
# shell's and the EXIT trap can stop the receiver.)
report() {
	local out=$1 t0=$2 pid=$RECEIVER_PID cpu lines t1
	wait_output "$out" "$N"
	cpu=$(cpu_ticks "$pid")
	collect_output "$out"
	lines=$OUT_LINES t1=$OUT_END_NS
	if ((lines < N)); then echo "only $lines of $N lines in $out" >&2; fi
	RESULT=$(awk -v n="$lines" -v t0="$t0" -v t1="$t1" -v c="$cpu" -v hz="$CLK_TCK" \
		'BEGIN { el = (t1 - t0) / 1e9; if (el <= 0) el = 1e-9; printf "%.0f %.2f\n", n / el, (c / hz) / (n / 1e6) }')
}

run_indexer() { # TOPIC
	local topic=$1 out=$SCRATCH/indexer.out log=$SCRATCH/indexer.log i t0
	indexer_config "$topic" "$topic-indexer" >"$SCRATCH/indexer.yaml"
	: >"$log"
	"$SIEMFWD_BIN" run -c "$SCRATCH/indexer.yaml" >"$out" 2>"$log" &
	RECEIVER_PID=$!
	for ((i = 0; i < 600; i++)); do
		if t0=$(assigned_ns "$log"); then break; fi
		sleep 0.1
	done
	if [[ -z $t0 ]]; then
		echo "the indexer got no partitions in 60 s" >&2
		tail -5 "$log" >&2
		return 1
	fi
	report "$out" "$t0"
}

run_direct() {
	local out=$SCRATCH/direct.out summary t0
	direct_config >"$SCRATCH/direct.yaml"
	"$SIEMFWD_BIN" run -c "$SCRATCH/direct.yaml" >"$out" 2>>"$SCRATCH/direct.stderr" &
	RECEIVER_PID=$!
	wait_listening tcp "$PORT" "$RECEIVER_PID"
	summary=$("$LOADGEN" "${LOADGEN_ARGS[@]}" -addr "127.0.0.1:$PORT" -n "$N")
	t0=$(sed -n 's/.* start_unix_ns=\([0-9]*\).*/\1/p' <<<"$summary")
	report "$out" "$t0"
}

delete_topics() {
	local t
	[[ ${KEEP_TOPICS:-} == 1 ]] && return 0
	for t in "${TOPICS[@]}"; do
		"$KAFKA_CLI" topics --bootstrap-server "$KAFKA" --delete --topic "$t" >/dev/null 2>&1 || true
	done
}

main() {
	if [[ ! -x $SIEMFWD_BIN ]]; then make -C "$BENCH_ROOT" build >&2; fi
	bench_scratch
	# Run a private copy, so a rebuild of the work tree cannot change the
	# binary between runs.
	cp "$SIEMFWD_BIN" "$SCRATCH/siemfwd"
	SIEMFWD_BIN=$SCRATCH/siemfwd
	trap 'status=$?; stop_receiver; if ((status != 0)); then tail -5 "$SCRATCH"/*.stderr "$SCRATCH/indexer.log" 2>/dev/null >&2; fi; delete_topics; bench_cleanup' EXIT
	trap 'exit 130' INT TERM
	build_loadgen
	echo "$("$SIEMFWD_BIN" version 2>/dev/null | head -1 || true), N=$N, RUNS=$RUNS, $(nproc) cores, broker $KAFKA" >&2
	echo "loadgen ${LOADGEN_ARGS[*]} -n $N" >&2
	local r topic idx dir
	echo "| run | indexer events/s | indexer CPU-s/M | direct events/s | direct CPU-s/M |"
	echo "|----:|-----------------:|----------------:|----------------:|---------------:|"
	for ((r = 1; r <= RUNS; r++)); do
		topic=siemfwd-bench-indexer-$$-$r-$(date +%s)
		fill "$topic"
		run_indexer "$topic"
		idx=$RESULT
		run_direct
		dir=$RESULT
		echo "$idx $dir" >>"$SCRATCH/results"
		# shellcheck disable=SC2086 # two numbers each
		printf '| %3d | %16s | %15s | %15s | %14s |\n' "$r" $idx $dir
	done
	local ie ic de dc
	ie=$(awk '{print $1}' "$SCRATCH/results" | median)
	ic=$(awk '{print $2}' "$SCRATCH/results" | median)
	de=$(awk '{print $3}' "$SCRATCH/results" | median)
	dc=$(awk '{print $4}' "$SCRATCH/results" | median)
	printf '| median | %13s | %15s | %15s | %14s |\n' "$ie" "$ic" "$de" "$dc"
	awk -v ie="$ie" -v ic="$ic" -v de="$de" -v dc="$dc" 'BEGIN {
		printf "indexer/direct: events/s %.2f, CPU-s/M %.2f (target: events/s >= 0.80, CPU-s/M <= 1.20)\n", ie / de, ic / dc }'
}

main "$@"
