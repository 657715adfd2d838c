#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker+controller) on 127.0.0.1,
# run from Maven Central jars with the machine's Java (17+) and Maven. For tests and local use.
# With KAFKA_NODES=3, a 3-broker cluster instead (see "Cluster mode" below).
#
#   scripts/kafka.sh fetch     kafka_2.13 + runtime deps + a logging binding into $KAFKA_CACHE (once)
#   scripts/kafka.sh start     fetch if needed, format storage if new, start, wait until it answers;
#                              prints only `KAFKA_BROKERS=127.0.0.1:<port>[,...]` on stdout
#   scripts/kafka.sh stop      SIGTERM (SIGKILL after $KAFKA_STOP_TIMEOUT s); keeps the data
#   scripts/kafka.sh status    exit 0 if running and answering (cluster: every node)
#   scripts/kafka.sh clean     stop and delete $KAFKA_DATA (not the jar cache)
#   scripts/kafka.sh logs [N] [tail args, e.g. -f]     (N: one cluster node; default all)
#
# Cluster mode, KAFKA_NODES=3 (for drills and tests; the single node stays the default):
# three nodes, each a combined broker+controller (node.id 1..3, a static KRaft quorum of 3
# voters, one cluster id), client ports KAFKA_PORT+0..2 (default 19192..19194), controller
# ports KAFKA_CONTROLLER_PORT+0..2 (default KAFKA_PORT+100..), data in $KAFKA_DATA/node-<N>
# (default <repo>/.kafka/<version>-cluster), KAFKA_HEAP_OPTS per node (-Xmx384m -Xms192m).
# Defaults: default.replication.factor=3, min.insync.replicas=2, offsets.topic.replication.factor=3,
# transaction.state.log.replication.factor=3, transaction.state.log.min.isr=2.
# `start` waits until every node answers and lists all 3 brokers (so the quorum has a leader).
# Every command takes the same KAFKA_NODES/KAFKA_PORT/KAFKA_DATA as `start`. For drills:
#   KAFKA_NODES=3 scripts/kafka.sh stop-node N    SIGTERM one node (SIGKILL after the timeout)
#   KAFKA_NODES=3 scripts/kafka.sh kill-node N    SIGKILL one node (a crash)
#   KAFKA_NODES=3 scripts/kafka.sh start-node N   start a stopped node again, wait until it answers
# With two of three nodes down the controller quorum is lost too (each node is a voter).
#
# Knobs (defaults): KAFKA_VERSION (3.9.2; 4.x works too), KAFKA_NODES (1, or 3), KAFKA_PORT (19092),
# KAFKA_CONTROLLER_PORT (19093), KAFKA_CACHE (~/.cache/kcr-kafka/<version>),
# KAFKA_DATA (<repo>/.kafka/<version>), KAFKA_HEAP_OPTS (-Xmx512m -Xms256m), KAFKA_JVM_OPTS (extra),
# KAFKA_START_TIMEOUT (120), KAFKA_STOP_TIMEOUT (30), KAFKA_EXTRA_CONFIG (lines appended to
# server.properties), KAFKA_MVN_ARGS (extra mvn args; MAVEN_OPTS is honoured as usual),
# KAFKA_LOG4J2_VERSION (2.25.3, Kafka 4.x only). All messages go to stderr.
#
# A managed-Kafka look-alike (single node, opt-in, for test/kafka-sasl.test.ts): with
# KAFKA_SASL_SSL_PORT=<p> the node also listens on SASL_SSL://127.0.0.1:<p> (PLAIN, SCRAM-SHA-256,
# SCRAM-SHA-512; the PLAINTEXT listener stays for inter-broker traffic and this script's checks).
#   KAFKA_SSL_KEYSTORE, KAFKA_SSL_KEYSTORE_PASSWORD   the listener's PKCS12 key store (required)
#   KAFKA_SSL_TRUSTSTORE, KAFKA_SSL_TRUSTSTORE_PASSWORD   PKCS12 trust store: if set, clients must
#                                                   present a certificate it trusts (ssl.client.auth)
#   KAFKA_SCRAM_USERS   `;`-separated `SCRAM-SHA-512=[name=alice,password=secret]` items, stored
#                       when the storage is formatted (so: set them before the first `start`)
#   KAFKA_PLAIN_USERS   `;`-separated `name=password` items for SASL PLAIN
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=${KAFKA_VERSION:-3.9.2}
MAJOR=${VERSION%%.*}
NODES=${KAFKA_NODES:-1}
CACHE=${KAFKA_CACHE:-$HOME/.cache/kcr-kafka/$VERSION}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-120}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
LIBS=$CACHE/libs

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

