#!/usr/bin/env bash
# Side-by-side end-to-end comparison of siemfwd and rsyslog on this machine,
# for BENCHMARKS.md: same N, same messages (loadgen -seed 1), same scenarios,
# run back to back. Prints markdown: the machine, the raw rows, a summary with
# ratios, the UDP loss per paced rate, and the exact commands.
#
#   scripts/bench/compare.sh                      # N=2000000
#   N=500000 scripts/bench/compare.sh
#   UDP_RATES="100000 150000 200000 250000" scripts/bench/compare.sh
#
# Messages per second vary a lot between runs on a shared 2-core machine;
# CPU seconds per million messages is the steadier figure. Compare within one
# run, never against an old number.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
N=${N:-2000000}
UDP_RATES=${UDP_RATES:-100000 150000 200000 250000}
scen="tcp-lf-5424:tcp:rfc5424:lf:0 tcp-octet-5424:tcp:rfc5424:octet:0 tcp-lf-3164:tcp:rfc3164:lf:0"
for r in $UDP_RATES; do scen+=" udp-3164-$((r / 1000))k:udp:rfc3164:lf:$r"; done
SCENARIOS=${SCENARIOS:-$scen}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
export N SCENARIOS RESULTS=$results

echo "## End-to-end: siemfwd vs rsyslog"
echo
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)," \
	"load average at start $(cut -d' ' -f1-3 /proc/loadavg); N=$N per scenario; loadgen on the same cores."
if awk -v c="$(nproc)" '{exit !($1 > c / 2)}' /proc/loadavg; then
	echo
	echo "**Warning:** the machine was already busy (load average above half the cores); figures are not representative."
fi
echo
echo "### Raw rows"
echo
"$here/rsyslog.sh"
"$here/siemfwd.sh" | tail -n +3

echo
echo "Load average at end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "### Summary"
echo
awk -F'\t' '
{
	key = $2; recv[key] = 1; order[key] = order[key] ? order[key] : ++n; names[order[key]] = key
	rate[$1, key] = $7; cpum[$1, key] = $9; rss[$1, key] = $10; loss[$1, key] = $4 - $5; sent[key] = $4
}
END {
	print "| scenario | rsyslog msg/s | siemfwd msg/s | ratio | rsyslog CPU-s/M | siemfwd CPU-s/M | ratio | rsyslog RSS MiB | siemfwd RSS MiB | rsyslog loss | siemfwd loss |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		k = names[i]
		rr = rate["rsyslog", k]; rs = rate["siemfwd", k]; cr = cpum["rsyslog", k]; cs = cpum["siemfwd", k]
		printf "| %s | %.0f | %.0f | %s | %.2f | %.2f | %s | %.1f | %.1f | %.2f%% | %.2f%% |\n", k, rr, rs,
			(rr > 0 ? sprintf("%.2f", rs / rr) : "-"), cr, cs, (cr > 0 ? sprintf("%.2f", cs / cr) : "-"),
			rss["rsyslog", k], rss["siemfwd", k],
			100 * loss["rsyslog", k] / sent[k], 100 * loss["siemfwd", k] / sent[k]
	}
}' "$results"

echo
echo "### UDP: loss per paced rate (highest lossless rate per receiver)"
echo
awk -F'\t' '
$3 > 0 {
	rates[$3] = 1; l[$1, $3] = 100 * ($4 - $5) / $4; seen[$1] = 1
	if ($4 == $5 && $3 > best[$1]) best[$1] = $3
}
END {
	print "| paced rate | rsyslog loss | siemfwd loss |"
	print "|---:|---:|---:|"
	m = 0; for (r in rates) sorted[++m] = r + 0
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
	for (i = 1; i <= m; i++) {
		r = sorted[i]
		printf "| %d/s | %s | %s |\n", r, (("rsyslog", r) in l ? sprintf("%.2f%%", l["rsyslog", r]) : "-"),
			(("siemfwd", r) in l ? sprintf("%.2f%%", l["siemfwd", r]) : "-")
	}
	print ""
	for (x in seen) printf "- %s: highest lossless paced rate tried: %s\n", x, (best[x] ? best[x] "/s" : "none")
}' "$results"

echo
echo "### UDP: drop accounting (sent - received = kernel receive-buffer drops + receiver-counted drops + unaccounted)"
echo
echo "Kernel drops: delta of RcvbufErrors in /proc/net/snmp over the scenario. Receiver-counted: siemfwd's"
echo "siemfwd_source_dropped_events_total from its admin /metrics (all reasons), read before it stops; '-' = not available."
echo
awk -F'\t' '
$3 > 0 {
	if (!hdr) { print "| receiver | scenario | loadgen sent/s | sent - received | kernel drops | receiver-counted | unaccounted |"; print "|---|---|---:|---:|---:|---:|---:|"; hdr = 1 }
	lost = $4 - $5
	printf "| %s | %s | %s | %d | %s | %s | %s |\n", $1, $2, $14, lost, $12, $13, ($13 == "-" ? "?" : lost - $12 - $13)
}' "$results"

echo
echo "### Commands"
echo
echo '```sh'
echo "N=$N scripts/bench/compare.sh"
echo "# each scenario: a fresh receiver, then"
cut -f1,11 "$results" | sort -u | sed 's/^\([a-z]*\)\t/# \1: /'
echo '```'
echo
echo "rsyslog: scripts/bench/rsyslog.conf.tmpl, started as \`rsyslogd -n -f FILE -i PIDFILE\`;" \
	"siemfwd: \`bin/siemfwd run -c FILE\` with the config at the top of scripts/bench/siemfwd.sh, stdout to tmpfs."
