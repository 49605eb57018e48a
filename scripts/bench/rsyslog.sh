#!/usr/bin/env bash
# End-to-end load test of rsyslog as the reference receiver: the same
# scenarios as siemfwd.sh (see lib.sh), on 127.0.0.1 high ports, output one
# ECS-style JSON line per message to a file on tmpfs.
#
#   scripts/bench/rsyslog.sh                 # N=2000000, all scenarios
#   N=500000 SCENARIOS="tcp-lf-5424:tcp:rfc5424:lf:0" scripts/bench/rsyslog.sh
#
# rsyslogd is installed from Debian if missing and always started by hand
# (rsyslogd -n -f FILE -i PIDFILE), never as a service, and stopped by PID.
# Ports: RSYSLOG_TCP_PORT (default 55140), RSYSLOG_UDP_PORT (default 55141).
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

RSYSLOG_TCP_PORT=${RSYSLOG_TCP_PORT:-55140}
RSYSLOG_UDP_PORT=${RSYSLOG_UDP_PORT:-55141}
TEMPLATE=$BENCH_ROOT/scripts/bench/rsyslog.conf.tmpl

install_rsyslog() {
	command -v rsyslogd >/dev/null && return 0
	echo "installing rsyslog (apt-get)" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsyslog >/dev/null
}

receiver_port() {
	if [[ $1 == udp ]]; then echo "$RSYSLOG_UDP_PORT"; else echo "$RSYSLOG_TCP_PORT"; fi
}

# write_conf PROTO OUT CONF: fill the template's placeholders.
write_conf() {
	local proto=$1 out=$2 conf=$3 module input opts work=$SCRATCH/rsyslog-work
	mkdir -p "$work"
	if [[ $proto == udp ]]; then
		# One input thread, recvmmsg batches of 128, 4 MiB receive buffer:
		# rsyslog's own high-rate UDP example scaled to 2 cores.
		# RSYSLOG_UDP_RCVBUF changes the buffer, for runs at equal buffers.
		module='module(load="imudp" threads="1" batchSize="128" timeRequery="8")'
		input=imudp
		opts="rcvbufSize=\"${RSYSLOG_UDP_RCVBUF:-4m}\""
	else
		# imptcp accepts LF and octet-counted framing on the same port.
		module='module(load="imptcp" threads="1")'
		input=imptcp
		opts=''
	fi
	# Buffered writes flushed at the end of each dequeued batch: the output
	# file's mtime then marks the last line, which the rate is computed from.
	# asyncWriting="on" would leave the tail in its buffer for up to
	# flushInterval (1 s at least), inflating short runs.
	local action="  action(type=\"omfile\" file=\"$out\" template=\"ecsjson\" asyncWriting=\"off\" flushOnTXEnd=\"on\" ioBufferSize=\"256k\")"
	sed -e "s|@WORK@|$work|" -e "s|@MODULE@|$module|" -e "s|@ACTION@|$action|" \
		-e "s|@INPUT@|$input|" -e "s|@PORT@|$(receiver_port "$proto")|" -e "s|@INPUTOPTS@|$opts|" \
		"$TEMPLATE" >"$conf"
	if grep -q '@[A-Z]*@' "$conf"; then
		echo "unfilled placeholder in $conf" >&2
		return 1
	fi
}

start_receiver() {
	local proto=$1 out=$2 conf=$SCRATCH/rsyslog-$1.conf
	write_conf "$proto" "$out" "$conf"
	rsyslogd -n -f "$conf" -i "$SCRATCH/rsyslog.pid" >"$SCRATCH/rsyslog.stderr" 2>&1 &
	RECEIVER_PID=$!
	wait_listening "$proto" "$(receiver_port "$proto")" "$RECEIVER_PID"
}

main() {
	install_rsyslog
	bench_scratch
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	build_loadgen
	echo "rsyslog $(rsyslogd -v | head -1 | awk '{print $2}'), N=$N, $(nproc) cores" >&2
	run_all rsyslog
}

main "$@"