case "$NODES" in
  1) # the single node
    PORT0=${KAFKA_PORT:-19092}
    CPORT0=${KAFKA_CONTROLLER_PORT:-19093}
    DATA=${KAFKA_DATA:-$ROOT/.kafka/$VERSION}
    HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}
    RF=1 MIN_ISR=1
    ;;
  3)
    PORT0=${KAFKA_PORT:-19192}
    CPORT0=${KAFKA_CONTROLLER_PORT:-$((PORT0 + 100))}
    DATA=${KAFKA_DATA:-$ROOT/.kafka/$VERSION-cluster}
    HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx384m -Xms192m}
    RF=3 MIN_ISR=2
    if ((CPORT0 < PORT0 + NODES && PORT0 < CPORT0 + NODES)); then
      die "controller ports $CPORT0.. overlap the client ports $PORT0..$((PORT0 + NODES - 1)) (set KAFKA_CONTROLLER_PORT)"
    fi
    ;;
  *) die "KAFKA_NODES=$NODES: only 1 (the default) or 3 are supported" ;;
esac
VOTERS=""
for ((i = 1; i <= NODES; i++)); do VOTERS+="${VOTERS:+,}$i@127.0.0.1:$((CPORT0 + i - 1))"; done

# at_node <N>: point the per-node variables at node N (1-based). The single node lives in $DATA
# itself, as it always has; cluster nodes in $DATA/node-<N>.
at_node() {
  NODE=$1
  PORT=$((PORT0 + NODE - 1))
  CPORT=$((CPORT0 + NODE - 1))
  if [ "$NODES" -eq 1 ]; then NDIR=$DATA NAME=""; else NDIR=$DATA/node-$NODE NAME="node-$NODE: "; fi
  PIDFILE=$NDIR/kafka.pid
  PROPS=$NDIR/server.properties
  SERVER_LOG=$NDIR/logs/server.log # written by log4j
  OUT_LOG=$NDIR/logs/kafka.out     # the JVM's own stdout/stderr
}
at_node 1
ALL_NODES=$(seq 1 "$NODES")
SASL_SSL_PORT=${KAFKA_SASL_SSL_PORT:-}
if [ -n "$SASL_SSL_PORT" ]; then
  [ "$NODES" -eq 1 ] || die "KAFKA_SASL_SSL_PORT is for the single node only"
  [ -n "${KAFKA_SSL_KEYSTORE:-}" ] && [ -n "${KAFKA_SSL_KEYSTORE_PASSWORD:-}" ] || die "KAFKA_SASL_SSL_PORT needs KAFKA_SSL_KEYSTORE and KAFKA_SSL_KEYSTORE_PASSWORD"
fi
brokers_list() { local i l=""; for ((i = 0; i < NODES; i++)); do l+="${l:+,}127.0.0.1:$((PORT0 + i))"; done; echo "$l"; }

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
# answers [warm] [min brokers listed, 1] [a node id that must be listed]: fenced brokers are
# not listed, so "all 3 listed" means each registered with an active controller (a quorum).
answers() {
  port_open "$PORT" || return 1
  if command -v node >/dev/null && [ -d "$ROOT/node_modules/kafkajs" ]; then
    (cd "$ROOT" && timeout 15 node -e '
      const { Kafka, logLevel } = require("kafkajs");
      const admin = new Kafka({ brokers: [process.argv[1]], logLevel: logLevel.NOTHING,
        connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } }).admin();
      (async () => {
        await admin.connect();
        const { brokers } = await admin.describeCluster();
        if (brokers.length < Math.max(1, Number(process.argv[3]))) throw new Error("brokers missing");
        if (process.argv[4] && !brokers.some((b) => b.nodeId === Number(process.argv[4]))) throw new Error("not listed");
        await admin.listTopics();
        if (process.argv[2] === "warm") await admin.describeGroups(["kafka.sh-warm-up"]);
      })().then(() => process.exit(0), () => process.exit(1));
    ' "127.0.0.1:$PORT" "${1:-}" "${2:-1}" "${3:-}") >/dev/null 2>&1
  else
    grep -q 'Kafka Server started' "$SERVER_LOG" 2>/dev/null
  fi
}

