#!/usr/bin/env bash
# End-to-end load test of siemfwd: the same scenarios as rsyslog.sh (see
# lib.sh), with the stdout sink redirected to a file on tmpfs.
#
#   scripts/bench/siemfwd.sh                 # builds bin/siemfwd if missing
#   SIEMFWD_BIN=bin/siemfwd N=500000 scripts/bench/siemfwd.sh
#
# Ports: SIEMFWD_TCP_PORT (default 55150), SIEMFWD_UDP_PORT (default 55151).
# siemfwd stops on SIGTERM after draining; it is stopped by its PID.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

SIEMFWD_TCP_PORT=${SIEMFWD_TCP_PORT:-55150}
SIEMFWD_UDP_PORT=${SIEMFWD_UDP_PORT:-55151}
SIEMFWD_BIN=${SIEMFWD_BIN:-$BENCH_ROOT/bin/siemfwd}
SIEMFWD_ADMIN_PORT=${SIEMFWD_ADMIN_PORT:-55152}

# CONFIG is the siemfwd configuration; @TCP_PORT@ and @UDP_PORT@ are filled
# in. Keep it next to the top so a change of the config format is a one-place
# fix. Logs go to stderr (kept in the scratch directory), never to the output.
CONFIG='
log:
  level: warn
  format: text
admin: {address: "127.0.0.1:@ADMIN_PORT@"}
sources:
  bench_tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:@TCP_PORT@"}
  bench_udp: {type: syslog, protocol: udp, address: "127.0.0.1:@UDP_PORT@"}
sinks:
  out: {type: stdout}
'

receiver_port() {
	if [[ $1 == udp ]]; then echo "$SIEMFWD_UDP_PORT"; else echo "$SIEMFWD_TCP_PORT"; fi
}

build_siemfwd() {
	if [[ ! -x $SIEMFWD_BIN ]]; then
		echo "building $SIEMFWD_BIN (make build)" >&2
		make -C "$BENCH_ROOT" build >&2
	fi
}

start_receiver() {
	local proto=$1 out=$2 conf=$SCRATCH/siemfwd.yaml
	sed -e "s/@TCP_PORT@/$SIEMFWD_TCP_PORT/" -e "s/@UDP_PORT@/$SIEMFWD_UDP_PORT/" -e "s/@ADMIN_PORT@/$SIEMFWD_ADMIN_PORT/" <<<"$CONFIG" >"$conf"
	"$SIEMFWD_BIN" run -c "$conf" >"$out" 2>>"$SCRATCH/siemfwd.stderr" &
	RECEIVER_PID=$!
	wait_listening "$proto" "$(receiver_port "$proto")" "$RECEIVER_PID"
}

# receiver_dropped: events siemfwd's sources counted as dropped (all reasons),
# from siemfwd_source_dropped_events_total on the admin /metrics endpoint.
receiver_dropped() {
	curl -fsS --max-time 5 "http://127.0.0.1:$SIEMFWD_ADMIN_PORT/metrics" |
		awk '/^siemfwd_source_dropped_events_total[{ ]/ {s += $NF} END {printf "%d\n", s}'
}

main() {
	build_siemfwd
	bench_begin
	echo "$("$SIEMFWD_BIN" version 2>/dev/null | head -1 || true), N=$N, $(nproc) cores" >&2
	run_all siemfwd
}

main "$@"
