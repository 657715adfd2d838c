#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker+controller) on 127.0.0.1,
# run from Maven Central jars with the machine's Java (17+) and Maven. For tests and local use.
#
#   scripts/kafka.sh fetch     kafka_2.13 + runtime deps + a logging binding into $KAFKA_CACHE (once)
#   scripts/kafka.sh start     fetch if needed, format storage if new, start, wait until it answers;
#                              prints only `KAFKA_BROKERS=127.0.0.1:<port>` on stdout
#   scripts/kafka.sh stop      SIGTERM (SIGKILL after $KAFKA_STOP_TIMEOUT s); keeps the data
#   scripts/kafka.sh status    exit 0 if running and answering
#   scripts/kafka.sh clean     stop and delete $KAFKA_DATA (not the jar cache)
#   scripts/kafka.sh logs [tail args, e.g. -f]
#
# Knobs (defaults): KAFKA_VERSION (3.9.2; 4.x works too), KAFKA_PORT (19092),
# KAFKA_CONTROLLER_PORT (19093), KAFKA_CACHE (~/.cache/kcr-kafka/<version>),
# KAFKA_DATA (<repo>/.kafka/<version>), KAFKA_HEAP_OPTS (-Xmx512m -Xms256m), KAFKA_JVM_OPTS (extra),
# KAFKA_START_TIMEOUT (120), KAFKA_STOP_TIMEOUT (30), KAFKA_EXTRA_CONFIG (lines appended to
# server.properties), KAFKA_MVN_ARGS (extra mvn args; MAVEN_OPTS is honoured as usual),
# KAFKA_LOG4J2_VERSION (2.25.3, Kafka 4.x only). All messages go to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=${KAFKA_VERSION:-3.9.2}
MAJOR=${VERSION%%.*}
PORT=${KAFKA_PORT:-19092}
CPORT=${KAFKA_CONTROLLER_PORT:-19093}
CACHE=${KAFKA_CACHE:-$HOME/.cache/kcr-kafka/$VERSION}
DATA=${KAFKA_DATA:-$ROOT/.kafka/$VERSION}
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-120}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
LIBS=$CACHE/libs
PIDFILE=$DATA/kafka.pid
PROPS=$DATA/server.properties
SERVER_LOG=$DATA/logs/server.log # written by log4j
OUT_LOG=$DATA/logs/kafka.out     # the JVM's own stdout/stderr

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# Logging binding: Kafka 3.x logs through slf4j 1.7 + reload4j; Kafka 4.x through log4j2 (its
# kafka-server already depends on log4j-api/-core; slf4j-api is still 1.7, so the binding is
# log4j-slf4j-impl, not log4j-slf4j2-impl, which would leave slf4j 1.7 without a logger).
if [ "$MAJOR" -ge 4 ]; then
  LOG4J2=${KAFKA_LOG4J2_VERSION:-2.25.3}
  LOGGING_DEPS=""
  for a in log4j-slf4j-impl log4j-api log4j-core; do
    LOGGING_DEPS+="<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>$a</artifactId><version>$LOG4J2</version></dependency>"
  done
else
  LOGGING_DEPS="<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>"
fi
# The marker records what was fetched, so a cache made by another recipe is fetched again.
RECIPE="kafka_2.13:$VERSION $LOGGING_DEPS"

