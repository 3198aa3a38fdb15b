#!/usr/bin/env bash
# scripts/pg-cluster.sh — a throwaway PostgreSQL cluster for tests and
# benchmarks (Debian's postgresql package).
#
#   scripts/pg-cluster.sh start DIR   initdb in DIR (if new), start on a free
#                                     loopback port; prints the URL of its
#                                     database "postgres" as user "yingji"
#   scripts/pg-cluster.sh url DIR     the URL of a running cluster
#   scripts/pg-cluster.sh stop DIR    stop it and remove DIR
#
# As root the server runs as the `postgres` user (initdb refuses root).  The
# cluster is for tests: fsync is off (the tests kill yingji, never the
# database server; the restore drill in tests/ops makes its own cluster with
# fsync on), and the socket stays in DIR.
set -euo pipefail

cmd=${1:?usage: pg-cluster.sh start|url|stop DIR}
DIR=${2:?usage: pg-cluster.sh start|url|stop DIR}
FSYNC=${PG_FSYNC:-off}

PGBIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "pg-cluster.sh: PostgreSQL is not installed (scripts/deps.sh installs it)" >&2
    exit 1
fi
RUN=()
if [ "$(id -u)" -eq 0 ]; then
    RUN=(runuser -u postgres --)
fi

case "$cmd" in
start)
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        mkdir -p "$DIR/data" "$DIR/sock"
        [ ${#RUN[@]} -eq 0 ] || chown postgres "$DIR" "$DIR/data" "$DIR/sock"
        "${RUN[@]}" "$PGBIN/initdb" -D "$DIR/data" -U yingji -A trust -E UTF8 --locale=C.UTF-8 -N \
            >"$DIR/initdb.log" 2>&1 ||
            { echo "pg-cluster.sh: initdb failed:" >&2; tail -n 5 "$DIR/initdb.log" >&2; exit 1; }
    fi
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/sock/postgres.log" -w -t 60 -o \
        "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR/sock -c fsync=$FSYNC \
         -c synchronous_commit=$([ "$FSYNC" = on ] && echo on || echo off) \
         -c full_page_writes=$FSYNC -c max_connections=400 -c shared_buffers=256MB" start >/dev/null ||
        { echo "pg-cluster.sh: the server did not start:" >&2; tail -n 5 "$DIR/sock/postgres.log" >&2; exit 1; }
    echo "postgres://yingji@127.0.0.1:$PORT/postgres" | tee "$DIR/url"
    ;;
url)
    cat "$DIR/url"
    ;;
stop)
    if [ -f "$DIR/data/PG_VERSION" ]; then
        "${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
    ;;
*)
    echo "usage: pg-cluster.sh start|url|stop DIR" >&2
    exit 2
    ;;
esac
