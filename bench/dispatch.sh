#!/usr/bin/env bash
# bench/dispatch.sh — M3 delivery throughput: how fast the dispatcher gets a
# county-wide warning's SMS out through a gateway that takes LATENCY_MS to
# answer each message, beside what that gateway itself answers in the same
# run to a plain client holding as many connections as the dispatcher has
# senders (wrk -c16), and beside the bound of sending one at a time
# (1000 / LATENCY_MS messages/s).
#
# Steps: demo database in a temp dir -> `yingji gateway-sim --latency-ms`
# -> `yingji serve --test-hooks` with that SMS gateway and an SMS rate far
# above what it can reach -> a level-3 warning over $AREA drafted by
# duty_zezhou, approved by the commander, published -> the warning clock
# moved one second per round (POST /api/v1/test/tick, as the clock
# thread does) until none of its SMS is pending -> messages / time ->
# wrk POSTing one message per request to the same gateway for DURATION s
# -> table + one TSV row in $RESULTS.  Every process started here is
# stopped on exit.
#
# Environment:
#   LATENCY_MS   the gateway's answer time per message (default 50)
#   AREA         region code of the warning (default 140525, 泽州县)
#   DURATION     seconds of the wrk run (default 10)
#   YINGJI_BIN   server binary (default build/yingji)
#   RESULTS      TSV file to append to (default bench/results/dispatch.tsv)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
LATENCY_MS=${LATENCY_MS:-50}
AREA=${AREA:-140525}
DURATION=${DURATION:-10}
SENDERS=16 # src/warning/deliver.c SENDERS
YINGJI_BIN=${YINGJI_BIN:-$ROOT/build/yingji}
RESULTS=${RESULTS:-$ROOT/bench/results/dispatch.tsv}
PASSWORD='Bench-Passw0rd!'
TOKEN="bench-gw-$$"

for tool in wrk curl jq python3; do
    command -v "$tool" >/dev/null || { echo "dispatch.sh: $tool is not installed" >&2; exit 1; }
done
[ -x "$YINGJI_BIN" ] || { echo "dispatch.sh: $YINGJI_BIN not built (make build/yingji)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/yj-bench-dispatch.XXXXXX")
SERVER_PID=
GW_PID=

