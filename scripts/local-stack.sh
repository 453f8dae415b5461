#!/usr/bin/env bash
# Starts, stops and reports the local Redis and PostgreSQL that `make run` uses.
#
#   scripts/local-stack.sh start|stop|status
#
# Redis listens on 127.0.0.1:${REDIS_PORT:-16379} and persists nothing: it holds only hot state that the
# gateway rebuilds from PostgreSQL. PostgreSQL listens on 127.0.0.1:${POSTGRES_PORT:-15432} with the
# durable defaults (fsync on), user postgres trusted on loopback, and a database "commscredits".
# Everything lives in ${LOCAL_DIR:-<repo>/.local}: data, the PostgreSQL socket, pid files and *.log.
# PostgreSQL refuses to run as root, so as root it runs as the postgres user. start and stop are
# idempotent; status exits 0 when both servers run and 3 otherwise.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
local_dir=${LOCAL_DIR:-$repo_root/.local}
redis_port=${REDIS_PORT:-16379}
postgres_port=${POSTGRES_PORT:-15432}
database=commscredits

redis_dir=$local_dir/redis
redis_pid_file=$local_dir/redis.pid
redis_log=$local_dir/redis.log
postgres_data=$local_dir/postgres
postgres_socket_dir=$local_dir/socket
postgres_log=$local_dir/postgres.log

# Bounds every wait for a server to come up or go down.
wait_seconds=60

fail() {
    echo "local-stack: $*" >&2
    exit 1
}

log_tail() {
    if [[ -f $1 ]]; then
        echo "--- last lines of $1 ---" >&2
        tail -n 20 "$1" >&2
    fi
}

is_root() {
    [[ $(id -u) -eq 0 ]]
}

# Runs a command as the postgres user when we are root (PostgreSQL and pg_ctl refuse root).
as_postgres() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Makes a directory that PostgreSQL writes to; as root it belongs to the postgres user.
make_postgres_dir() {
    if is_root; then
        install -d -o postgres -g postgres -m "$2" "$1"
    else
        install -d -m "$2" "$1"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

find_postgres_bin() {
    local version bin
    for version in $(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -rV); do
        bin=/usr/lib/postgresql/$version/bin
        if [[ -x $bin/postgres && -x $bin/initdb && -x $bin/pg_ctl ]]; then
            echo "$bin"
            return 0
        fi
    done
    fail "PostgreSQL server binaries not found in /usr/lib/postgresql/<version>/bin; run scripts/install-deps.sh runtime (or: sudo apt-get install postgresql)"
}

require_redis() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        fail "redis-server or redis-cli not found; run scripts/install-deps.sh runtime (or: sudo apt-get install redis-server)"
    fi
}

redis_pid() {
    local pid
    [[ -f $redis_pid_file ]] || return 1
    pid=$(<"$redis_pid_file")
    # A pid file outlives a crash and its number may be reused: only a live redis-server counts.
    if [[ $pid =~ ^[0-9]+$ ]] && grep -qa redis-server "/proc/$pid/cmdline" 2>/dev/null; then
        echo "$pid"
        return 0
    fi
    rm -f "$redis_pid_file"
    return 1
}

redis_answers() {
    [[ $(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null) == PONG ]]
}

start_redis() {
    require_redis
    local pid
    if pid=$(redis_pid); then
        echo "redis: already running (pid $pid, 127.0.0.1:$redis_port)"
        return 0
    fi
    if port_in_use "$redis_port"; then
        fail "port $redis_port is in use by another process; stop it or set REDIS_PORT"
    fi
    mkdir -p "$redis_dir"
    # hash-max-listpack-value 512: a session hash (values up to ~200 bytes) stays a compact listpack, half the memory
    # of a hashtable (docs/scaling.md, "What one node holds").
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --hash-max-listpack-value 512 \
        --dir "$redis_dir" --daemonize yes --pidfile "$redis_pid_file" --logfile "$redis_log" ||
        { log_tail "$redis_log"; fail "redis-server failed to start"; }
    local deadline=$((SECONDS + wait_seconds))
    until redis_answers; do
        if ((SECONDS >= deadline)); then
            log_tail "$redis_log"
            fail "redis did not answer PING on 127.0.0.1:$redis_port within ${wait_seconds}s"
        fi
        sleep 0.1
    done
    echo "redis: started (pid $(redis_pid), 127.0.0.1:$redis_port, log $redis_log)"
}

