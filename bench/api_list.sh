#!/usr/bin/env bash
# bench/api_list.sh — SPEC §6 API benchmark: an authenticated list read
# (GET /api/v1/registries/enterprise?limit=50, Bearer token) under 64
# connections with wrk, beside nginx serving the very same response body as a
# static file in the same run, so the figures can be read against a known
# fast HTTP server on the same machine at the same moment.
#
# Steps: demo database in a temp dir -> yingji serve -> log in as `duty` ->
# fetch the response body once -> wrk on yingji -> own nginx instance (2
# workers, generated config, free port) serving that body at the same path ->
# wrk on nginx -> table + one TSV row in $RESULTS.  Every process started
# here is stopped on exit, whatever happens.
#
# Then the same read on PostgreSQL (scripts/pg-cluster.sh: a throwaway
# cluster in the temp dir): one node, and two nodes behind an nginx reverse
# proxy (deploy/nginx-yingji.conf's upstream, without TLS) — all on the same
# two cores as wrk, so the second node adds work, not cores.  Rows go to
# $RESULTS_PG.  BENCH_PG=0 skips this part.
#
# Environment:
#   DURATION     seconds per wrk run (default 15)
#   CONNECTIONS  wrk connections (default 64);  THREADS wrk threads (default 2)
#   YINGJI_BIN   server binary (default build/yingji)
#   RESULTS      TSV file to append to (default bench/results/api_list.tsv)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
YINGJI_BIN=${YINGJI_BIN:-$ROOT/build/yingji}
RESULTS=${RESULTS:-$ROOT/bench/results/api_list.tsv}
RESULTS_PG=${RESULTS_PG:-$ROOT/bench/results/api_list_pg.tsv}
BENCH_PG=${BENCH_PG:-1}
PASSWORD='Bench-Passw0rd!'
PATH_QUERY='/api/v1/registries/enterprise?limit=50'

for tool in wrk nginx curl jq python3; do
    command -v "$tool" >/dev/null || { echo "api_list.sh: $tool is not installed" >&2; exit 1; }
done
[ -x "$YINGJI_BIN" ] || { echo "api_list.sh: $YINGJI_BIN not built (make build/yingji)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/yj-bench.XXXXXX")
SERVER_PID=
NGINX_PID=
PG_PIDS=
PG_DIR=

# Stop what we started (by pid only) and remove the temp dir.
cleanup() {
    local rc=$?
    for pid in $SERVER_PID $NGINX_PID $PG_PIDS; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    [ -z "$PG_DIR" ] || "$ROOT/scripts/pg-cluster.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH_NAME=api_list.sh
. "$ROOT/bench/lib.sh"

# wrk latency ("812.00us", "1.53ms", "1.02s", "2.00m") -> milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
        printf "%.3f", n }'
}

# Run wrk against base URL $1 (name $2); sets <name>_RPS, _P50, _P99, _BAD.
run_wrk() {
    local base=$1 name=$2 out="$TMP/wrk-$2.txt"
    echo "-- wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency $base$PATH_QUERY" >&2
    BENCH_TOKEN=$TOKEN wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$ROOT/bench/auth.lua" "$base$PATH_QUERY" >"$out" 2>&1 || {
        cat "$out" >&2; echo "api_list.sh: wrk failed on $name" >&2; return 1; }
    local rps p50 p99 non2xx errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
    errors=$(awk '/Socket errors:/ {print}' "$out")
    if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ]; then
        cat "$out" >&2; echo "api_list.sh: could not parse wrk output for $name" >&2; return 1
    fi
    [ -n "$errors" ] && echo "   $name: $errors" >&2
    [ -n "$non2xx" ] && echo "   $name: WARNING $non2xx non-2xx responses (figures invalid)" >&2
    printf -v "${name}_RPS" '%s' "$rps"
    printf -v "${name}_P50" '%s' "$(to_ms "$p50")"
    printf -v "${name}_P99" '%s' "$(to_ms "$p99")"
    printf -v "${name}_BAD" '%s' "${non2xx:-0}"
}

# 1-minute load average before measuring: on a 2-core machine anything else
# running (a build, a test suite) shows up here and skews both servers.
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

# ---- yingji ------------------------------------------------------------------
echo "-- demo database in $TMP" >&2
"$YINGJI_BIN" demo --db "$TMP/b.db" --password "$PASSWORD" >"$TMP/demo.log" 2>&1 || {
    tail -n 30 "$TMP/demo.log" >&2; echo "api_list.sh: demo failed" >&2; exit 1; }

YJ_PORT=$(free_port)
YJ_URL="http://127.0.0.1:$YJ_PORT"
"$YINGJI_BIN" serve --db "$TMP/b.db" --listen "127.0.0.1:$YJ_PORT" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
wait_http "$YJ_URL/healthz" "$SERVER_PID" "$TMP/server.log"

