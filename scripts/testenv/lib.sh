# shellcheck shell=bash
# Shared helpers for scripts/testenv/{up,down,restart,env,kafka-run-class}.
# Sourced, not executed. Everything here runs with `set -euo pipefail`.

# ---- pinned versions (see README.md) ---------------------------------------
KAFKA_VERSION=4.4.0          # org.apache.kafka:kafka_2.13
KAFKA_LOG4J_VERSION=2.25.5   # log4j-slf4j-impl, same version as the log4j-core kafka 4.4.0 pulls in
ES_VERSION=8.19.21           # org.elasticsearch.distribution.integ-test-zip:elasticsearch:zip
ES9_VERSION=9.2.4            # the same artifact, 9.x line (service es9: needs Java 21+)
MVN_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

# ---- loopback endpoints (ports overridable, e.g. for a second, private env) ---
HOST=127.0.0.1
KAFKA_PORT=${SIEMFWD_TESTENV_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${SIEMFWD_TESTENV_KAFKA_CONTROLLER_PORT:-9093}
ES_PORT=${SIEMFWD_TESTENV_ES_PORT:-9200}
ES_TRANSPORT_PORT=${SIEMFWD_TESTENV_ES_TRANSPORT_PORT:-9300}
ES9_PORT=${SIEMFWD_TESTENV_ES9_PORT:-9201}
ES9_TRANSPORT_PORT=${SIEMFWD_TESTENV_ES9_TRANSPORT_PORT:-9301}

# ---- locations ---------------------------------------------------------------
TESTENV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TESTENV_DIR/../.." && pwd)
CACHE=${SIEMFWD_TESTENV_CACHE:-$REPO_ROOT/.cache/testenv}
STATE=${SIEMFWD_TESTENV_STATE:-${TMPDIR:-/tmp}/siemfwd-testenv}
ES_USER=${SIEMFWD_TESTENV_USER:-siemfwd-test}
START_TIMEOUT=${SIEMFWD_TESTENV_TIMEOUT:-300}    # seconds to wait for a service to become healthy
STOP_TIMEOUT=${SIEMFWD_TESTENV_STOP_TIMEOUT:-60} # seconds to wait after SIGTERM before SIGKILL

KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
ES_DIST=$CACHE/elasticsearch-$ES_VERSION

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: ERROR: %s\n' "$*" >&2; exit 1; }

now() { date +%s; }

# Serialise up/down/restart against each other (fd 9). Children must not
# inherit fd 9 (they are started with 9>&-), or they would hold the lock.
take_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  if ! flock -w 600 9; then die "could not lock $STATE/.lock within 600s"; fi
}

