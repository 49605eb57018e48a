#!/usr/bin/env bash
# End-to-end load test of the file source and the disk buffer (BENCHMARKS.md,
# "file → stdout"): siemfwd reads a file of N Kerio Connect security lines that is
# already on disk and writes them with the stdout sink to a file, in three
# modes:
#
#   plain     file source -> stdout sink
#   interval  the same with buffer: {type: disk, sync: interval, sync_interval: 100ms}
#   batch     the same with buffer: {type: disk, sync: batch}
#
# The input is made once from loadgen's messages with the syslog header
# stripped. Every run gets fresh state and data directories, all on tmpfs (so
# the disk buffer's figure is its CPU cost, not fsync latency).
#
#   lines/s  N / (mtime of the output's last write - siemfwd's start); the
#            elapsed time includes start-up
#   CPU-s/M  siemfwd's utime+stime from /proc/PID/stat, per million lines
#   VmHWM    peak resident set
# Each mode's figures are the medians of RUNS runs; the last lines give the
# disk/plain throughput ratios the issue's target is about.
#
#   scripts/bench/file.sh
#   RUNS=5 MODES="plain interval" N=1000000 scripts/bench/file.sh
#   SIEMFWD_BIN=/some/copy/siemfwd LOADGEN=/some/copy/loadgen scripts/bench/file.sh
#
# Without SIEMFWD_BIN, siemfwd is built into the scratch directory, so a
# rebuild of the work tree during the runs cannot change it.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-3}
MODES=${MODES:-plain interval batch}
PROTO="file" # for wait_output: every line must arrive

# config MODE DIR: the siemfwd configuration of one run.
config() {
	local mode=$1 dir=$2 buffer=""
	case $mode in
	plain) ;;
	interval) buffer="buffer: {type: disk, max_bytes: 4294967296, sync: interval, sync_interval: 100ms}" ;;
	batch) buffer="buffer: {type: disk, max_bytes: 4294967296, sync: batch}" ;;
	*)
		echo "unknown mode $mode" >&2
		return 1
		;;
	esac
	cat <<EOF
log: {level: warn, format: text}
pipeline: {data_dir: "$dir/data"}
sources:
  kerio_files:
    type: file
    paths: ["$SCRATCH/in/*.log"]
    state_dir: "$dir/state"
    product: kerio_connect
    start_at: beginning
    timezone: UTC
sinks:
  out: {type: stdout, $buffer}
EOF
}

# run_mode MODE RUN: one measured run; prints a table row and appends
# "mode lines/s cpu-s/M rss-MiB" to $SCRATCH/results.
run_mode() {
	local mode=$1 run=$2 dir=$SCRATCH/run-$1-$2
	mkdir -p "$dir"
	config "$mode" "$dir" >"$dir/siemfwd.yaml"
	local out=$dir/out.ndjson start_ns pid
	start_ns=$(date +%s%N)
	"$SIEMFWD_BIN" run -c "$dir/siemfwd.yaml" >"$out" 2>>"$SCRATCH/siemfwd.stderr" &
	RECEIVER_PID=$!
	pid=$RECEIVER_PID
	wait_output "$out" "$N"
	local cpu rss lines end_ns
	cpu=$(cpu_ticks "$pid")
	rss=$(peak_rss_kib "$pid")
	collect_output "$out"
	lines=$OUT_LINES end_ns=$OUT_END_NS
	rm -rf "$dir"
	if ((lines != N)); then echo "$mode run $run: $lines lines arrived, want $N" >&2; fi
	awk -v m="$mode" -v r="$run" -v l="$lines" -v t0="$start_ns" -v t1="$end_ns" -v c="$cpu" -v hz="$CLK_TCK" \
		-v rss="$rss" -v results="$SCRATCH/results" 'BEGIN {
		el = (t1 - t0) / 1e9; if (el <= 0) el = 1e-9
		cpu = c / hz
		printf "| %-8s | %3d | %9d | %7.2f | %9.0f | %6.2f | %7.2f | %7.1f |\n", m, r, l, el, l / el, cpu, cpu / (l / 1e6), rss / 1024
		printf "%s %.0f %.3f %.1f\n", m, l / el, cpu / (l / 1e6), rss / 1024 >> results
	}'
}

# summary: medians per mode, and each disk mode's throughput relative to plain.
summary() {
	echo
	echo "| mode     | runs | median lines/s | median CPU-s/M | median VmHWM MiB | lines/s vs plain |"
	echo "|----------|-----:|---------------:|---------------:|-----------------:|-----------------:|"
	local mode
	for mode in $MODES; do
		awk -v m="$mode" '$1 == m { print $2, $3, $4 }' "$SCRATCH/results" | sort -n -k1,1 >"$SCRATCH/m1"
		local n med_rate med_cpu med_rss
		n=$(wc -l <"$SCRATCH/m1")
		((n > 0)) || continue
		med_rate=$(awk -v n="$n" 'NR == int((n + 1) / 2) { print $1 }' "$SCRATCH/m1")
		med_cpu=$(sort -n -k2,2 "$SCRATCH/m1" | awk -v n="$n" 'NR == int((n + 1) / 2) { print $2 }')
		med_rss=$(sort -n -k3,3 "$SCRATCH/m1" | awk -v n="$n" 'NR == int((n + 1) / 2) { print $3 }')
		echo "$mode $med_rate" >>"$SCRATCH/medians"
		local plain
		plain=$(awk '$1 == "plain" { print $2 }' "$SCRATCH/medians")
		awk -v m="$mode" -v n="$n" -v r="$med_rate" -v c="$med_cpu" -v s="$med_rss" -v p="${plain:-0}" 'BEGIN {
			ratio = (p > 0 && m != "plain") ? sprintf("%.0f %%", 100 * r / p) : "-"
			printf "| %-8s | %4d | %14.0f | %14.2f | %16.1f | %16s |\n", m, n, r, c, s, ratio
		}'
	done
}

main() {
	bench_scratch
	trap bench_cleanup EXIT
	build_loadgen
	if [[ -z ${SIEMFWD_BIN:-} ]]; then
		SIEMFWD_BIN=$SCRATCH/siemfwd
		(cd "$BENCH_ROOT" && go build -o "$SIEMFWD_BIN" ./cmd/siemfwd)
	fi
	mkdir -p "$SCRATCH/in"
	"$LOADGEN" -print -n "$N" -format rfc3164 -seed 1 | sed 's/^[^]]*\]: //' >"$SCRATCH/in/security.log"
	echo "input: $N lines, $(stat -c %s "$SCRATCH/in/security.log") bytes; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%F %T') UTC"
	echo
	echo "| mode     | run |     lines | elapsed |   lines/s |  CPU s | CPU-s/M | VmHWM MiB |"
	echo "|----------|----:|----------:|--------:|----------:|-------:|--------:|----------:|"
	local run mode
	# Modes alternate within each round, so a burst of load from elsewhere
	# hits all of them rather than one.
	for ((run = 1; run <= RUNS; run++)); do
		for mode in $MODES; do
			run_mode "$mode" "$run"
		done
	done
	summary
}

main "$@"