fetch() {
  [ "$(cat "$CACHE/.fetched" 2>/dev/null)" = "$RECIPE" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (Maven is needed to fetch Kafka)"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock" # one fetch at a time per cache (parallel clones/CI jobs)
  flock 9
  [ "$(cat "$CACHE/.fetched" 2>/dev/null)" = "$RECIPE" ] && return 0
  log "fetching org.apache.kafka:kafka_2.13:$VERSION + runtime deps from Maven Central into $CACHE (first time: a few minutes)"
  cat >"$CACHE/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kcr</groupId><artifactId>kafka-runtime</artifactId><version>$VERSION</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    $LOGGING_DEPS
  </dependencies>
</project>
POM
  rm -rf "$LIBS.tmp"
  local t0=$SECONDS pid rc=0
  # shellcheck disable=SC2086 # KAFKA_MVN_ARGS is word-split on purpose
  mvn -B -ntp -f "$CACHE/pom.xml" ${KAFKA_MVN_ARGS:-} \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >"$CACHE/fetch.log" 2>&1 </dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do # a sign of life for CI logs
    sleep 1
    if (((SECONDS - t0) % 30 == 0)); then log "still fetching ($((SECONDS - t0))s)"; fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$CACHE/fetch.log" >&2
    die "mvn failed (exit $rc); full output in $CACHE/fetch.log"
  fi
  rm -rf "$LIBS" && mv "$LIBS.tmp" "$LIBS"
  echo "$RECIPE" >"$CACHE/.fetched"
  local jars=("$LIBS"/*.jar)
  log "fetched ${#jars[@]} jars in $((SECONDS - t0))s"
}

# The pid file names a live process running our broker config (guards against pid reuse).
running() {
  local pid args
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  args=$(ps -ww -o args= -p "$pid" 2>/dev/null) || return 1
  [[ $args == *kafka.Kafka* && $args == *"$PROPS"* ]]
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# The broker answers: the port accepts connections and a metadata request lists a broker
# (kafkajs from the repo's node_modules; without it, the "started" line in its log).
# `answers warm` (start) also waits for the group coordinator (__consumer_offsets created and
# loaded), so a test's first consumer group join does not fail with "coordinator loading".
answers() {
  port_open "$PORT" || return 1
  if command -v node >/dev/null && [ -d "$ROOT/node_modules/kafkajs" ]; then
    (cd "$ROOT" && timeout 15 node -e '
      const { Kafka, logLevel } = require("kafkajs");
      const admin = new Kafka({ brokers: [process.argv[1]], logLevel: logLevel.NOTHING,
        connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } }).admin();
      (async () => {
        await admin.connect();
        if (!(await admin.describeCluster()).brokers.length) throw new Error("no brokers");
        await admin.listTopics();
        if (process.argv[2] === "warm") await admin.describeGroups(["kafka.sh-warm-up"]);
      })().then(() => process.exit(0), () => process.exit(1));
    ' "127.0.0.1:$PORT" "${1:-}") >/dev/null 2>&1
  else
    grep -q 'Kafka Server started' "$SERVER_LOG" 2>/dev/null
  fi
}

# JVM=(java ... -cp <jars>): the command line shared by the broker and StorageTool.
jvm_cmd() { # jvm_cmd <heap opts>
  # shellcheck disable=SC2206 # heap opts and KAFKA_JVM_OPTS are word-split on purpose
  JVM=(java $1 -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true -Dkafka.logs.dir="$DATA/logs"
    -Dlog4j.configuration="file:$DATA/log4j.properties" -Dlog4j2.configurationFile="$DATA/log4j2.properties"
    ${KAFKA_JVM_OPTS:-} -cp "$LIBS/*")
}

configure() {
  mkdir -p "$DATA/data" "$DATA/logs"
  # Static voter (controller.quorum.voters) works the same on 3.9 and 4.x, needs no
  # --standalone at format time, and survives a change of KAFKA_CONTROLLER_PORT.
  cat >"$PROPS" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA/data
num.partitions=3
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
${KAFKA_EXTRA_CONFIG:-}
PROPS
  # Kafka 3.x reads log4j.properties (reload4j), 4.x log4j2.properties; both log to one file.
  cat >"$DATA/log4j.properties" <<L4J
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$SERVER_LOG
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
L4J
  cat >"$DATA/log4j2.properties" <<L4J2
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
appender.file.type=RollingFile
appender.file.name=file
appender.file.fileName=$SERVER_LOG
appender.file.filePattern=$SERVER_LOG.%i
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
appender.file.policies.type=Policies
appender.file.policies.size.type=SizeBasedTriggeringPolicy
appender.file.policies.size.size=50MB
appender.file.strategy.type=DefaultRolloverStrategy
appender.file.strategy.max=2
L4J2
}

start() {
  if running; then
    if answers; then
      log "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
      echo "KAFKA_BROKERS=127.0.0.1:$PORT"
      return 0
    fi
    log "pid $(cat "$PIDFILE") is running but not answering yet; waiting for it"
  else
    for p in "$PORT" "$CPORT"; do
      port_open "$p" && die "127.0.0.1:$p is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
    done
    fetch
    configure
    # Format only a new data dir, so that stop + start keeps topics and messages.
    if [ ! -f "$DATA/data/meta.properties" ]; then
      jvm_cmd "-Xmx128m -XX:TieredStopAtLevel=1"
      [ -s "$DATA/cluster.id" ] || "${JVM[@]}" kafka.tools.StorageTool random-uuid | tail -n 1 >"$DATA/cluster.id"
      log "formatting $DATA/data (cluster id $(cat "$DATA/cluster.id"))"
      "${JVM[@]}" kafka.tools.StorageTool format -t "$(cat "$DATA/cluster.id")" -c "$PROPS" >&2
    fi
    log "starting Kafka $VERSION on 127.0.0.1:$PORT (data: $DATA)"
    [ -f "$SERVER_LOG" ] && mv "$SERVER_LOG" "$SERVER_LOG.prev" # so the log shows this run
    # nohup execs java, so $! is the JVM's pid; no inherited stdout, so $(kafka.sh start) returns.
    jvm_cmd "$HEAP_OPTS"
    nohup "${JVM[@]}" kafka.Kafka "$PROPS" >"$OUT_LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
  fi
  local t0=$SECONDS
  until answers warm; do
    if ! running; then
      log "the broker exited during start-up; end of its logs:"
      tail -n 40 "$OUT_LOG" "$SERVER_LOG" >&2 2>/dev/null || true
      rm -f "$PIDFILE"
      exit 1
    fi
    if ((SECONDS - t0 >= START_TIMEOUT)); then
      log "no answer within ${START_TIMEOUT}s; end of its logs:"
      tail -n 40 "$OUT_LOG" "$SERVER_LOG" >&2 2>/dev/null || true
      stop
      exit 1
    fi
    sleep 1
  done
  log "Kafka $VERSION answers on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"), ${SECONDS}s)"
  echo "KAFKA_BROKERS=127.0.0.1:$PORT"
}

stop() {
  if ! running; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  local pid pids t0=$SECONDS
  pid=$(cat "$PIDFILE")
  # The JVM, plus its children in case the pid is a wrapper shell (older pid files).
  mapfile -t pids < <(echo "$pid"; pgrep -P "$pid" || true)
  alive() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
  kill -TERM "${pids[@]}" 2>/dev/null || true
  while alive && ((SECONDS - t0 < STOP_TIMEOUT)); do sleep 0.5; done
  if alive; then
    log "still running after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    while alive; do sleep 0.2; done
  fi
  rm -f "$PIDFILE"
  log "stopped (pid $pid, $((SECONDS - t0))s)"
}

clean() {
  stop
  [ -d "$DATA" ] || return 0
  # Refuse to delete a non-empty directory that does not look like ours (KAFKA_DATA=~ typo).
  if [ -n "$(ls -A "$DATA")" ] && [ ! -f "$PROPS" ] && [ ! -d "$DATA/data" ]; then
    die "$DATA does not look like a kafka.sh data dir; not deleting it"
  fi
  rm -rf "$DATA"
  log "deleted $DATA"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status)
    if running && answers; then log "running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; else log "not running"; exit 1; fi
    ;;
  clean) clean ;;
  logs) tail -n 100 "$@" "$SERVER_LOG" ;;
  *) sed -n '2,18p' "$0" >&2; exit 2 ;;
esac
