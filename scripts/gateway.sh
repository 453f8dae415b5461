#!/usr/bin/env bash
# Runs the gateway in the foreground with a pid file, or stops the gateway so started.
#
#   scripts/gateway.sh serve <path to CommsCredits.Gateway.dll>   # Ctrl-C stops it
#   scripts/gateway.sh stop
#
# The pid file is ${LOCAL_DIR:-<repo>/.local}/gateway.pid. The gateway reads its settings from the
# environment (Storage__Redis, Storage__Postgres, Server__Endpoint), which the Makefile sets.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
local_dir=${LOCAL_DIR:-$repo_root/.local}
pid_file=$local_dir/gateway.pid

# Bounds the wait for a graceful shutdown before SIGKILL.
stop_wait_seconds=30

fail() {
    echo "gateway: $*" >&2
    exit 1
}

# The pid of the running gateway, if the pid file names one (a stale file is removed).
gateway_pid() {
    local pid
    [[ -f $pid_file ]] || return 1
    pid=$(<"$pid_file")
    # The number in a stale pid file may belong to another process by now.
    if [[ $pid =~ ^[0-9]+$ ]] && grep -qa CommsCredits.Gateway "/proc/$pid/cmdline" 2>/dev/null; then
        echo "$pid"
        return 0
    fi
    rm -f "$pid_file"
    return 1
}

serve() {
    local dll=${1:-}
    [[ -f $dll ]] || fail "gateway not built: $dll is missing (run make build)"
    local pid
    if pid=$(gateway_pid); then
        fail "a gateway is already running (pid $pid); run make stop first"
    fi
    mkdir -p "$local_dir"
    # exec keeps this shell's pid, so the file names the gateway itself.
    echo "$$" >"$pid_file"
    exec dotnet "$dll" serve
}

stop() {
    local pid
    if ! pid=$(gateway_pid); then
        echo "gateway: not running"
        return 0
    fi
    kill -TERM "$pid"
    local deadline=$((SECONDS + stop_wait_seconds))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            echo "gateway: no graceful stop within ${stop_wait_seconds}s; sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$pid_file"
    echo "gateway: stopped"
}

case ${1:-} in
    serve) serve "${2:-}" ;;
    stop) stop ;;
    *)
        echo "usage: $0 serve <gateway dll> | stop" >&2
        exit 2
        ;;
esac
