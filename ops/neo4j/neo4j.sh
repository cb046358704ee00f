#!/usr/bin/env bash
# Start, stop and inspect the local Neo4j Community 5.26 server used for development and tests.
#
#   bash ops/neo4j/neo4j.sh up       build the launcher once, start the server, wait for Bolt
#   bash ops/neo4j/neo4j.sh down     stop it (TERM, then KILL after a timeout)
#   bash ops/neo4j/neo4j.sh status   say whether it runs and answers on Bolt
#
# Settings (environment, defaults as in .env.example): NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD,
# NEO4J_HEAP (1g), NEO4J_PAGECACHE (512m), NEO4J_START_TIMEOUT (120 s), NEO4J_STOP_TIMEOUT (60 s).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VAR="$ROOT/var/neo4j"
PID_FILE="$VAR/neo4j.pid"
LOG_FILE="$VAR/neo4j.log"
PY="$ROOT/.venv/bin/python"
JAR="$HERE/target/neo4j-launcher-1.0.0.jar"
LIB="$HERE/target/lib"

if [ -f "$ROOT/.env" ]; then
    # Values already exported win over the .env file.
    while IFS='=' read -r key value; do
        case "$key" in ''|'#'*) continue ;; esac
        if [ -z "${!key+x}" ]; then export "$key=$value"; fi
    done < "$ROOT/.env"
fi
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:7687}"
export NEO4J_USER="${NEO4J_USER:-neo4j}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-dispute-dev-pass}"
NEO4J_HEAP="${NEO4J_HEAP:-1g}"
export NEO4J_PAGECACHE="${NEO4J_PAGECACHE:-512m}"
START_TIMEOUT="${NEO4J_START_TIMEOUT:-120}"
STOP_TIMEOUT="${NEO4J_STOP_TIMEOUT:-60}"

hostport="${NEO4J_URI#*://}"
hostport="${hostport%%/*}"
export NEO4J_BOLT_HOST="${hostport%%:*}"
export NEO4J_BOLT_PORT="${hostport##*:}"
[ "$NEO4J_BOLT_PORT" = "$hostport" ] && export NEO4J_BOLT_PORT=7687
export NEO4J_HOME_DIR="$VAR/dbms"

# JVM flags from Neo4j 5.26's own neo4j.conf (server.jvm.additional), for Java 17+.
JVM_FLAGS=(
    "-Xms256m" "-Xmx$NEO4J_HEAP" "-XX:MaxDirectMemorySize=256m"
    "-XX:+UseG1GC" "-XX:-OmitStackTraceInFastThrow" "-XX:+DisableExplicitGC"
    "-Djdk.nio.maxCachedBufferSize=1024" "-Dio.netty.tryReflectionSetAccessible=true"
    "-Djdk.tls.ephemeralDHKeySize=2048" "-Djdk.tls.rejectClientInitiatedRenegotiation=true"
    "-Dlog4j2.disable.jmx=true" "-Dlog4j.layout.jsonTemplate.maxStringLength=32768"
    "-Dfile.encoding=UTF-8"
    "--add-opens=java.base/java.nio=ALL-UNNAMED"
    "--add-opens=java.base/java.io=ALL-UNNAMED"
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"
    "--add-opens=java.base/java.lang=ALL-UNNAMED"
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED"
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED"
    "--enable-native-access=ALL-UNNAMED"
)

log() { echo "neo4j: $*"; }

build() {
    if [ -f "$JAR" ] && [ -d "$LIB" ] && [ -z "$(find "$HERE/pom.xml" "$HERE/src" -newer "$JAR" -type f)" ]; then
        return 0
    fi
    log "building the launcher (first time downloads Neo4j 5.26 from Maven Central)"
    (cd "$HERE" && mvn -q -B -Dstyle.color=never package dependency:copy-dependencies \
        -DoutputDirectory=target/lib -DincludeScope=runtime)
    touch "$JAR"
}

live_pid() {
    # Prints the launcher's pid when it is alive (and really is our launcher).
    [ -f "$PID_FILE" ] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q Neo4jLauncher || return 1
    echo "$pid"
}

port_open() {
    (exec 3<>"/dev/tcp/$NEO4J_BOLT_HOST/$NEO4J_BOLT_PORT") 2>/dev/null
}

bolt_answers() {
    "$PY" - <<'PYEOF' 2>/dev/null
import os
from neo4j import GraphDatabase
with GraphDatabase.driver(
    os.environ["NEO4J_URI"], auth=(os.environ["NEO4J_USER"], os.environ["NEO4J_PASSWORD"]),
    connection_timeout=5,
) as driver:
    driver.verify_connectivity()
PYEOF
}

wait_ready() {
    local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "the server exited during start-up; last lines of $LOG_FILE:"
            tail -n 40 "$LOG_FILE" >&2 || true
            rm -f "$PID_FILE"
            return 1
        fi
        if port_open && bolt_answers; then
            log "up (pid $pid) at $NEO4J_URI"
            return 0
        fi
        sleep 1
    done
    log "no Bolt answer after ${START_TIMEOUT}s; last lines of $LOG_FILE:"
    tail -n 40 "$LOG_FILE" >&2 || true
    return 1
}

cmd_up() {
    mkdir -p "$VAR"
    local pid
    if pid="$(live_pid)"; then
        log "already running (pid $pid)"
        wait_ready "$pid"
        return
    fi
    if port_open; then
        if bolt_answers; then
            log "another Neo4j already answers at $NEO4J_URI with these credentials; using it"
            return 0
        fi
        log "port $NEO4J_BOLT_PORT is taken by something that does not accept our credentials" >&2
        return 1
    fi
    build
    log "starting (heap $NEO4J_HEAP, page cache $NEO4J_PAGECACHE, data $NEO4J_HOME_DIR)"
    cd "$ROOT"
    setsid java "${JVM_FLAGS[@]}" -cp "$JAR:$LIB/*" org.disputerisk.ops.Neo4jLauncher \
        >>"$LOG_FILE" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$PID_FILE"
    wait_ready "$pid"
}

cmd_down() {
    local pid
    if ! pid="$(live_pid)"; then
        log "not running"
        rm -f "$PID_FILE"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
        log "no clean stop after ${STOP_TIMEOUT}s; killing pid $pid"
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid="$(live_pid)"; then
        if bolt_answers; then log "running (pid $pid), Bolt answers at $NEO4J_URI"; return 0; fi
        log "running (pid $pid), Bolt not answering yet"
        return 1
    fi
    log "not running"
    return 3
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
