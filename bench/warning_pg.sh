#!/usr/bin/env bash
# bench/warning_pg.sh — warning_bench on the second store: a throwaway
# PostgreSQL cluster (scripts/pg-cluster.sh, fsync on as in production), an
# empty database in it, and build/bench/warning_bench --db on that database:
# the same 1,000,000 residents, publish (deliveries by COPY) and
# acknowledgements as the SQLite run, rows to bench/results/*_pg.tsv.
#   ARGS: warning_bench's options (default the full size of `make bench`)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${WARNING_BENCH:-$ROOT/build/bench/warning_bench}
ARGS=${ARGS:---residents 1000000 --repeat 3 --ack-batch 1000,10000 --ack-single 2000}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/yj-bench-wpg.XXXXXX")
chmod 755 "$DIR"
trap '"$ROOT/scripts/pg-cluster.sh" stop "$DIR" >/dev/null 2>&1 || true' EXIT
URL=$(PG_FSYNC=on "$ROOT/scripts/pg-cluster.sh" start "$DIR")
psql -X -q "$URL" -c "CREATE DATABASE bench" >/dev/null
echo "-- warning_bench on PostgreSQL ($(psql -X -At "$URL" -c 'SHOW server_version'), fsync on)"
# shellcheck disable=SC2086 # ARGS is a list of options
"$BIN" --db "${URL%/postgres}/bench" $ARGS \
    --results "$ROOT/bench/results/warning_target_pg.tsv" \
    --ack-results "$ROOT/bench/results/warning_ack_pg.tsv"