stop_redis() {
    local pid
    if ! pid=$(redis_pid); then
        echo "redis: not running"
        return 0
    fi
    kill -TERM "$pid"
    local deadline=$((SECONDS + wait_seconds))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || fail "redis (pid $pid) did not stop within ${wait_seconds}s"
        sleep 0.1
    done
    rm -f "$redis_pid_file"
    echo "redis: stopped"
}

postgres_running() {
    [[ -f $postgres_data/PG_VERSION ]] && as_postgres "$postgres_bin/pg_ctl" status -D "$postgres_data" >/dev/null 2>&1
}

postgres_pid() {
    head -n 1 "$postgres_data/postmaster.pid"
}

init_postgres() {
    if [[ -f $postgres_data/PG_VERSION ]]; then
        return 0
    fi
    make_postgres_dir "$postgres_data" 0700
    echo "postgres: creating a cluster in $postgres_data"
    as_postgres "$postgres_bin/initdb" --pgdata "$postgres_data" --username postgres \
        --auth-local trust --auth-host trust --encoding UTF8 --locale C.UTF-8 --data-checksums >/dev/null ||
        fail "initdb failed for $postgres_data"
    # Settings that depend on this checkout (port, socket path) go to a file rewritten at each start.
    echo "include_if_exists = 'commscredits-local.conf'" | as_postgres tee -a "$postgres_data/postgresql.conf" >/dev/null
}

write_postgres_settings() {
    as_postgres tee "$postgres_data/commscredits-local.conf" >/dev/null <<EOF
# Written by scripts/local-stack.sh at each start; edits are lost.
listen_addresses = '127.0.0.1'
port = $postgres_port
unix_socket_directories = '$postgres_socket_dir'
max_connections = 200
timezone = 'UTC'
EOF
}

start_postgres() {
    if postgres_running; then
        echo "postgres: already running (pid $(postgres_pid), 127.0.0.1:$postgres_port)"
        return 0
    fi
    if port_in_use "$postgres_port"; then
        fail "port $postgres_port is in use by another process; stop it or set POSTGRES_PORT"
    fi
    if is_root && ! runuser -u postgres -- test -x "$local_dir"; then
        fail "the postgres user cannot enter $local_dir (a parent directory is private); set LOCAL_DIR to a directory it can reach"
    fi
    make_postgres_dir "$postgres_socket_dir" 0755
    init_postgres
    write_postgres_settings
    # The server appends to its log as the postgres user, who may not create files in $local_dir.
    touch "$postgres_log"
    if is_root; then
        chown postgres:postgres "$postgres_log"
    fi
    as_postgres "$postgres_bin/pg_ctl" start -D "$postgres_data" -l "$postgres_log" -w -t "$wait_seconds" >/dev/null ||
        { log_tail "$postgres_log"; fail "PostgreSQL failed to start"; }
    create_database
    echo "postgres: started (pid $(postgres_pid), 127.0.0.1:$postgres_port, database $database, log $postgres_log)"
}

create_database() {
    local psql=("$postgres_bin/psql" -h 127.0.0.1 -p "$postgres_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    if [[ -z $("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$database'") ]]; then
        "${psql[@]}" -c "CREATE DATABASE $database" >/dev/null
        echo "postgres: created database $database"
    fi
}

stop_postgres() {
    if ! postgres_running; then
        echo "postgres: not running"
        return 0
    fi
    as_postgres "$postgres_bin/pg_ctl" stop -D "$postgres_data" -m fast -w -t "$wait_seconds" >/dev/null ||
        { log_tail "$postgres_log"; fail "PostgreSQL did not stop within ${wait_seconds}s"; }
    echo "postgres: stopped"
}

status() {
    local all_running=0 pid
    if pid=$(redis_pid); then
        echo "redis:    running (pid $pid, 127.0.0.1:$redis_port, log $redis_log)"
    else
        echo "redis:    stopped"
        all_running=3
    fi
    if postgres_running; then
        echo "postgres: running (pid $(postgres_pid), 127.0.0.1:$postgres_port, database $database, log $postgres_log)"
    else
        echo "postgres: stopped"
        all_running=3
    fi
    return "$all_running"
}

main() {
    case ${1:-} in
        start)
            postgres_bin=$(find_postgres_bin)
            mkdir -p "$local_dir"
            start_redis
            start_postgres
            ;;
        stop)
            postgres_bin=$(find_postgres_bin)
            stop_redis
            stop_postgres
            ;;
        status)
            postgres_bin=$(find_postgres_bin)
            status
            ;;
        *)
            echo "usage: $0 start|stop|status" >&2
            exit 2
            ;;
    esac
}

main "$@"
