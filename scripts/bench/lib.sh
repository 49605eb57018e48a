# shellcheck shell=bash
# Shared harness for the end-to-end load tests in scripts/bench: sourced by
# rsyslog.sh and siemfwd.sh, which define how to start their receiver.
#
# One scenario = start a fresh receiver (so its CPU time and peak RSS belong
# to that scenario alone), send N messages with cmd/loadgen, wait until the
# receiver's output file stops growing, then read:
#   msgs/s   lines written / (mtime of the output file - loadgen's first send)
#   CPU-s/M  receiver utime+stime from /proc/PID/stat, per million lines
#   RSS      VmHWM from /proc/PID/status (peak resident set)
#   loss     N - lines (UDP; for TCP anything but 0 is a bug)
#   sent/s   what loadgen achieved; below the paced rate means the sender, not
#            the receiver, was short of CPU
# Using the file's mtime as the end, instead of when the poll noticed it, keeps
# the polling interval out of the figure. Polling reads only the file size:
# counting lines of gigabytes of JSON on every poll would steal a core from
# the receiver on a 2-core machine.
#
# Environment (all optional):
#   N            messages per scenario (default 2000000)
#   SCENARIOS    space-separated list of NAME:PROTO:FORMAT:FRAMING:RATE, default below
#   BENCH_DIR    scratch directory on tmpfs (default /dev/shm, else $TMPDIR)
#   RESULTS      file to append tab-separated results to (compare.sh sets it)
#   SETTLE_SECS  seconds the output must stay the same size to count as done (default 2)
#   MAX_SECS     upper bound on one scenario's wait (default 60 + N/20000)

set -euo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${N:-2000000}
SETTLE_SECS=${SETTLE_SECS:-2}
MAX_SECS=${MAX_SECS:-$((60 + N / 20000))}
DEFAULT_SCENARIOS="tcp-lf-5424:tcp:rfc5424:lf:0 tcp-octet-5424:tcp:rfc5424:octet:0 tcp-lf-3164:tcp:rfc3164:lf:0 udp-3164-100k:udp:rfc3164:lf:100000 udp-3164-150k:udp:rfc3164:lf:150000 udp-3164-200k:udp:rfc3164:lf:200000 udp-3164-250k:udp:rfc3164:lf:250000"
SCENARIOS=${SCENARIOS:-$DEFAULT_SCENARIOS}
CLK_TCK=$(getconf CLK_TCK)

# RECEIVER_PID is the receiver currently running, stopped by the EXIT trap if
# the script fails or is interrupted. Only processes this script started are
# ever signalled, and only by their PID.
RECEIVER_PID=""

bench_scratch() {
	local base=${BENCH_DIR:-}
	if [[ -z $base ]]; then
		if [[ -d /dev/shm && -w /dev/shm ]]; then base=/dev/shm; else base=${TMPDIR:-/tmp}; fi
	fi
	SCRATCH=$(mktemp -d "$base/siemfwd-bench.XXXXXX")
}

# bench_begin: a scratch directory, clean-up on exit (with the tail of
# siemfwd's log when the run failed: it says why) and loadgen.
bench_begin() {
	bench_scratch
	trap 'status=$?; if ((status != 0)) && [[ -s $SCRATCH/siemfwd.stderr ]]; then tail -20 "$SCRATCH/siemfwd.stderr" >&2; fi; bench_cleanup' EXIT
	trap 'exit 130' INT TERM
	build_loadgen
}

bench_cleanup() {
	stop_receiver
	if [[ -n ${SCRATCH:-} && -d $SCRATCH ]]; then rm -rf "$SCRATCH"; fi
}

# build_loadgen compiles cmd/loadgen once into the scratch directory, unless
# LOADGEN names a binary already built (e.g. copied aside so that later edits
# to the work tree cannot change it during a series of runs).
build_loadgen() {
	if [[ -n ${LOADGEN:-} && -x $LOADGEN ]]; then return 0; fi
	LOADGEN=$SCRATCH/loadgen
	(cd "$BENCH_ROOT" && go build -o "$LOADGEN" ./cmd/loadgen)
}