TOKEN=$(curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"duty\",\"password\":\"$PASSWORD\"}" "$YJ_URL/api/v1/login" | jq -r '.token // empty') || true
[ -n "$TOKEN" ] || { echo "api_list.sh: login as duty failed" >&2; exit 1; }

# The exact body nginx will serve; also checks the request works at all.
mkdir -p "$TMP/www/api/v1/registries"
BODY="$TMP/www/api/v1/registries/enterprise"
curl -sf -H "Authorization: Bearer $TOKEN" "$YJ_URL$PATH_QUERY" -o "$BODY" || {
    echo "api_list.sh: GET $PATH_QUERY failed" >&2; exit 1; }
ITEMS=$(jq '.items | length' "$BODY")
BODY_BYTES=$(wc -c <"$BODY")
echo "-- response: $ITEMS items, $BODY_BYTES bytes" >&2

run_wrk "$YJ_URL" yj
# Peak resident memory of the server over the whole run (SPEC §6: demo city <= 200 MB).
YJ_RSS_MB=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

# ---- nginx: same path, same body, as a static file ----------------------------
NG_PORT=$(free_port)
mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
# Started as root, nginx workers would switch to `nobody` and could not read
# the private temp dir: keep them as the current user.
NG_USER=
if [ "$(id -u)" = 0 ]; then NG_USER="user $(id -un) $(id -gn);"; fi
cat >"$TMP/nginx/nginx.conf" <<CONF
$NG_USER
worker_processes 2;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path $TMP/nginx/tmp/body;
    proxy_temp_path $TMP/nginx/tmp/proxy;
    fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
    default_type application/json;
    server {
        listen 127.0.0.1:$NG_PORT;
        root $TMP/www;
        location / { try_files \$uri =404; }
    }
}
CONF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g "daemon off; pid $TMP/nginx/nginx.pid;" \
    >"$TMP/nginx/logs/stdout.log" 2>&1 &
NGINX_PID=$!
wait_http "http://127.0.0.1:$NG_PORT/" "$NGINX_PID" "$TMP/nginx/logs/error.log"
cmp -s "$BODY" <(curl -sf "http://127.0.0.1:$NG_PORT$PATH_QUERY") || {
    echo "api_list.sh: nginx does not serve the same body" >&2; exit 1; }

run_wrk "http://127.0.0.1:$NG_PORT" ng
kill "$NGINX_PID" && wait "$NGINX_PID" 2>/dev/null || true
NGINX_PID=

# ---- PostgreSQL: one node, then two behind nginx ------------------------------
pg1_RPS=; pg2_RPS=
# the cluster's directory: readable by the postgres user (the temp dir is not)
PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/yj-bench-pg.XXXXXX")
chmod 755 "$PG_DIR"
if [ "$BENCH_PG" = 1 ] && PG_URL=$("$ROOT/scripts/pg-cluster.sh" start "$PG_DIR" 2>"$TMP/pg.log"); then
    PG_DB=${PG_URL%/postgres}/bench
    psql -X -q "$PG_URL" -c "CREATE DATABASE bench" >/dev/null
    echo "-- demo database on PostgreSQL" >&2
    "$YINGJI_BIN" demo --db "$PG_DB" --password "$PASSWORD" --logins "$TMP/pg-logins.json" \
        >"$TMP/demo-pg.log" 2>&1 || { tail -n 30 "$TMP/demo-pg.log" >&2; echo "api_list.sh: demo on PostgreSQL failed" >&2; exit 1; }
    P1=$(free_port); P2=$(free_port)
    "$YINGJI_BIN" serve --db "$PG_DB" --listen "127.0.0.1:$P1" --node n1 >"$TMP/pg1.log" 2>&1 &
    PG_PIDS="$!"
    wait_http "http://127.0.0.1:$P1/healthz" "$!" "$TMP/pg1.log"
    TOKEN=$(curl -sf -X POST -H 'Content-Type: application/json' \
        -d "{\"username\":\"duty\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$P1/api/v1/login" | jq -r '.token // empty') || true
    [ -n "$TOKEN" ] || { echo "api_list.sh: login on PostgreSQL failed" >&2; exit 1; }
    cmp -s "$BODY" <(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P1$PATH_QUERY") || \
        echo "   note: the PostgreSQL node's body differs from SQLite's (same demo seed; compare sizes)" >&2
    run_wrk "http://127.0.0.1:$P1" pg1
    "$YINGJI_BIN" serve --db "$PG_DB" --listen "127.0.0.1:$P2" --node n2 >"$TMP/pg2.log" 2>&1 &
    PG_PIDS="$PG_PIDS $!"
    wait_http "http://127.0.0.1:$P2/healthz" "$!" "$TMP/pg2.log"
    PX_PORT=$(free_port)
    mkdir -p "$TMP/px/logs" "$TMP/px/tmp"
    cat >"$TMP/px/nginx.conf" <<CONF
$NG_USER
worker_processes 2;
error_log $TMP/px/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/px/tmp/body;
    proxy_temp_path $TMP/px/tmp/proxy;
    fastcgi_temp_path $TMP/px/tmp/fastcgi;
    upstream yingji { server 127.0.0.1:$P1; server 127.0.0.1:$P2; keepalive 64; }
    server {
        listen 127.0.0.1:$PX_PORT;
        location / {
            proxy_pass http://yingji;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$remote_addr;
        }
    }
}
CONF
    nginx -p "$TMP/px" -c "$TMP/px/nginx.conf" -g "daemon off; pid $TMP/px/nginx.pid;" >"$TMP/px/logs/stdout.log" 2>&1 &
    PG_PIDS="$PG_PIDS $!"
    wait_http "http://127.0.0.1:$PX_PORT/healthz" "$!" "$TMP/px/logs/error.log"
    run_wrk "http://127.0.0.1:$PX_PORT" pg2