# JVM=(java ... -cp <jars>): the command line shared by the broker and StorageTool.
jvm_cmd() { # jvm_cmd <heap opts>
  # shellcheck disable=SC2206 # heap opts and KAFKA_JVM_OPTS are word-split on purpose
  JVM=(java $1 -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true -Dkafka.logs.dir="$NDIR/logs"
    -Dlog4j.configuration="file:$NDIR/log4j.properties" -Dlog4j2.configurationFile="$NDIR/log4j2.properties"
    ${KAFKA_JVM_OPTS:-} -cp "$LIBS/*")
}

# The SASL_SSL listener's lines (see KAFKA_SASL_SSL_PORT); nothing without it.
sasl_ssl_config() {
  [ -n "$SASL_SSL_PORT" ] || return 0
  local l=listener.name.sasl_ssl scram='org.apache.kafka.common.security.scram.ScramLoginModule required;' plain="" u users
  IFS=';' read -ra users <<<"${KAFKA_PLAIN_USERS:-}"
  for u in "${users[@]}"; do [ -n "$u" ] && plain+=" user_${u%%=*}=\"${u#*=}\""; done
  cat <<SASL
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT,SASL_SSL://127.0.0.1:$SASL_SSL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_SSL://127.0.0.1:$SASL_SSL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
$l.ssl.keystore.type=PKCS12
$l.ssl.keystore.location=$KAFKA_SSL_KEYSTORE
$l.ssl.keystore.password=$KAFKA_SSL_KEYSTORE_PASSWORD
$l.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$plain;
$l.scram-sha-256.sasl.jaas.config=$scram
$l.scram-sha-512.sasl.jaas.config=$scram
SASL
  if [ -n "${KAFKA_SSL_TRUSTSTORE:-}" ]; then
    cat <<MTLS
$l.ssl.truststore.type=PKCS12
$l.ssl.truststore.location=$KAFKA_SSL_TRUSTSTORE
$l.ssl.truststore.password=${KAFKA_SSL_TRUSTSTORE_PASSWORD:-}
$l.ssl.client.auth=required
MTLS
  fi
}

