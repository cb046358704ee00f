#!/usr/bin/env bash
# Start, stop and inspect the local PostgreSQL server of the register's tests and deployments.
#
#   bash ops/postgres/postgres.sh up       create the cluster once (var/postgres), start, wait
#   bash ops/postgres/postgres.sh down     stop it (fast shutdown)
#   bash ops/postgres/postgres.sh status   say whether it runs and accepts connections
#   bash ops/postgres/postgres.sh url      print the SQLAlchemy URL of the test database
#
# Uses Debian's `postgresql` server (apt-get install postgresql; `make system-deps` does it). The
# server refuses to run as root, so as root the cluster is owned by and run as the `postgres`
# user; otherwise as the calling user. Settings (environment, defaults as in .env.example):
# PG_PORT (5433, beside any system cluster on 5432), PG_USER (register), PG_PASSWORD,
# PG_DATABASE (register_test), PG_START_TIMEOUT (60 s).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VAR="$ROOT/var/postgres"
if [ "$(id -u)" = "0" ] && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    # The checkout is not reachable by the postgres user (e.g. under /root): keep the cluster in a
    # folder of its own, one per checkout.
    VAR="/var/tmp/dispute-register-postgres/$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)"
fi
DATA="$VAR/data"
LOG_FILE="$VAR/postgres.log"

if [ -f "$ROOT/.env" ]; then
    while IFS='=' read -r key value; do
        case "$key" in ''|'#'*) continue ;; esac
        if [ -z "${!key+x}" ]; then export "$key=$value"; fi
    done < "$ROOT/.env"
fi
PG_PORT="${PG_PORT:-5433}"
PG_USER="${PG_USER:-register}"
PG_PASSWORD="${PG_PASSWORD:-register-dev-pass}"
PG_DATABASE="${PG_DATABASE:-register_test}"
START_TIMEOUT="${PG_START_TIMEOUT:-60}"

log() { echo "postgres: $*"; }

bin_dir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$dir/postgres" ] && { echo "$dir"; return 0; }
    done
    command -v pg_ctl >/dev/null && { dirname "$(command -v pg_ctl)"; return 0; }
    log "no PostgreSQL server found: install Debian's postgresql package (make system-deps)" >&2
    return 1
}

BIN="$(bin_dir)"

as_owner() {
    # Run a command as the cluster's owner: `postgres` when we are root, else ourselves.
    if [ "$(id -u)" = "0" ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

url() { echo "postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"; }

ready() { as_owner "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

init_cluster() {
    [ -f "$DATA/PG_VERSION" ] && return 0
    log "creating the cluster in $DATA"
    mkdir -p "$VAR"
    touch "$LOG_FILE"
    if [ "$(id -u)" = "0" ]; then chown postgres: "$VAR" "$LOG_FILE"; chmod 755 "$(dirname "$VAR")" 2>/dev/null || true; fi
    local pwfile="$VAR/.pw"
    ( umask 077; printf '%s\n' "$PG_PASSWORD" > "$pwfile" )
    if [ "$(id -u)" = "0" ]; then chown postgres: "$pwfile"; fi
    as_owner "$BIN/initdb" -D "$DATA" -U "$PG_USER" --pwfile="$pwfile" --auth=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >>"$LOG_FILE" 2>&1
    rm -f "$pwfile"
}

cmd_up() {
    init_cluster
    if ready; then
        log "already running on 127.0.0.1:$PG_PORT"
    else
        log "starting on 127.0.0.1:$PG_PORT (data $DATA)"
        as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG_FILE" -w -t "$START_TIMEOUT" \
            -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $VAR -c max_connections=60 -c shared_buffers=128MB -c fsync=off -c synchronous_commit=off" \
            start >/dev/null
    fi
    if ! as_owner env PGPASSWORD="$PG_PASSWORD" "$BIN/psql" -h 127.0.0.1 \
        -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'" \
        | grep -q 1; then
        as_owner env PGPASSWORD="$PG_PASSWORD" "$BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$PG_DATABASE"
        log "created database $PG_DATABASE"
    fi
    log "up: $(url | sed 's/:[^:@]*@/:***@/')"
}

cmd_down() {
    if [ ! -f "$DATA/postmaster.pid" ]; then
        log "not running"
        return 0
    fi
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true
    log "stopped"
}

cmd_status() {
    if ready; then log "running on 127.0.0.1:$PG_PORT"; return 0; fi
    log "not running"
    return 3
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    url) url ;;
    *) echo "usage: $0 up|down|status|url" >&2; exit 2 ;;
esac
