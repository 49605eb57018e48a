#!/usr/bin/env bash
# The two tiers of docs/scaling.md side by side (issues #7 and #17): the edge
# that fills a topic, an indexer consuming it, and one siemfwd receiving the
# same lines over TCP directly; optionally indexers into Elasticsearch with
# one and with more members in one consumer group.
#
#   scripts/bench/indexer.sh                    # N=1000000 RUNS=3, needs a broker
#   KAFKA=127.0.0.1:9092 N=500000 RUNS=1 scripts/bench/indexer.sh
#   ES=http://127.0.0.1:9200 MEMBERS="1 2" N=300000 scripts/bench/indexer.sh
#
# Per run:
#  1. edge: a fresh topic (PARTITIONS, default 6) is filled by an edge siemfwd
#     (the settings of configs/edge.yaml: Kafka sink in edge mode, lz4, keyed
#     by sender address, disk buffer) fed by loadgen over TCP from SENDERS
#     loopback addresses (default 6, one connection each), so that the
#     records spread over the partitions as several senders' do (one sender's
#     records all land in one partition). events/s = N / (the first 0.5 s
#     poll of the edge's /metrics showing N events acknowledged by the broker
#     - loadgen's first send); its CPU-s/M is over the same span.
#  2. indexer: siemfwd with a kafka source (new group, earliest) reads the
#     topic into a file (stdout sink). events/s = N / (mtime of the output
#     when it holds N lines - time the indexer logged "partitions assigned"),
#     so the group join (a few seconds of Kafka's rebalance delay) is not
#     counted as consuming time; its CPU-s/M is over its whole life.
#  3. direct: siemfwd with a syslog TCP source, fed by the same loadgen
#     command. events/s = N / (mtime of the output - loadgen's first send).
#  4. with ES set, for each M in MEMBERS: M indexers in a new group read the
#     topic into Elasticsearch (data streams of a namespace of their own,
#     deleted afterwards). events/s = N / (the first 0.5 s poll of _count
#     showing N documents - the first member's "partitions assigned"); CPU-s/M
#     is the members' together; the node's CPU-s/M and its share of the
#     machine (node CPU time / (elapsed x cores)) come from the process that
#     listens on ES's port.
# CPU-s/M is utime+stime (/proc/PID/stat) per million events; the broker and
# loadgen are not counted. Printed: each run, then the medians of RUNS runs,
# the ratios indexer/direct (target of issue #7: within 20 %) and
# edge/indexer (target of issue #17: at most 0.5).
#
# Environment: N, RUNS, KAFKA (brokers, default 127.0.0.1:9092), PARTITIONS,
# SENDERS, ES, MEMBERS (default "1 2"), SIEMFWD_BIN, LOADGEN, BENCH_DIR,
# KEEP_TOPICS=1 (do not delete the topics), and the ports INDEXER_BENCH_PORT
# (edge and direct TCP, default 55160), INDEXER_BENCH_ADMIN (admin of the
# edge, default 55161) and INDEXER_BENCH_ADMIN2 (admin of the first
# Elasticsearch member, the next ones counting up; default 55162).
N=${N:-1000000}
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-3}
KAFKA=${KAFKA:-127.0.0.1:9092}
PARTITIONS=${PARTITIONS:-6}
SENDERS=${SENDERS:-6}
ES=${ES:-}
MEMBERS=${MEMBERS:-1 2}
SIEMFWD_BIN=${SIEMFWD_BIN:-$BENCH_ROOT/bin/siemfwd}
PORT=${INDEXER_BENCH_PORT:-55160}
ADMIN=${INDEXER_BENCH_ADMIN:-55161}
ADMIN2=${INDEXER_BENCH_ADMIN2:-55162}
KAFKA_CLI=$BENCH_ROOT/scripts/testenv/kafka-run-class
export PROTO=tcp # read by wait_output
LOADGEN_ARGS=(-proto tcp -format rfc5424 -framing lf -seed 1 -conns "$SENDERS" -senders "$SENDERS")
TOPICS=()
ES_PIDS=()

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
    default_topic: $1
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