# udp_rcvbuf_errors: the kernel's count of UDP datagrams dropped because a
# socket's receive buffer was full (RcvbufErrors in /proc/net/snmp), for the
# whole machine: run nothing else on UDP during a scenario.
udp_rcvbuf_errors() {
	awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# cpu_ticks PID: user+system CPU time of the process (all threads) in ticks.
cpu_ticks() {
	# Fields after the ")" that closes the command name: state is $1, so
	# utime and stime (fields 14 and 15 of the whole line) are $12 and $13.
	local rest
	rest=$(sed 's/^.*) //' "/proc/$1/stat")
	awk '{print $12 + $13}' <<<"$rest"
}

# peak_rss_kib PID: VmHWM in KiB.
peak_rss_kib() {
	awk '/^VmHWM:/ {print $2}' "/proc/$1/status"
}

# wait_listening PROTO PORT PID: until something listens on 127.0.0.1:PORT,
# failing if PID exits or 30 s pass.
wait_listening() {
	local proto=$1 port=$2 pid=$3 flag=-Hltn i
	[[ $proto == udp ]] && flag=-Hlun
	for ((i = 0; i < 300; i++)); do
		if ss "$flag" "sport = :$port" | grep -q .; then return 0; fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "receiver (pid $pid) exited before listening on $proto/$port" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "nothing listens on $proto/$port after 30 s" >&2
	return 1
}

# stop_receiver: SIGTERM the receiver, wait up to 15 s, then SIGKILL it.
stop_receiver() {
	local pid=$RECEIVER_PID i
	[[ -z $pid ]] && return 0
	RECEIVER_PID=""
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "receiver pid $pid ignored SIGTERM for 15 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# median: the median of the numbers on stdin, one per line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# collect_output FILE: stop the receiver, then set OUT_LINES to the lines in
# FILE and OUT_END_NS to the time of its last write (the run's end), and
# delete FILE.
collect_output() {
	stop_receiver
	OUT_LINES=$(wc -l <"$1")
	OUT_END_NS=$(stat -c %.9Y "$1" | tr -d .)
	rm -f "$1"
}

# wait_output FILE EXPECTED: return when FILE holds EXPECTED lines, or has not
# grown for SETTLE_SECS and either has fewer lines than expected after the
# sender finished (UDP loss), or MAX_SECS passed. Lines are counted only once
# the size is stable.
wait_output() {
	local file=$1 expected=$2 deadline size last=-1 stable_since now lines
	deadline=$(($(date +%s) + MAX_SECS))
	stable_since=$(date +%s%N)
	while :; do
		size=$(stat -c %s "$file" 2>/dev/null || echo 0)
		now=$(date +%s%N)
		if [[ $size != "$last" ]]; then
			last=$size
			stable_since=$now
		elif ((now - stable_since >= SETTLE_SECS * 1000000000)); then
			lines=$(wc -l <"$file")
			if ((lines >= expected)) || [[ $PROTO == udp ]]; then return 0; fi
			# TCP: a receiver may hold a partial buffer until its flush
			# timer; keep waiting until the deadline.
		fi
		if (($(date +%s) >= deadline)); then
			echo "timed out after ${MAX_SECS}s waiting for $expected lines in $file" >&2
			return 0
		fi
		sleep 0.2
	done
}

# run_scenario RECEIVER SPEC: one measured run. The caller defines
# start_receiver PROTO OUTFILE (sets RECEIVER_PID, returns when listening)
# and receiver_port PROTO.
run_scenario() {
	local receiver=$1 spec=$2 name proto format framing rate
	IFS=: read -r name proto format framing rate <<<"$spec"
	PROTO=$proto
	local out=$SCRATCH/$receiver-$name.out port
	port=$(receiver_port "$proto")
	rm -f "$out"
	start_receiver "$proto" "$out"
	local pid=$RECEIVER_PID cpu0 summary kdrop0
	kdrop0=$(udp_rcvbuf_errors)
	cpu0=$(cpu_ticks "$pid")

	local cmd=("$LOADGEN" -proto "$proto" -addr "127.0.0.1:$port" -format "$format" -framing "$framing" -n "$N" -rate "$rate" -seed 1)
	summary=$("${cmd[@]}")
	local start_ns send_rate
	start_ns=$(sed -n 's/.* start_unix_ns=\([0-9]*\).*/\1/p' <<<"$summary")
	# The sender's own rate shows when a paced run could not keep its pace
	# (a busy machine) rather than the receiver falling behind.
	send_rate=$(sed -n 's/.* rate=\([0-9]*\) .*/\1/p' <<<"$summary")
	wait_output "$out" "$N"

	local cpu1 rss lines end_ns kdrop own_drop=-
	cpu1=$(cpu_ticks "$pid")
	rss=$(peak_rss_kib "$pid")
	kdrop=$(($(udp_rcvbuf_errors) - kdrop0))
	# A receiver script may define receiver_dropped: the drops the receiver
	# itself counted (e.g. from its metrics), read before it stops.
	if declare -F receiver_dropped >/dev/null; then own_drop=$(receiver_dropped || echo -); fi
	collect_output "$out"
	lines=$OUT_LINES end_ns=$OUT_END_NS

	awk -v r="$receiver" -v s="$name" -v n="$N" -v l="$lines" -v t0="$start_ns" -v t1="$end_ns" \
		-v c0="$cpu0" -v c1="$cpu1" -v hz="$CLK_TCK" -v rss="$rss" -v rate="$rate" -v sr="$send_rate" -v results="${RESULTS:-}" -v kdrop="$kdrop" -v odrop="$own_drop" \
		-v cmd="${cmd[*]/#$SCRATCH\//}" '
	BEGIN {
		el = (t1 - t0) / 1e9; if (el <= 0) el = 1e-9
		cpu = (c1 - c0) / hz
		loss = n - l
		row = sprintf("| %-8s | %-15s | %8d | %9d | %8d | %6.2f%% | %7.2f | %9.0f | %6.1f | %6.2f | %7.1f |",
			r, s, n, sr, l, 100 * loss / n, el, l / el, cpu, (l > 0 ? cpu / (l / 1e6) : 0), rss / 1024)
		print row
		if (loss != 0) printf "  %s %s: lost %d = kernel receive-buffer drops %d + receiver-counted drops %s + unaccounted %s\n", r, s, loss, kdrop, odrop, (odrop == "-" ? "?" : loss - kdrop - odrop) > "/dev/stderr"
		if (results != "") {
			printf "%s\t%s\t%d\t%d\t%d\t%.3f\t%.0f\t%.2f\t%.3f\t%.1f\t%s\t%s\t%s\t%s\n", r, s, rate, n, l, el, l / el, cpu,
				(l > 0 ? cpu / (l / 1e6) : 0), rss / 1024, cmd, kdrop, odrop, sr >> results
		}
	}'
}

print_header() {
	echo "| receiver | scenario        |     sent |    sent/s | received |   loss | elapsed |     msg/s |  CPU s | CPU-s/M | RSS MiB |"
	echo "|----------|-----------------|---------:|----------:|---------:|-------:|--------:|----------:|-------:|--------:|--------:|"
}

# run_all RECEIVER: every scenario in SCENARIOS.
run_all() {
	local receiver=$1 spec
	print_header
	for spec in $SCENARIOS; do
		run_scenario "$receiver" "$spec"
	done
}