# ---- small utilities -----------------------------------------------------------
port_open() { # port
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# http_get PATH [max-seconds]: print the body of GET http://HOST:ES_PORT/PATH,
# fail on connection errors or HTTP status >= 400. Uses curl when present,
# otherwise a bare HTTP/1.0 request over bash's /dev/tcp.
http_get() {
  local path=$1 max=${2:-10}
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time "$max" "http://$HOST:$ES_PORT$path"
    return
  fi
  local resp status
  # shellcheck disable=SC2016 # the inner script expands its own $1..$3
  resp=$(timeout "$max" bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 7
    printf "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n" "$3" "$1" "$2" >&3
    cat <&3' _ "$HOST" "$ES_PORT" "$path") || return 1
  status=$(printf '%s\n' "$resp" | head -n1 | awk '{print $2}')
  [[ $status =~ ^[0-9]+$ && $status -lt 400 ]] || return 1
  printf '%s\n' "$resp" | sed '1,/^\r\{0,1\}$/d'
}

# java_home_of BIN: the JAVA_HOME that a java binary belongs to.
java_home_of() {
  local bin
  bin=$(readlink -f "$(command -v "$1")") || return 1
  dirname "$(dirname "$bin")"
}

java_major() { # java-binary
  "$1" -XshowSettings:properties -version 2>&1 |
    awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

# The java used for Kafka (and the ES default): $JAVA_HOME/bin/java, else java on PATH.
kafka_java() {
  local j
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then j=$JAVA_HOME/bin/java
  elif command -v java >/dev/null 2>&1; then j=$(command -v java)
  else die "no java found (set JAVA_HOME or put Java 17+ on PATH)"; fi
  local m
  m=$(java_major "$j")
  [[ -n $m && $m -ge 17 ]] || die "$j is Java ${m:-?}; Kafka $KAFKA_VERSION needs Java 17+"
  printf '%s\n' "$j"
}

# ES_JAVA_HOME for Elasticsearch 8.19 (service es): $ES_JAVA_HOME, else
# $JAVA_HOME, else the home of java on PATH. ES 8.19 runs on Java 17 and newer.
es_java_home() {
  local h
  if [[ -n ${ES_JAVA_HOME:-} ]]; then h=$ES_JAVA_HOME
  elif [[ -n ${JAVA_HOME:-} ]]; then h=$JAVA_HOME
  else h=$(java_home_of java) || die "no java found (set ES_JAVA_HOME or JAVA_HOME)"; fi
  [[ -x $h/bin/java ]] || die "no java at $h/bin/java"
  printf '%s\n' "$h"
}

# es9_java_home: a JDK for Elasticsearch 9.x (service es9), which needs Java
# 21+: $SIEMFWD_TESTENV_ES9_JAVA_HOME, else whichever of ES_JAVA_HOME,
# JAVA_HOME and java on PATH is 21+, else the newest 21+ JDK installed under
# $SIEMFWD_TESTENV_JVM_DIR (default /usr/lib/jvm, where Debian's and
# Temurin's packages put them).
es9_java_home() {
  local h m best='' best_m=0
  if [[ -n ${SIEMFWD_TESTENV_ES9_JAVA_HOME:-} ]]; then
    h=$SIEMFWD_TESTENV_ES9_JAVA_HOME
    [[ -x $h/bin/java ]] || die "SIEMFWD_TESTENV_ES9_JAVA_HOME: no java at $h/bin/java"
    m=$(java_major "$h/bin/java")
    [[ -n $m && $m -ge 21 ]] || die "SIEMFWD_TESTENV_ES9_JAVA_HOME: $h is Java ${m:-?}; Elasticsearch $ES9_VERSION needs Java 21+"
    printf '%s\n' "$h"
    return
  fi
  for h in "${ES_JAVA_HOME:-}" "${JAVA_HOME:-}" "$(java_home_of java 2>/dev/null)" "${SIEMFWD_TESTENV_JVM_DIR:-/usr/lib/jvm}"/*; do
    [[ -n $h && -x $h/bin/java ]] || continue
    m=$(java_major "$h/bin/java")
    if [[ -n $m && $m -ge 21 && $m -gt $best_m ]]; then best=$h; best_m=$m; fi
  done
  [[ -n $best ]] || die "es9: no Java 21+ found (Elasticsearch $ES9_VERSION needs one); set SIEMFWD_TESTENV_ES9_JAVA_HOME"
  printf '%s\n' "$best"
}

# ---- pid bookkeeping -------------------------------------------------------------
# $STATE/<svc>.pid holds the pid of a process that `up` started; services that
# were already running (reused) get no pid file and are never stopped by us.
pid_file() { printf '%s/%s.pid\n' "$STATE" "$1"; }

proc_state() { # pid -> one-letter state from /proc/PID/stat (fails if no such process)
  local st
  st=$(<"/proc/$1/stat") 2>/dev/null || return 1
  st=${st##*) }
  printf '%s\n' "${st%% *}"
}

# pid_gone PID: exited (no such process, or a zombie: its sockets are closed).
pid_gone() {
  local st
  st=$(proc_state "$1") || return 0
  [[ $st == Z ]]
}

# pid_matches PID SVC: the pid is alive (not a zombie) and is that service's JVM.
pid_matches() {
  local pid=$1 svc=$2 cmd
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  ! pid_gone "$pid" || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case $svc in
    kafka) [[ $cmd == *kafka.Kafka* ]] ;;
    es | es9) [[ $cmd == *org.elasticsearch.bootstrap.Elasticsearch* ]] ;;
    *) return 1 ;;
  esac
}

recorded_pid() { # svc -> prints pid if the pid file names a live process of that service
  local f pid
  f=$(pid_file "$1")
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  if pid_matches "$pid" "$1"; then printf '%s\n' "$pid"; return 0; fi
  rm -f "$f" # stale
  return 1
}

# stop_service SVC: SIGTERM the recorded pid, wait, then SIGKILL. Returns 0 if
# nothing of ours is running afterwards.
stop_service() {
  local svc=$1 pid deadline
  if ! pid=$(recorded_pid "$svc"); then
    log "$svc: nothing started by testenv is running"
    return 0
  fi
  log "$svc: stopping pid $pid (SIGTERM, up to ${STOP_TIMEOUT}s)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(($(now) + STOP_TIMEOUT))
  while ! pid_gone "$pid" && (($(now) < deadline)); do sleep 0.3; done
  if ! pid_gone "$pid"; then
    log "$svc: pid $pid still running after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$(($(now) + 15))
    while ! pid_gone "$pid" && (($(now) < deadline)); do sleep 0.2; done
    if ! pid_gone "$pid"; then die "$svc: pid $pid survived SIGKILL"; fi
  fi
  rm -f "$(pid_file "$svc")"
  # a restart must find the ports free, not mistake them for a running service
  local p
  deadline=$(($(now) + 15))
  for p in $(service_ports "$svc"); do
    while port_open "$p" && (($(now) < deadline)); do sleep 0.2; done
    if port_open "$p"; then log "$svc: warning: $HOST:$p still answers after pid $pid exited"; fi
  done
  log "$svc: stopped"
}

service_ports() { # svc
  case $1 in
    kafka) printf '%s\n' "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" ;;
    es) printf '%s\n' "$ES_PORT" "$ES_TRANSPORT_PORT" ;;
    es9) printf '%s\n' "$ES9_PORT" "$ES9_TRANSPORT_PORT" ;;
  esac
}

# ---- fetching -----------------------------------------------------------------------
need_mvn() {
  command -v mvn >/dev/null 2>&1 || die "mvn not found: it is needed once to fetch artifacts into $CACHE"
}

# write_pom FILE DEPENDENCY-XML...
write_pom() {
  local f=$1; shift
  {
    printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
      '<project>' \
      '  <modelVersion>4.0.0</modelVersion>' \
      '  <groupId>siemfwd.testenv</groupId>' \
      '  <artifactId>fetch</artifactId>' \
      '  <version>0</version>' \
      '  <packaging>pom</packaging>' \
      '  <dependencies>'
    printf '    %s\n' "$@"
    printf '%s\n' '  </dependencies>' '</project>'
  } >"$f"
}

dep() { # group artifact version [type]
  printf '<dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version><type>%s</type></dependency>' \
    "$1" "$2" "$3" "${4:-jar}"
}

mvn_copy() { # pom outdir
  log "mvn: resolving $(grep -o '<artifactId>[^<]*</artifactId><version>[^<]*' "$1" | sed 's/<artifactId>//; s#</artifactId><version>#:#' | tr '\n' ' ')"
  local out=$1.log
  if ! mvn -q -B -Dstyle.color=never -f "$1" "$MVN_DEP_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$2" >"$out" 2>&1; then
    cat "$out" >&2
    die "mvn failed to fetch artifacts (output above)"
  fi
}

fetch_kafka() {
  [[ -f $KAFKA_HOME/.complete ]] && return 0
  need_mvn
  local t0 tmp
  t0=$(now)
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.kafka.XXXXXX")
  write_pom "$tmp/pom.xml" \
    "$(dep org.apache.kafka kafka_2.13 "$KAFKA_VERSION")" \
    "$(dep org.apache.kafka kafka-tools "$KAFKA_VERSION")" \
    "$(dep org.apache.logging.log4j log4j-slf4j-impl "$KAFKA_LOG4J_VERSION")"
  mvn_copy "$tmp/pom.xml" "$tmp/libs"
  touch "$tmp/.complete"
  rm -rf "$KAFKA_HOME"
  mv "$tmp" "$KAFKA_HOME"
  log "kafka: fetched $KAFKA_VERSION into $KAFKA_HOME in $(($(now) - t0))s"
}

extract_zip() { # zip destdir
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$1" -d "$2"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
  else
    (cd "$2" && jar xf "$1")
  fi
}

fetch_es() {
  [[ -f $ES_DIST/.complete ]] && return 0
  need_mvn
  local t0 tmp
  t0=$(now)
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.es.XXXXXX")
  write_pom "$tmp/pom.xml" \
    "$(dep org.elasticsearch.distribution.integ-test-zip elasticsearch "$ES_VERSION" zip)"
  mvn_copy "$tmp/pom.xml" "$tmp/zip"
  mkdir "$tmp/x"
  extract_zip "$tmp/zip/elasticsearch-$ES_VERSION.zip" "$tmp/x"
  [[ -f $tmp/x/elasticsearch-$ES_VERSION/bin/elasticsearch ]] || die "unexpected layout in elasticsearch-$ES_VERSION.zip"
  chmod 0755 "$tmp/x/elasticsearch-$ES_VERSION"/bin/* # python/jar extraction drops the x bit
  chmod -R a+rX "$tmp/x/elasticsearch-$ES_VERSION"
  rm -rf "$ES_DIST"
  mv "$tmp/x/elasticsearch-$ES_VERSION" "$ES_DIST"
  touch "$ES_DIST/.complete"
  rm -rf "$tmp"
  log "es: fetched $ES_VERSION into $ES_DIST in $(($(now) - t0))s"
}

# ---- kafka ----------------------------------------------------------------------------
KAFKA_DIR=$STATE/kafka

kafka_write_config() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  cat >"$KAFKA_DIR/server.properties" <<PROPS
# generated by scripts/testenv; single node KRaft, combined broker+controller
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# small, size-based retention: no time-based retention, so records whose
# timestamps lie far in the past (old syslog events) are not deleted.
log.retention.ms=-1
log.retention.bytes=67108864
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
PROPS
  cat >"$KAFKA_DIR/log4j2.properties" <<'PROPS'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka_request.name = kafka.request.logger
logger.kafka_request.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
logger.state_change.name = state.change.logger
logger.state_change.level = WARN
PROPS
  cat >"$KAFKA_DIR/tools-log4j2.properties" <<'PROPS'
status = warn
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
PROPS
  cat >"$KAFKA_DIR/admin.properties" <<'PROPS'
request.timeout.ms=3000
default.api.timeout.ms=4000
PROPS
}

# kafka_run_class CLASS ARGS...: run a class from the cached Kafka classpath
# (like bin/kafka-run-class.sh), logging WARN+ to stderr.
kafka_run_class() {
  local java
  java=$(kafka_java)
  mkdir -p "$KAFKA_DIR"
  [[ -f $KAFKA_DIR/tools-log4j2.properties ]] || kafka_write_config
  "$java" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DIR/tools-log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" "$@"
}

# metadata request via TopicCommand --list
kafka_metadata_ok() {
  local java
  java=$(kafka_java)
  timeout 40 "$java" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$KAFKA_DIR/tools-log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$HOST:$KAFKA_PORT" --command-config "$KAFKA_DIR/admin.properties" \
    --list >/dev/null 2>&1
}

kafka_fail() { # message
  log "$1"
  log "---- last 60 lines of $KAFKA_DIR/logs/console.log ----"
  tail -n 60 "$KAFKA_DIR/logs/console.log" >&2 2>/dev/null || true
  exit 1
}

# kafka_wait_healthy [PID LOG-OFFSET]: with a pid we launched, first wait
# (cheaply) for "Kafka Server started" in the console log past LOG-OFFSET,
# then require a metadata request to succeed.
kafka_wait_healthy() {
  local pid=${1:-} offset=${2:-0} deadline started=false
  [[ -n $pid ]] || started=true
  deadline=$(($(now) + START_TIMEOUT))
  while (($(now) < deadline)); do
    if [[ -n $pid ]] && ! pid_matches "$pid" kafka; then
      rm -f "$(pid_file kafka)"
      kafka_fail "kafka: process $pid exited during startup"
    fi
    if ! $started && tail -c "+$((offset + 1))" "$KAFKA_DIR/logs/console.log" 2>/dev/null |
      grep -q 'Kafka Server started'; then
      started=true
    fi
    if $started && port_open "$KAFKA_PORT" && kafka_metadata_ok; then return 0; fi
    sleep 1
  done
  kafka_fail "kafka: not healthy after ${START_TIMEOUT}s"
}

start_kafka() {
  local pid t0 java cluster_id
  t0=$(now)
  if pid=$(recorded_pid kafka); then
    log "kafka: already running (pid $pid, started by testenv)"
    kafka_wait_healthy "$pid"
    return 0
  fi
  if port_open "$KAFKA_PORT"; then
    fetch_kafka
    mkdir -p "$KAFKA_DIR"; [[ -f $KAFKA_DIR/admin.properties ]] || kafka_write_config
    log "kafka: $HOST:$KAFKA_PORT already answers; reusing it (not started by testenv, will not be stopped)"
    kafka_wait_healthy ""
    return 0
  fi
  if port_open "$KAFKA_CONTROLLER_PORT"; then die "kafka: controller port $HOST:$KAFKA_CONTROLLER_PORT is in use by something else"; fi
  fetch_kafka
  java=$(kafka_java)
  kafka_write_config
  if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
    if [[ -f $KAFKA_DIR/cluster.id ]]; then cluster_id=$(<"$KAFKA_DIR/cluster.id")
    else
      # a Kafka Uuid: 16 random bytes, url-safe base64 without padding; like
      # Kafka itself, avoid a leading '-' (it would read as an option)
      cluster_id=-
      while [[ $cluster_id == -* ]]; do
        cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)
      done
      printf '%s\n' "$cluster_id" >"$KAFKA_DIR/cluster.id"
    fi
    log "kafka: formatting $KAFKA_DIR/data (cluster id $cluster_id)"
    kafka_run_class kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$KAFKA_DIR/server.properties" --ignore-formatted >"$KAFKA_DIR/logs/format.log" 2>&1 ||
      { cat "$KAFKA_DIR/logs/format.log" >&2; die "kafka: storage format failed"; }
  fi
  local offset=0 # the previous run's log is kept as console.log.1
  if [[ -f $KAFKA_DIR/logs/console.log ]]; then mv -f "$KAFKA_DIR/logs/console.log" "$KAFKA_DIR/logs/console.log.1"; fi
  log "kafka: starting $KAFKA_VERSION on $HOST:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT), java $(java_major "$java")"
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS / KAFKA_JVM_OPTS are word lists
  nohup "$java" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true ${KAFKA_JVM_OPTS:-} \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
    </dev/null >>"$KAFKA_DIR/logs/console.log" 2>&1 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$(pid_file kafka)"
  kafka_wait_healthy "$pid" "$offset"
  log "kafka: healthy at $HOST:$KAFKA_PORT (pid $pid) after $(($(now) - t0))s"
}

# ---- elasticsearch ------------------------------------------------------------------
# Two nodes can run side by side: service es (8.19) and service es9 (9.x).
# The functions below act on the node es_select chose; es is the default.
ES_SVC=es
ES_DIR=$STATE/es

es_select() { # es|es9: point ES_VERSION, ES_PORT, ES_TRANSPORT_PORT, ES_DIST and ES_DIR at that node
  ES_SVC=$1
  case $1 in
    es) ;;
    es9) ES_VERSION=$ES9_VERSION ES_PORT=$ES9_PORT ES_TRANSPORT_PORT=$ES9_TRANSPORT_PORT ;;
    *) die "es_select: unknown node $1" ;;
  esac
  ES_DIST=$CACHE/elasticsearch-$ES_VERSION
  ES_DIR=$STATE/$1
}

es_healthy() { # max-seconds
  http_get "/_cluster/health?wait_for_status=yellow&timeout=${1:-5}s" "$((${1:-5} + 5))" >/dev/null 2>&1
}

as_es_user() { # command... ; runs as $ES_USER when we are root
  if [[ $(id -u) -ne 0 ]]; then "$@"; return; fi
  if command -v setpriv >/dev/null 2>&1; then
    setpriv --reuid="$ES_USER" --regid="$ES_USER" --init-groups "$@"
  else
    runuser -u "$ES_USER" -- "$@"
  fi
}

ensure_es_user() {
  [[ $(id -u) -eq 0 ]] || return 0
  id -u "$ES_USER" >/dev/null 2>&1 && return 0
  log "es: creating unprivileged user $ES_USER (Elasticsearch refuses to run as root)"
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$ES_USER" ||
    id -u "$ES_USER" >/dev/null 2>&1 || die "could not create user $ES_USER"
}

# The install dir ES runs from: the cached one, or (when root and the test
# user cannot read the cache, e.g. a clone in a mode-700 home) a copy in the state dir.
es_home() {
  if as_es_user test -r "$ES_DIST/lib/elasticsearch-$ES_VERSION.jar" -a -x "$ES_DIST/bin/elasticsearch" 2>/dev/null; then
    printf '%s\n' "$ES_DIST"
    return
  fi
  local copy=$STATE/es-dist-$ES_VERSION
  if [[ ! -f $copy/.complete ]]; then
    log "es: $ES_USER cannot read $ES_DIST; copying it to $copy" >&2
    rm -rf "$copy"
    cp -a "$ES_DIST" "$copy.tmp"
    chmod -R a+rX "$copy.tmp"
    mv "$copy.tmp" "$copy"
  fi
  printf '%s\n' "$copy"
}

es_write_config() { # es-home
  local home=$1
  mkdir -p "$ES_DIR/data" "$ES_DIR/logs" "$ES_DIR/tmp" "$ES_DIR/config/jvm.options.d"
  local f
  for f in jvm.options log4j2.properties roles.yml role_mapping.yml users users_roles; do
    [[ -f $home/config/$f ]] && cp "$home/config/$f" "$ES_DIR/config/$f"
  done
  # the stock gc log line writes 32x64MB files relative to the working dir
  sed -i '/^-Xlog:gc/d' "$ES_DIR/config/jvm.options"
  cat >"$ES_DIR/config/elasticsearch.yml" <<YML
# generated by scripts/testenv
cluster.name: siemfwd-testenv
node.name: siemfwd-testenv-$ES_SVC
network.host: $HOST
http.port: $ES_PORT
transport.port: $ES_TRANSPORT_PORT
discovery.type: single-node
path.data: $ES_DIR/data
path.logs: $ES_DIR/logs
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
YML
  printf '%s\n' "${SIEMFWD_TESTENV_ES_HEAP:--Xms512m -Xmx512m}" | tr ' ' '\n' \
    >"$ES_DIR/config/jvm.options.d/siemfwd-testenv.options"
  if [[ $(id -u) -eq 0 ]]; then
    chown -R "$ES_USER:$ES_USER" "$ES_DIR"
  fi
}

es_fail() {
  log "$1"
  local f
  for f in "$ES_DIR/logs/cli.log" "$ES_DIR/logs/siemfwd-testenv.log"; do
    [[ -f $f && $f -nt $ES_DIR/logs/.launched ]] || continue
    log "---- last 60 lines of $f ----"
    tail -n 60 "$f" >&2 || true
  done
  exit 1
}

es_wait_healthy() { # pid-or-empty
  local pid=${1:-} deadline
  deadline=$(($(now) + START_TIMEOUT))
  while (($(now) < deadline)); do
    if [[ -n $pid ]] && ! pid_matches "$pid" "$ES_SVC"; then
      rm -f "$(pid_file "$ES_SVC")"
      es_fail "$ES_SVC: process $pid exited during startup"
    fi
    if es_healthy 5; then return 0; fi
    sleep 1
  done
  es_fail "$ES_SVC: not healthy (yellow) after ${START_TIMEOUT}s"
}

# start_es: start the node es_select chose (es unless told otherwise).
start_es() {
  local pid t0 home jhome svc=$ES_SVC
  t0=$(now)
  if pid=$(recorded_pid "$svc"); then
    log "$svc: already running (pid $pid, started by testenv)"
    es_wait_healthy "$pid"
    return 0
  fi
  if port_open "$ES_PORT"; then
    log "$svc: $HOST:$ES_PORT already answers; reusing it (not started by testenv, will not be stopped)"
    es_wait_healthy ""
    return 0
  fi
  if port_open "$ES_TRANSPORT_PORT"; then die "$svc: transport port $HOST:$ES_TRANSPORT_PORT is in use by something else"; fi
  fetch_es
  ensure_es_user
  if [[ $svc == es9 ]]; then jhome=$(es9_java_home); else jhome=$(es_java_home); fi
  home=$(es_home)
  es_write_config "$home"
  rm -f "$ES_DIR/es.pid"
  touch "$ES_DIR/logs/.launched"
  log "$svc: starting $ES_VERSION on $HOST:$ES_PORT, java $(java_major "$jhome/bin/java") from $jhome"
  # -d: the launcher returns once the node has started (or failed), leaving
  # one server JVM whose pid ES writes to es.pid.
  if ! as_es_user env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$ES_DIR" LANG=C.UTF-8 \
    ES_HOME="$home" ES_PATH_CONF="$ES_DIR/config" ES_JAVA_HOME="$jhome" ES_TMPDIR="$ES_DIR/tmp" \
    ES_JAVA_OPTS="${ES_JAVA_OPTS:-}" \
    "$home/bin/elasticsearch" -d -p "$ES_DIR/es.pid" \
    </dev/null >"$ES_DIR/logs/cli.log" 2>&1 9>&-; then
    es_fail "$svc: launcher failed"
  fi
  [[ -s $ES_DIR/es.pid ]] || es_fail "$svc: launcher exited but wrote no pid file"
  pid=$(<"$ES_DIR/es.pid")
  printf '%s\n' "$pid" >"$(pid_file "$svc")"
  es_wait_healthy "$pid"
  log "$svc: healthy at http://$HOST:$ES_PORT (pid $pid) after $(($(now) - t0))s"
}

# ---- dispatch helpers ---------------------------------------------------------------
# services_from_args [kafka|es|es9|all]... -> prints service names; no
# argument means kafka and es (the 8.19 node), `all` adds es9 (the 9.x node).
services_from_args() {
  if (($# == 0)); then printf '%s\n' kafka es; return; fi
  local a
  for a in "$@"; do
    case $a in
      kafka) printf '%s\n' kafka ;;
      es | elasticsearch) printf '%s\n' es ;;
      es9) printf '%s\n' es9 ;;
      all) printf '%s\n' kafka es es9 ;;
      *) die "unknown service '$a' (expected kafka, es, es9 or all)" ;;
    esac
  done
}
