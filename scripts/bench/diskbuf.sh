#!/usr/bin/env bash
# A disk-buffered Kafka sink next to a memory-buffered one (issue 13,
# finding 8): the same load through scripts/bench/kafka.sh, runs alternating
# memory, disk, memory, disk, ... so both see the same machine. Target: the
# disk buffer's events/s within 25 % of memory's, and as many events per
# Write (before the fix a disk-buffered sink made one Write per source batch).
#
#   BROKER=127.0.0.1:29092 N=200000 RUNS=3 scripts/bench/diskbuf.sh
#
# Every kafka.sh variable applies (N, PARTITIONS, COMPRESSION, BROKER, ...).
# BENCH_DIR puts the disk buffer on a real disk (the default scratch place
# is /dev/shm when there is one, which makes fsync free).
set -euo pipefail
RUNS=${RUNS:-3}
here=$(dirname "$0")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((i = 1; i <= RUNS; i++)); do
	for buffer in memory disk; do
		BUFFER=$buffer RUNS=1 "$here/kafka.sh" | grep '^| *1 |' | sed "s/^| *1 |/| $buffer $i |/" | tee -a "$out"
	done
done
# Column 5 is events/s, column 11 events/Write (kafka.sh's table).
for buffer in memory disk; do
	grep "^| $buffer " "$out" | awk -F'|' -v b="$buffer" '{print $5, $11}' | sort -g |
		awk -v b="$buffer" '{e[NR] = $1; w[NR] = $2} END {m = int((NR + 1) / 2); printf "%s: median events/s %.0f, events/Write %.0f\n", b, e[m], w[m]}'
done