configure() {
  mkdir -p "$NDIR/data" "$NDIR/logs"
  # Static voters (controller.quorum.voters) work the same on 3.9 and 4.x, need no
  # --standalone / --initial-controllers at format time, and survive a change of
  # KAFKA_CONTROLLER_PORT. In cluster mode every node is a voter.
  cat >"$PROPS" <<PROPS
process.roles=broker,controller
node.id=$NODE
controller.quorum.voters=$VOTERS
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$NDIR/data
num.partitions=3
auto.create.topics.enable=true
default.replication.factor=$RF
min.insync.replicas=$MIN_ISR
offsets.topic.replication.factor=$RF
transaction.state.log.replication.factor=$RF
transaction.state.log.min.isr=$MIN_ISR
share.coordinator.state.topic.replication.factor=$RF
share.coordinator.state.topic.min.isr=$MIN_ISR
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
$(sasl_ssl_config)
${KAFKA_EXTRA_CONFIG:-}
PROPS
  # Kafka 3.x reads log4j.properties (reload4j), 4.x log4j2.properties; both log to one file.
  cat >"$NDIR/log4j.properties" <<L4J
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$SERVER_LOG
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
L4J
  cat >"$NDIR/log4j2.properties" <<L4J2
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

# Format only new storage, so that stop + start keeps topics and messages. All nodes of a
# cluster share one cluster id ($KAFKA_DATA/cluster.id); they are formatted in parallel.
format_new() { # format_new <N>...
  local i p rc=0 pids=()
  for i; do
    at_node "$i"
    [ -f "$NDIR/data/meta.properties" ] && continue
    jvm_cmd "-Xmx128m -XX:TieredStopAtLevel=1"
    [ -s "$DATA/cluster.id" ] || "${JVM[@]}" kafka.tools.StorageTool random-uuid | tail -n 1 >"$DATA/cluster.id"
    log "${NAME}formatting $NDIR/data (cluster id $(cat "$DATA/cluster.id"))"
    local scram=() u users
    IFS=';' read -ra users <<<"${KAFKA_SCRAM_USERS:-}"
    for u in "${users[@]}"; do [ -n "$u" ] && scram+=(--add-scram "$u"); done
    "${JVM[@]}" kafka.tools.StorageTool format -t "$(cat "$DATA/cluster.id")" -c "$PROPS" "${scram[@]}" >&2 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  [ "$rc" -eq 0 ] || die "formatting failed (exit $rc)"
}

launch() { # the node chosen by at_node; configured and formatted
  log "${NAME}starting Kafka $VERSION on 127.0.0.1:$PORT (data: $NDIR)"
  [ -f "$SERVER_LOG" ] && mv "$SERVER_LOG" "$SERVER_LOG.prev" # so the log shows this run
  # nohup execs java, so $! is the JVM's pid; no inherited stdout, so $(kafka.sh start) returns.
  jvm_cmd "$HEAP_OPTS"
  nohup "${JVM[@]}" kafka.Kafka "$PROPS" >"$OUT_LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
}

# Waits (until $START_T0 + $KAFKA_START_TIMEOUT) for the node chosen by at_node to answer;
# arguments as for answers. Returns 1 if it exited (its pid file removed), 2 on timeout.
await_node() {
  until answers "$@"; do
    if ! running; then
      log "${NAME}the broker exited during start-up; end of its logs:"
      tail -n 40 "$OUT_LOG" "$SERVER_LOG" >&2 2>/dev/null || true
      rm -f "$PIDFILE"
      return 1
    fi
    if ((SECONDS - START_T0 >= START_TIMEOUT)); then
      log "${NAME}no answer within ${START_TIMEOUT}s; end of its logs:"
      tail -n 40 "$OUT_LOG" "$SERVER_LOG" >&2 2>/dev/null || true
      return 2
    fi
    sleep 1
  done
}

start() {
  local i p rc todo=() answering=0
  for i in $ALL_NODES; do
    at_node "$i"
    if running; then
      if answers "" "$NODES"; then
        log "${NAME}already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
        answering=$((answering + 1))
        continue
      fi
      log "${NAME}pid $(cat "$PIDFILE") is running but not answering yet; waiting for it"
    else
      for p in "$PORT" "$CPORT" $SASL_SSL_PORT; do
        port_open "$p" && die "127.0.0.1:$p is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
      done
      todo+=("$i")
    fi
  done
  if ((answering == NODES)); then
    echo "KAFKA_BROKERS=$(brokers_list)"
    return 0
  fi
  if ((${#todo[@]})); then
    fetch
    for i in "${todo[@]}"; do at_node "$i"; configure; done
    format_new "${todo[@]}"
    for i in "${todo[@]}"; do at_node "$i"; launch; done
  fi
  # Node 1 last: once every node lists all brokers, warm up the group coordinator through it.
  START_T0=$SECONDS
  for i in $(seq "$NODES" -1 1); do
    at_node "$i"
    rc=0
    await_node "$([ "$i" -eq 1 ] && echo warm)" "$NODES" || rc=$?
    if [ "$rc" -ne 0 ]; then
      # The single node: stop it if it hangs (a dead one has nothing to stop); a cluster: stop all.
      if [ "$rc" -eq 2 ] || [ "$NODES" -gt 1 ]; then stop_nodes TERM $ALL_NODES; fi
      exit 1
    fi
  done
  if [ "$NODES" -eq 1 ]; then
    log "Kafka $VERSION answers on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"), ${SECONDS}s)"
  else
    log "Kafka $VERSION cluster of $NODES answers on $(brokers_list) (data: $DATA, ${SECONDS}s)"
  fi
  echo "KAFKA_BROKERS=$(brokers_list)"
}

# stop_nodes <TERM|KILL> <N>...: signals the live ones all at once (a cluster stopped node by
# node would lose its quorum and hang in controlled shutdown), waits, SIGKILL after
# $KAFKA_STOP_TIMEOUT s. Keeps the data.
stop_nodes() {
  local sig=$1 i pid s t0=$SECONDS pids=() stopped=()
  shift
  for i; do
    at_node "$i"
    if ! running; then
      rm -f "$PIDFILE"
      log "${NAME}not running"
      continue
    fi
    pid=$(cat "$PIDFILE")
    # The JVM, plus its children in case the pid is a wrapper shell (older pid files).
    mapfile -t -O "${#pids[@]}" pids < <(echo "$pid"; pgrep -P "$pid" || true)
    stopped+=("$i:$pid")
  done
  ((${#stopped[@]})) || return 0
  alive() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
  kill -"$sig" "${pids[@]}" 2>/dev/null || true
  while alive && ((SECONDS - t0 < STOP_TIMEOUT)); do sleep 0.2; done
  if alive; then
    log "still running after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    while alive; do sleep 0.2; done
  fi
  for s in "${stopped[@]}"; do
    at_node "${s%%:*}"
    rm -f "$PIDFILE"
    log "${NAME}$([ "$sig" = KILL ] && echo killed || echo stopped) (pid ${s#*:}, $((SECONDS - t0))s)"
  done
}

# start-node N: a node of a formatted cluster again (after stop-node / kill-node).
start_one() {
  local p rc=0
  at_node "$1"
  if running; then
    log "${NAME}already running (pid $(cat "$PIDFILE"))"
  else
    [ -f "$NDIR/data/meta.properties" ] || die "${NAME}no formatted storage in $NDIR: start the cluster with \`start\` first"
    for p in "$PORT" "$CPORT"; do
      port_open "$p" && die "127.0.0.1:$p is already in use by another process"
    done
    fetch
    configure
    launch
  fi
  START_T0=$SECONDS
  await_node "" 1 "$NODE" || rc=$?
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 2 ] && stop_nodes TERM "$1"
    exit 1
  fi
  log "${NAME}answers on 127.0.0.1:$PORT and is listed by the cluster (pid $(cat "$PIDFILE"), ${SECONDS}s)"
}

looks_ours() {
  if [ "$NODES" -eq 1 ]; then
    [ -f "$PROPS" ] || [ -d "$DATA/data" ]
  else
    [ -f "$DATA/cluster.id" ] || compgen -G "$DATA/node-*/server.properties" >/dev/null
  fi
}

clean() {
  # shellcheck disable=SC2086 # the node numbers
  stop_nodes TERM $ALL_NODES
  [ -d "$DATA" ] || return 0
  # Refuse to delete a non-empty directory that does not look like ours (KAFKA_DATA=~ typo).
  if [ -n "$(ls -A "$DATA")" ] && ! looks_ours; then
    die "$DATA does not look like a kafka.sh data dir; not deleting it"
  fi
  rm -rf "$DATA"
  log "deleted $DATA"
}

status() {
  local i bad=0
  for i in $ALL_NODES; do
    at_node "$i"
    if running && answers; then
      log "${NAME}running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
    elif [ "$NODES" -gt 1 ] && running; then
      log "${NAME}running (pid $(cat "$PIDFILE")) but not answering on 127.0.0.1:$PORT"
      bad=1
    else
      log "${NAME}not running"
      bad=1
    fi
  done
  return "$bad"
}

node_arg() { # node_arg <command> <N>: checks N names a cluster node
  [ "$NODES" -gt 1 ] || die "$1 is for a cluster: set KAFKA_NODES=3"
  [[ ${2:-} =~ ^[0-9]+$ ]] && (($2 >= 1 && $2 <= NODES)) || die "usage: KAFKA_NODES=$NODES $0 $1 <1..$NODES>"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  fetch) fetch ;;
  start) start ;;
  # shellcheck disable=SC2086 # the node numbers
  stop) stop_nodes TERM $ALL_NODES ;;
  status) status ;;
  clean) clean ;;
  logs)
    if [ "$NODES" -gt 1 ] && [[ ${1:-} =~ ^[0-9]+$ ]]; then
      node_arg logs "$1"
      at_node "$1"
      shift
      tail -n 100 "$@" "$SERVER_LOG"
    elif [ "$NODES" -gt 1 ]; then
      files=()
      for i in $ALL_NODES; do at_node "$i"; files+=("$SERVER_LOG"); done
      tail -n 100 "$@" "${files[@]}"
    else
      tail -n 100 "$@" "$SERVER_LOG"
    fi
    ;;
  stop-node) node_arg "$cmd" "${1:-}"; stop_nodes TERM "$1" ;;
  kill-node) node_arg "$cmd" "${1:-}"; stop_nodes KILL "$1" ;;
  start-node) node_arg "$cmd" "${1:-}"; start_one "$1" ;;
  *) sed -n '2,/^set -euo pipefail/{/^set -euo/!p}' "$0" >&2; exit 2 ;;
esac