else
    [ "$BENCH_PG" = 1 ] && echo "   PostgreSQL part skipped: $(tail -n 2 "$TMP/pg.log" 2>/dev/null)" >&2
fi

# ---- report ------------------------------------------------------------------
RATIO=$(awk -v a="$yj_RPS" -v b="$ng_RPS" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
COMMIT=$(bench_commit)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)

echo
echo "API list read: GET $PATH_QUERY ($ITEMS items, $BODY_BYTES bytes), wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
printf '%-24s %12s %10s %10s %8s\n' server 'req/s' 'p50 ms' 'p99 ms' non-2xx
printf '%-24s %12s %10s %10s %8s\n' 'yingji (auth + SQLite)' "$yj_RPS" "$yj_P50" "$yj_P99" "$yj_BAD"
printf '%-24s %12s %10s %10s %8s\n' 'nginx (static file)' "$ng_RPS" "$ng_P50" "$ng_P99" "$ng_BAD"
if [ -n "$pg1_RPS" ]; then
    printf '%-24s %12s %10s %10s %8s\n' 'yingji (PostgreSQL, 1)' "$pg1_RPS" "$pg1_P50" "$pg1_P99" "$pg1_BAD"
    printf '%-24s %12s %10s %10s %8s\n' 'yingji (PG, 2 + nginx)' "$pg2_RPS" "$pg2_P50" "$pg2_P99" "$pg2_BAD"
fi
printf 'yingji / nginx = %s   (SPEC target: >= 20000 req/s, p99 <= 20 ms)\n' "$RATIO"
printf 'yingji peak RSS: %s MB   (SPEC target: demo city <= 200 MB)\n' "$YJ_RSS_MB"
printf 'load average (1 min) before the run: %s on %s cores\n' "$LOAD_START" "$(nproc)"

mkdir -p "$(dirname "$RESULTS")"
if [ ! -s "$RESULTS" ]; then
    printf 'date\tcommit\tduration_s\tconnections\tbody_bytes\tyj_rps\tyj_p50_ms\tyj_p99_ms\tyj_non2xx\tnginx_rps\tnginx_p50_ms\tnginx_p99_ms\tratio\tload1_start\tyj_peak_rss_mb\n' >"$RESULTS"
fi
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$DATE" "$COMMIT" "$DURATION" \
    "$CONNECTIONS" "$BODY_BYTES" "$yj_RPS" "$yj_P50" "$yj_P99" "$yj_BAD" \
    "$ng_RPS" "$ng_P50" "$ng_P99" "$RATIO" "$LOAD_START" "$YJ_RSS_MB" >>"$RESULTS"
echo "(row appended to ${RESULTS#$ROOT/})"
if [ -n "$pg1_RPS" ]; then
    if [ ! -s "$RESULTS_PG" ]; then
        printf 'date\tcommit\tduration_s\tconnections\tsqlite_rps\tsqlite_p99_ms\tpg1_rps\tpg1_p50_ms\tpg1_p99_ms\tpg1_non2xx\tpg2_rps\tpg2_p50_ms\tpg2_p99_ms\tpg2_non2xx\tnginx_rps\n' >"$RESULTS_PG"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$DATE" "$COMMIT" "$DURATION" "$CONNECTIONS" \
        "$yj_RPS" "$yj_P99" "$pg1_RPS" "$pg1_P50" "$pg1_P99" "$pg1_BAD" "$pg2_RPS" "$pg2_P50" "$pg2_P99" "$pg2_BAD" \
        "$ng_RPS" >>"$RESULTS_PG"
    echo "(row appended to ${RESULTS_PG#$ROOT/})"
fi