es_indexer_config() { # TOPIC GROUP NAMESPACE ADMIN_PORT
	cat <<EOF
log: {level: info, format: json}
admin: {address: "127.0.0.1:$4"}
pipeline: {namespace: $3}
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
  elasticsearch:
    type: elasticsearch
    addresses: ["$ES"]
    when_full: block
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

# rate T0_NS T1_NS TICKS: "events/s CPU-s/M" of N events over T0..T1.
rate() {
	awk -v n="$N" -v t0="$1" -v t1="$2" -v c="$3" -v hz="$CLK_TCK" \
		'BEGIN { el = (t1 - t0) / 1e9; if (el <= 0) el = 1e-9; printf "%.0f %.2f\n", n / el, (c / hz) / (n / 1e6) }'
}

# fill TOPIC: the topic holds N edge records when it returns; RESULT is the
# edge's "events/s CPU-s/M".
fill() {
	local topic=$1 dir=$SCRATCH/edge-$1 i sent summary t0 t1 cpu0 cpu1
	mkdir -p "$dir/data"
	"$KAFKA_CLI" topics --bootstrap-server "$KAFKA" --create --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1 >/dev/null
	TOPICS+=("$topic")
	edge_config "$topic" "$dir/data" >"$dir/edge.yaml"
	"$SIEMFWD_BIN" run -c "$dir/edge.yaml" >/dev/null 2>>"$SCRATCH/edge.stderr" &
	RECEIVER_PID=$!
	wait_listening tcp "$PORT" "$RECEIVER_PID"
	cpu0=$(cpu_ticks "$RECEIVER_PID")
	summary=$("$LOADGEN" "${LOADGEN_ARGS[@]}" -addr "127.0.0.1:$PORT" -n "$N")
	t0=$(sed -n 's/.* start_unix_ns=\([0-9]*\).*/\1/p' <<<"$summary")
	for ((i = 0; ; i++)); do
		sent=$(edge_sent || echo 0)
		t1=$(date +%s%N)
		((sent >= N)) && break
		if ((i > MAX_SECS * 2)); then
			echo "edge sent only $sent of $N events to $topic after ${MAX_SECS}s" >&2
			return 1
		fi
		sleep 0.5
	done
	cpu1=$(cpu_ticks "$RECEIVER_PID")
	stop_receiver
	RESULT=$(rate "$t0" "$t1" "$((cpu1 - cpu0))")
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
	local out=$1 t0=$2 pid=$RECEIVER_PID cpu lines
	wait_output "$out" "$N"
	cpu=$(cpu_ticks "$pid")
	collect_output "$out"
	lines=$OUT_LINES
	if ((lines < N)); then echo "only $lines of $N lines in $out" >&2; fi
	RESULT=$(rate "$t0" "$OUT_END_NS" "$cpu")
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

# es_count NAMESPACE: documents in the namespace's data streams (0 before
# the first one exists).
es_count() {
	local n
	n=$(curl -fsS --max-time 5 "$ES/logs-*-$1/_count" 2>/dev/null | sed -n 's/.*"count":\([0-9]*\).*/\1/p' || true)
	echo "${n:-0}"
}

# es_pid: the process listening on ES's port.
es_pid() {
	local port=${ES##*:}
	port=${port%%/*}
	ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}

# delete_data_streams NAMESPACE: drop the run's documents (a node without the
# data stream API, as the minimal test build, keeps them under their own names).
delete_data_streams() {
	curl -fsS -X DELETE --max-time 60 "$ES/_data_stream/logs-*-$1" >/dev/null 2>&1 || true
}

# stop_es_indexers: SIGTERM the Elasticsearch members this script started,
# by PID, and wait for them.
stop_es_indexers() {
	local p
	for p in "${ES_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${ES_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ES_PIDS=()
}

# run_es TOPIC MEMBERS: MEMBERS indexers in one new group into Elasticsearch;
# RESULT is "events/s members-CPU-s/M node-CPU-s/M node-%-of-machine".
run_es() {
	local topic=$1 members=$2 ns group logs=() k i t0="" t1 count epid e0 e1 total=0
	ns=bench$$m${members}r$(date +%s)
	group=$topic-es-$members
	epid=$(es_pid)
	if [[ -z $epid ]]; then
		echo "no process listens on the port of $ES" >&2
		return 1
	fi
	e0=$(cpu_ticks "$epid")
	for ((k = 0; k < members; k++)); do
		es_indexer_config "$topic" "$group" "$ns" "$((ADMIN2 + k))" >"$SCRATCH/es-indexer-$k.yaml"
		logs+=("$SCRATCH/es-indexer-$k.log")
		"$SIEMFWD_BIN" run -c "$SCRATCH/es-indexer-$k.yaml" >/dev/null 2>"${logs[k]}" &
		ES_PIDS+=("$!")
	done
	for ((i = 0; i < 600; i++)); do
		for ((k = 0; k < members; k++)); do
			if t0=$(assigned_ns "${logs[k]}"); then break 2; fi
		done
		sleep 0.1
	done
	if [[ -z $t0 ]]; then
		echo "no Elasticsearch member got partitions in 60 s" >&2
		return 1
	fi
	for ((i = 0; ; i++)); do
		count=$(es_count "$ns")
		t1=$(date +%s%N)
		((${count:-0} >= N)) && break
		if ((i > MAX_SECS * 4)); then
			echo "only ${count:-0} of $N documents in Elasticsearch after $((MAX_SECS * 2))s" >&2
			break
		fi
		sleep 0.5
	done
	e1=$(cpu_ticks "$epid")
	for ((k = 0; k < members; k++)); do
		total=$((total + $(cpu_ticks "${ES_PIDS[k]}")))
	done
	stop_es_indexers
	delete_data_streams "$ns"
	RESULT="$(rate "$t0" "$t1" "$total") $(awk -v n="$N" -v t0="$t0" -v t1="$t1" -v e="$((e1 - e0))" -v hz="$CLK_TCK" -v cores="$(nproc)" \
		'BEGIN { el = (t1 - t0) / 1e9; if (el <= 0) el = 1e-9; printf "%.2f %.0f\n", (e / hz) / (n / 1e6), 100 * (e / hz) / (el * cores) }')"
}

delete_topics() {
	local t
	[[ ${KEEP_TOPICS:-} == 1 ]] && return 0
	for t in "${TOPICS[@]}"; do
		"$KAFKA_CLI" topics --bootstrap-server "$KAFKA" --delete --topic "$t" >/dev/null 2>&1 || true
	done
}

# row LABEL NUMBERS...: one table row.
row() {
	local label=$1
	shift
	printf '| %s |' "$label"
	printf ' %s |' "$@"
	echo
}

main() {
	if [[ ! -x $SIEMFWD_BIN ]]; then make -C "$BENCH_ROOT" build >&2; fi
	bench_scratch
	# Run a private copy, so a rebuild of the work tree cannot change the
	# binary between runs.
	cp "$SIEMFWD_BIN" "$SCRATCH/siemfwd"
	SIEMFWD_BIN=$SCRATCH/siemfwd
	trap 'status=$?; stop_receiver; stop_es_indexers; if ((status != 0)); then tail -5 "$SCRATCH"/*.stderr "$SCRATCH"/*.log 2>/dev/null >&2; fi; delete_topics; bench_cleanup' EXIT
	trap 'exit 130' INT TERM
	build_loadgen
	echo "$("$SIEMFWD_BIN" version 2>/dev/null | head -1 || true), N=$N, RUNS=$RUNS, $(nproc) cores, broker $KAFKA, $PARTITIONS partitions, $SENDERS senders${ES:+, Elasticsearch $ES, members $MEMBERS}, load $(cut -d' ' -f1 /proc/loadavg)" >&2
	echo "loadgen ${LOADGEN_ARGS[*]} -n $N" >&2
	local r topic m results i
	local header="| run | edge events/s | edge CPU-s/M | indexer events/s | indexer CPU-s/M | direct events/s | direct CPU-s/M |"
	local rule="|---:|---:|---:|---:|---:|---:|---:|"
	if [[ -n $ES ]]; then
		for m in $MEMBERS; do
			header+=" ES ×$m events/s | ES ×$m members CPU-s/M | ES ×$m node CPU-s/M | ES ×$m node % of machine |"
			rule+="---:|---:|---:|---:|"
		done
	fi
	echo "$header"
	echo "$rule"
	for ((r = 1; r <= RUNS; r++)); do
		topic=siemfwd-bench-indexer-$$-$r-$(date +%s)
		fill "$topic"
		results=$RESULT
		run_indexer "$topic"
		results+=" $RESULT"
		run_direct
		results+=" $RESULT"
		if [[ -n $ES ]]; then
			for m in $MEMBERS; do
				run_es "$topic" "$m"
				results+=" $RESULT"
			done
		fi
		echo "$results" >>"$SCRATCH/results"
		# shellcheck disable=SC2086 # a list of numbers
		row "$r" $results
	done
	local med=()
	for ((i = 1; i <= $(head -1 "$SCRATCH/results" | wc -w); i++)); do
		med+=("$(awk -v c="$i" '{print $c}' "$SCRATCH/results" | median)")
	done
	row median "${med[@]}"
	# Ratios are taken per run (the edge and its indexers share a run's load), then their median.
	local edge_idx
	edge_idx=$(awk '{print $2 / $4}' "$SCRATCH/results" | median)
	awk -v ie="${med[2]}" -v ic="${med[3]}" -v de="${med[4]}" -v dc="${med[5]}" -v r="$edge_idx" 'BEGIN {
		printf "indexer/direct: events/s %.2f, CPU-s/M %.2f (target of #7: events/s >= 0.80, CPU-s/M <= 1.20)\n", ie / de, ic / dc
		printf "edge/indexer (stdout) CPU-s/M, median of the runs: %.2f (target of #17: <= 0.50)\n", r }'
	i=8
	for m in ${ES:+$MEMBERS}; do
		edge_idx=$(awk -v c="$i" '{print $2 / $c}' "$SCRATCH/results" | median)
		awk -v m="$m" -v e="${med[i - 2]}" -v r="$edge_idx" 'BEGIN {
			printf "Elasticsearch, %d member(s): %s events/s; edge/indexers CPU-s/M, median of the runs: %.2f\n", m, e, r }'
		i=$((i + 4))
	done
}

main "$@"
