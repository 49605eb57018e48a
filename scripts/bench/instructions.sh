#!/usr/bin/env bash
# Instructions per event of the whole receiver process for one TCP scenario,
# counted by valgrind's cachegrind: unlike CPU time, the count does not move
# with the machine's load, so it compares binaries on a busy machine
# (BENCHMARKS.md, the performance guard).
#
# Per binary and run: a fresh siemfwd under cachegrind (TCP source, stdout
# sink to tmpfs) receives N1 events from loadgen -seed 1, is stopped, and
# again with N2 events; (Ir(N2) - Ir(N1)) / (N2 - N1) cancels start-up and
# shutdown. The collector runs as configured (runtime.gc_percent 400), so
# its share counts; it varies by a few hundred instructions per event
# between runs (when a cycle starts), so compare medians of RUNS. With
# GOGC=off the count leaves the collector out and repeats to ~0.1 %.
#
#   scripts/bench/instructions.sh                                   # bin/siemfwd
#   BINS="/tmp/old/siemfwd bin/siemfwd" RUNS=3 scripts/bench/instructions.sh
#   FRAMING=lf GOGC=off scripts/bench/instructions.sh
#
# Environment (all optional): BINS (binaries, measured in turn per run),
# RUNS (1), N1 (50000), N2 (250000), FORMAT (rfc5424), FRAMING (octet),
# SIEMFWD_TCP_PORT (55160), SIEMFWD_ADMIN_PORT (55162), LOADGEN, OUT (keeps
# the cachegrind files there, for cg_annotate; default: discarded).
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

BINS=${BINS:-$BENCH_ROOT/bin/siemfwd}
RUNS=${RUNS:-1}
N1=${N1:-50000}
N2=${N2:-250000}
FORMAT=${FORMAT:-rfc5424}
FRAMING=${FRAMING:-octet}
SIEMFWD_TCP_PORT=${SIEMFWD_TCP_PORT:-55160}
SIEMFWD_ADMIN_PORT=${SIEMFWD_ADMIN_PORT:-55162}
PROTO=tcp # for wait_output: every event must arrive
MAX_SECS=${MAX_SECS:-$((60 + N2 / 2000))}

# instructions BIN N CGOUT: the instructions of one receiver run with N events.
instructions() {
	local bin=$1 n=$2 cgout=$3 out=$SCRATCH/out
	cat >"$SCRATCH/siemfwd.yaml" <<-EOF
		log: {level: warn, format: text}
		admin: {address: "127.0.0.1:$SIEMFWD_ADMIN_PORT"}
		sources:
		  bench_tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:$SIEMFWD_TCP_PORT"}
		sinks:
		  out: {type: stdout}
	EOF
	valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$cgout" \
		"$bin" run -c "$SCRATCH/siemfwd.yaml" >"$out" 2>>"$SCRATCH/siemfwd.stderr" &
	RECEIVER_PID=$!
	wait_listening tcp "$SIEMFWD_TCP_PORT" "$RECEIVER_PID"
	"$LOADGEN" -proto tcp -addr "127.0.0.1:$SIEMFWD_TCP_PORT" -format "$FORMAT" -framing "$FRAMING" -n "$n" -seed 1 >/dev/null
	wait_output "$out" "$n"
	collect_output "$out"
	if ((OUT_LINES != n)); then
		echo "$bin: $OUT_LINES lines written of $n sent" >&2
		return 1
	fi
	awk '/^summary:/ {print $2}' "$cgout"
}

main() {
	command -v valgrind >/dev/null || {
		echo "valgrind is not installed" >&2
		exit 1
	}
	bench_begin
	local keep=${OUT:-$SCRATCH} r bin i1 i2
	mkdir -p "$keep"
	echo "$FORMAT $FRAMING over TCP, N1=$N1 N2=$N2, GOGC=${GOGC:-(config)}, $(valgrind --version)"
	echo "| run | binary | instructions/event |"
	echo "|---:|---|---:|"
	for ((r = 1; r <= RUNS; r++)); do
		for bin in $BINS; do
			i1=$(instructions "$bin" "$N1" "$keep/$(basename "$bin")-$r-$N1.cg")
			i2=$(instructions "$bin" "$N2" "$keep/$(basename "$bin")-$r-$N2.cg")
			printf '| %d | %s | %d |\n' "$r" "$bin" $(((i2 - i1) / (N2 - N1)))
		done
	done
}

main "$@"
