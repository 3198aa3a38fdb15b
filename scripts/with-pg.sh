#!/usr/bin/env bash
# scripts/with-pg.sh CMD... — run CMD beside a throwaway PostgreSQL cluster
# (scripts/pg-cluster.sh), with YJ_TEST_PG_URL (its admin database) and
# YJ_TEST_PG_DIR set; the cluster is stopped and removed afterwards,
# whatever CMD does.  Used by `make test` to run the suites on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=$(mktemp -d /tmp/yingji-pg.XXXXXX)
chmod 755 "$DIR"
cleanup() {
    mkdir -p build && cp "$DIR/sock/postgres.log" build/pg-test.log 2>/dev/null || true
    scripts/pg-cluster.sh stop "$DIR" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
YJ_TEST_PG_URL=$(scripts/pg-cluster.sh start "$DIR")
export YJ_TEST_PG_URL YJ_TEST_PG_DIR="$DIR"
"$@"