cleanup() {
    local rc=$?
    for pid in $SERVER_PID $GW_PID; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH_NAME=dispatch.sh
. "$ROOT/bench/lib.sh"

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

echo "-- demo database in $TMP" >&2
"$YINGJI_BIN" demo --db "$TMP/b.db" --password "$PASSWORD" >"$TMP/demo.log" 2>&1 || {
    tail -n 30 "$TMP/demo.log" >&2; echo "dispatch.sh: demo failed" >&2; exit 1; }

GW_PORT=$(free_port)
GW_URL="http://127.0.0.1:$GW_PORT"
"$YINGJI_BIN" gateway-sim --listen "127.0.0.1:$GW_PORT" --token "$TOKEN" \
    --latency-ms "$LATENCY_MS" --delay-ms 1000 >"$TMP/gw.log" 2>&1 &
GW_PID=$!
wait_http "$GW_URL/stats" "$GW_PID" "$TMP/gw.log"

YJ_PORT=$(free_port)
YJ_URL="http://127.0.0.1:$YJ_PORT"
"$YINGJI_BIN" serve --db "$TMP/b.db" --listen "127.0.0.1:$YJ_PORT" --test-hooks \
    --sms-gateway "$GW_URL/sms" --gateway-token "$TOKEN" --channel-rates sms=100000 \
    >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
wait_http "$YJ_URL/healthz" "$SERVER_PID" "$TMP/server.log"

login() {
    curl -sf -X POST -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" "$YJ_URL/api/v1/login" | jq -r '.token // empty'
}
DUTY=$(login duty_zezhou)
CMD=$(login commander)
ADMIN=$(login admin)
[ -n "$DUTY" ] && [ -n "$CMD" ] && [ -n "$ADMIN" ] || { echo "dispatch.sh: login failed" >&2; exit 1; }

post() { # token path [json [version: If-Match]]
    local body='{}'
    [ $# -ge 3 ] && body=$3
    curl -sf -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
        ${4:+-H "If-Match: \"$4\""} -d "$body" "$YJ_URL$2"
}
EXPIRES=$(($(now_ms) + 6 * 3600 * 1000))
W=$(post "$DUTY" /api/v1/warnings "{\"event_type\":\"山洪\",\"level\":3,\"headline\":\"山洪黄色预警（压测）\",\"description\":\"上游强降雨。\",\"area\":{\"regions\":[\"$AREA\"]},\"expires\":$EXPIRES}")
WID=$(echo "$W" | jq -r .id)
# each step names the version it saw (If-Match)
W=$(post "$DUTY" "/api/v1/warnings/$WID/submit" '{}' "$(echo "$W" | jq -r .version)")
W=$(post "$CMD" "/api/v1/warnings/$WID/approve" '{}' "$(echo "$W" | jq -r .version)")
IDENT=$(post "$DUTY" "/api/v1/warnings/$WID/publish" '{}' "$(echo "$W" | jq -r .version)" | jq -r .identifier)

# SMS deliveries to make: every phone delivery of the warning (not the
# loudspeakers, not those without a number)
counts() { curl -sf -H "Authorization: Bearer $DUTY" "$YJ_URL/api/v1/warnings/$WID/deliveries?limit=1" | jq -c .counts; }
PHONES=$(counts | jq '[to_entries[] | select(.key != "terminal") | .value.pending // 0] | add')
echo "-- warning $IDENT over $AREA: $PHONES SMS to send; gateway answers in $LATENCY_MS ms" >&2

CLOCK=$(($(now_ms) + 1000))
T0=$(now_ms)
ROUNDS=0
while :; do
    post "$ADMIN" /api/v1/test/tick "{\"now\":$CLOCK,\"timers\":[\"warning\"]}" >/dev/null
    ROUNDS=$((ROUNDS + 1))
    CLOCK=$((CLOCK + 1000))
    LEFT=$(counts | jq '[to_entries[] | select(.key != "terminal") | .value.pending // 0] | add')
    [ "$LEFT" -eq 0 ] && break
    [ "$ROUNDS" -gt 10000 ] && { echo "dispatch.sh: still $LEFT pending after $ROUNDS rounds" >&2; exit 1; }
done
T1=$(now_ms)
SENT=$(curl -sf "$GW_URL/requests" | jq --arg w "$IDENT" '[.[] | select(.warning == $w)] | length')
MAXFLIGHT=$(curl -sf "$GW_URL/stats" | jq '.max_in_flight // 0')
YJ_RATE=$(awk -v n="$SENT" -v ms="$((T1 - T0))" 'BEGIN { printf "%.1f", (ms > 0 ? n * 1000 / ms : 0) }')
kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

# ---- the peer: the same gateway, a plain client with as many connections ----
cat >"$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"id":1,"channel":"sms","to":"13800000000","text":"【压测】同一网关","segments":1,"warning":"peer","level":3,"must_ack":false}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
echo "-- wrk -t2 -c$SENDERS -d${DURATION}s POST $GW_URL/sms" >&2
wrk -t2 -c"$SENDERS" -d"${DURATION}s" -s "$TMP/post.lua" "$GW_URL/sms" >"$TMP/wrk.txt" 2>&1 || {
    cat "$TMP/wrk.txt" >&2; echo "dispatch.sh: wrk failed" >&2; exit 1; }
PEER_RATE=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.txt")
[ -n "$PEER_RATE" ] || { cat "$TMP/wrk.txt" >&2; echo "dispatch.sh: could not parse wrk" >&2; exit 1; }
SEQ_BOUND=$(awk -v l="$LATENCY_MS" 'BEGIN { printf "%.1f", (l > 0 ? 1000 / l : 0) }')
RATIO=$(awk -v a="$YJ_RATE" -v b="$PEER_RATE" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')

COMMIT=$(bench_commit)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)

echo
echo "M3 dispatch: $SENT SMS of a warning over $AREA through a gateway answering in $LATENCY_MS ms"
printf '%-52s %12s\n' '' 'messages/s'
printf '%-52s %12s\n' "yingji dispatcher ($ROUNDS rounds, $((T1 - T0)) ms, $SENDERS senders)" "$YJ_RATE"
printf '%-52s %12s\n' "peer: wrk -c$SENDERS POSTing to the same gateway" "$PEER_RATE"
printf '%-52s %12s\n' "bound of sending one at a time (1000 / $LATENCY_MS ms)" "$SEQ_BOUND"
printf 'yingji / peer = %s; most messages in flight at once: %s\n' "$RATIO" "$MAXFLIGHT"
printf 'load average (1 min) before the run: %s on %s cores\n' "$LOAD_START" "$(nproc)"

mkdir -p "$(dirname "$RESULTS")"
if [ ! -s "$RESULTS" ]; then
    printf 'date\tcommit\tarea\tlatency_ms\tsms\trounds\tms\tyj_msgs_s\tpeer_msgs_s\tratio\tone_at_a_time_msgs_s\tmax_in_flight\tload1_start\n' >"$RESULTS"
fi
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$DATE" "$COMMIT" "$AREA" "$LATENCY_MS" \
    "$SENT" "$ROUNDS" "$((T1 - T0))" "$YJ_RATE" "$PEER_RATE" "$RATIO" "$SEQ_BOUND" "$MAXFLIGHT" \
    "$LOAD_START" >>"$RESULTS"
echo "(row appended to $RESULTS)"
