#!/usr/bin/env bash
# bench/mqtt_ingest.sh — SPEC §6 benchmark: readings end to end over MQTT on
# loopback, into storage, beside what the broker delivers to a subscriber
# that does nothing, in the same run; and reading-to-alarm latency.
#
# Steps:
#  1. a database with $SENSORS sensors (+ $PROBES probe sensors) and their
#     rules, made by build/bench/ingest_inproc --create-db (the same mix as
#     the in-process benchmark); a duty user for the event stream;
#  2. for each N in $CONSUMERS: a fresh mosquitto (temp config, free port,
#     max_queued_messages 1000000, no persistence) and a fresh copy of the
#     database; `yingji serve --mqtt ... --mqtt-consumers N`; a warm-up
#     message; then mqtt_pub publishes $TOTAL readings (QoS 1, $BATCH per
#     message, $PUBS connections) and /metrics is polled every 0.1 s until
#     yj_readings_accepted_total{source="mqtt"} has them all.  Rate = $TOTAL
#     / (last reading committed - first publish).  The stored readings
#     (history table + reading log not yet merged) are counted afterwards;
#  3. baseline: a fresh mosquitto, mqtt_sink with the best N's consumer count
#     (same QoS 1, persistent session, shared subscription), the very same
#     publisher load; rate = $TOTAL / (last message received - first publish);
#  4. latency: a fresh broker and database, the server with the best N,
#     $LAT_PROBES exceedance readings at $LAT_PROBE_RATE/s on sensors that
#     never reported while the publisher keeps $LAT_BG_RATE readings/s of
#     normal load going; each probe's latency is publish -> `alarm` event
#     (action raised) for its sensor on GET /api/v1/events (mqtt_pub.c);
#  5. table + one TSV row in $RESULTS.
# Every process started here is stopped on exit, whatever happens.
#
# Environment:
#   SENSORS (10000)  TOTAL (2000000)  BATCH (100)  PUBS (4)  CONSUMERS ("1 2 4 8 16")
#   LAT_PROBES (500)  LAT_PROBE_RATE (20)  LAT_BG_RATE (10000)
#   YINGJI_BIN (build/yingji)  BENCH_DIR (build/bench: ingest_inproc, mqtt_pub, mqtt_sink)
#   RESULTS (bench/results/mqtt_ingest.tsv)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SENSORS=${SENSORS:-10000}
TOTAL=${TOTAL:-2000000}
BATCH=${BATCH:-100}
PUBS=${PUBS:-4}
CONSUMERS=${CONSUMERS:-1 2 4 8 16}
LAT_PROBES=${LAT_PROBES:-500}
LAT_PROBE_RATE=${LAT_PROBE_RATE:-20}
LAT_BG_RATE=${LAT_BG_RATE:-10000}
YINGJI_BIN=${YINGJI_BIN:-$ROOT/build/yingji}
BENCH_DIR=${BENCH_DIR:-$ROOT/build/bench}
RESULTS=${RESULTS:-$ROOT/bench/results/mqtt_ingest.tsv}
PASSWORD='Bench-Passw0rd!'

for tool in mosquitto curl python3 sqlite3 jq; do
    command -v "$tool" >/dev/null || { echo "mqtt_ingest.sh: $tool is not installed" >&2; exit 1; }
done
for bin in "$YINGJI_BIN" "$BENCH_DIR/ingest_inproc" "$BENCH_DIR/mqtt_pub" "$BENCH_DIR/mqtt_sink"; do
    [ -x "$bin" ] || { echo "mqtt_ingest.sh: $bin not built (make bench builds it)" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/yj-bench-mqtt.XXXXXX")
PIDS=()

stop_pid() {
    local pid=$1
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}

# Stop what we started (by pid only) and remove the temp dir.
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH_NAME=mqtt_ingest.sh
. "$ROOT/bench/lib.sh"

# Start a fresh broker; sets MQ_PORT, MQ_PID.
start_broker() {
    MQ_PORT=$(free_port)
    mkdir -p "$TMP/mq"
    cat >"$TMP/mq/mosquitto.conf" <<CONF
listener $MQ_PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
log_dest file $TMP/mq/mosquitto.log
log_type error
log_type warning
CONF
    mosquitto -c "$TMP/mq/mosquitto.conf" >>"$TMP/mq/stdout.log" 2>&1 &
    MQ_PID=$!
    PIDS+=("$MQ_PID")
    for _ in $(seq 1 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$MQ_PORT),0.2)" 2>/dev/null; then
            return 0
        fi
        kill -0 "$MQ_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "mqtt_ingest.sh: mosquitto did not start; log:" >&2
    cat "$TMP/mq/stdout.log" "$TMP/mq/mosquitto.log" >&2 2>/dev/null || true
    exit 1
}

# Start yingji on a fresh copy of the database with N consumers; sets
# YJ_URL, SERVER_PID, RUN_DB.
start_server() {
    local n=$1
    RUN_DB="$TMP/run.db"
    rm -f "$RUN_DB" "$RUN_DB-wal" "$RUN_DB-shm"
    cp "$TMP/base.db" "$RUN_DB"
    local port
    port=$(free_port)
    YJ_URL="http://127.0.0.1:$port"
    "$YINGJI_BIN" serve --db "$RUN_DB" --listen "127.0.0.1:$port" \
        --mqtt "127.0.0.1:$MQ_PORT" --mqtt-consumers "$n" >"$TMP/server-$n.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null "$YJ_URL/healthz"; then return 0; fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "mqtt_ingest.sh: server exited early; log:" >&2; tail -n 30 "$TMP/server-$n.log" >&2; exit 1
        fi
        sleep 0.1
    done
    echo "mqtt_ingest.sh: server did not answer in 30 s" >&2; tail -n 30 "$TMP/server-$n.log" >&2
    exit 1
}

# Poll /metrics until accepted + rejected (source mqtt) >= $1 (from $3 at
# the start); print "<wall ms when reached> <accepted> <rejected> <wall ms
# when half was in>".  Fails after $2 s without progress.
wait_ingested() {
    python3 - "$YJ_URL/metrics" "$1" "$2" "$3" <<'PY'
import re, sys, time, urllib.request
url, target, stall, base = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
acc_re = re.compile(r'^yj_readings_accepted_total\{source="mqtt"\} (\d+)', re.M)
rej_re = re.compile(r'^yj_readings_rejected_total\{source="mqtt",reason="[a-z_]+"\} (\d+)', re.M)
last, last_change, half = -1, time.time(), 0
while True:
    body = urllib.request.urlopen(url, timeout=10).read().decode()
    acc = int(acc_re.search(body).group(1))
    rej = sum(int(x) for x in rej_re.findall(body))
    now = time.time()
    if not half and acc + rej >= base + (target - base) // 2:
        half = int(now * 1000)
    if acc + rej >= target:
        print(int(now * 1000), acc, rej, half)
        break
    if acc + rej != last:
        last, last_change = acc + rej, now
    elif now - last_change > stall:
        sys.exit("mqtt_ingest.sh: ingest stalled at %d of %d readings" % (acc + rej, target))
    time.sleep(0.1)
PY
}

# One warm-up message until the server has taken something (its consumers
# subscribe asynchronously), then a second for the other consumers.
warm_up() {
    local got
    for _ in $(seq 1 50); do
        "$BENCH_DIR/mqtt_pub" --port "$MQ_PORT" --list "$TMP/sensors.tsv" --total "$BATCH" \
            --batch "$BATCH" --conns 1 --exceed 0 >/dev/null
        got=$(curl -s "$YJ_URL/metrics" | awk '/^yj_readings_accepted_total\{source="mqtt"\}/ {print $2}')
        [ "${got:-0}" -gt 0 ] && { sleep 1; return 0; }
        sleep 0.2
    done
    echo "mqtt_ingest.sh: the server never took a reading from the broker" >&2
    tail -n 30 "$TMP/server-$1.log" >&2
    exit 1
}

kv() { awk -F= -v k="$1" '$1 == k {print $2}' "$2"; }

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

# ---- 1. database ---------------------------------------------------------------
echo "-- database: $SENSORS sensors + $LAT_PROBES probe sensors in $TMP" >&2
"$BENCH_DIR/ingest_inproc" --create-db "$TMP/base.db" --sensors "$SENSORS" --probes "$LAT_PROBES" \
    --list "$TMP/sensors.tsv"
"$YINGJI_BIN" user add benchduty --db "$TMP/base.db" --role duty --region 14 --name 值班员 \
    --password "$PASSWORD" >/dev/null

# ---- 2. yingji, per consumer count --------------------------------------------
declare -A RPS RSS
BEST_N= BEST_RPS=0
for n in $CONSUMERS; do
    start_broker
    start_server "$n"
    warm_up "$n"
    base=$(curl -s "$YJ_URL/metrics" | awk '/^yj_readings_accepted_total\{source="mqtt"\}/ {print $2}')
    echo "-- yingji, $n consumer(s): $TOTAL readings, $BATCH per message, $PUBS publishers" >&2
    "$BENCH_DIR/mqtt_pub" --port "$MQ_PORT" --list "$TMP/sensors.tsv" --total "$TOTAL" \
        --batch "$BATCH" --conns "$PUBS" >"$TMP/pub-$n.txt" &
    PUB_PID=$!
    PIDS+=("$PUB_PID")
    got=$(wait_ingested $((base + TOTAL)) 60 "$base") || exit 1
    read -r done_ms accepted rejected half_ms <<<"$got"
    wait "$PUB_PID"
    start_ms=$(kv start_ms "$TMP/pub-$n.txt")
    # the history table grows during the run: a slower second half would
    # show the merge falling behind
    halves=$(awk -v t="$TOTAL" -v a="$start_ms" -v h="$half_ms" -v b="$done_ms" \
        'BEGIN { if (h > a && b > h) printf "first half %.0f/s, second half %.0f/s", t / 2 * 1000 / (h - a), t / 2 * 1000 / (b - h); else printf "halves not resolved (0.1 s polls)" }')
    # stored = the history table plus the part of the reading log not merged yet
    rows=$(sqlite3 -cmd '.timeout 10000' "$RUN_DB" \
        'SELECT COUNT(*) FROM (SELECT sensor_id, ts FROM reading UNION SELECT sensor_id, ts FROM reading_log)')
    RSS[$n]=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    RPS[$n]=$(awk -v t="$TOTAL" -v a="$start_ms" -v b="$done_ms" 'BEGIN { printf "%.0f", t * 1000 / (b - a) }')
    commits=$(curl -s "$YJ_URL/metrics" | awk '/^yj_ingest_commits_total/ {print $2}')
    echo "   ${RPS[$n]} readings/s into storage; $((accepted - base)) accepted, $rejected rejected;" \
         "$rows rows in reading; $commits commits; $halves; peak RSS ${RSS[$n]} MB" >&2
    if [ "$rejected" != 0 ] || [ "$rows" -lt $((base + TOTAL)) ]; then
        echo "mqtt_ingest.sh: WARNING: not every reading was stored (figures invalid)" >&2
    fi
    if [ "${RPS[$n]}" -gt "$BEST_RPS" ]; then BEST_RPS=${RPS[$n]}; BEST_N=$n; fi
    stop_pid "$SERVER_PID"
    stop_pid "$MQ_PID"
done

# ---- 3. baseline: a subscriber that discards -----------------------------------
start_broker
echo "-- baseline: mqtt_sink, $BEST_N consumer(s), the same $TOTAL readings" >&2
"$BENCH_DIR/mqtt_sink" --port "$MQ_PORT" --consumers "$BEST_N" --expect "$TOTAL" --timeout 300 \
    >"$TMP/sink.txt" 2>"$TMP/sink.err" &
SINK_PID=$!
PIDS+=("$SINK_PID")
for _ in $(seq 1 100); do grep -q '^ready' "$TMP/sink.txt" && break; sleep 0.1; done
grep -q '^ready' "$TMP/sink.txt" || { cat "$TMP/sink.err" >&2; echo "mqtt_ingest.sh: sink not ready" >&2; exit 1; }
"$BENCH_DIR/mqtt_pub" --port "$MQ_PORT" --list "$TMP/sensors.tsv" --total "$TOTAL" \
    --batch "$BATCH" --conns "$PUBS" >"$TMP/pub-sink.txt"
wait "$SINK_PID" || { cat "$TMP/sink.err" >&2; exit 1; }
SINK_RPS=$(awk -v t="$TOTAL" -v a="$(kv start_ms "$TMP/pub-sink.txt")" -v b="$(kv last_ms "$TMP/sink.txt")" \
    'BEGIN { printf "%.0f", t * 1000 / (b - a) }')
echo "   $SINK_RPS readings/s delivered ($(kv readings "$TMP/sink.txt") readings)" >&2
stop_pid "$MQ_PID"

# ---- 4. latency -----------------------------------------------------------------------
start_broker
start_server "$BEST_N"
warm_up "$BEST_N"
TOKEN=$(curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"benchduty\",\"password\":\"$PASSWORD\"}" "$YJ_URL/api/v1/login" | jq -r '.token // empty') || true
[ -n "$TOKEN" ] || { echo "mqtt_ingest.sh: login failed" >&2; exit 1; }
echo "-- latency: $LAT_PROBES probes at $LAT_PROBE_RATE/s, background $LAT_BG_RATE readings/s, $BEST_N consumer(s)" >&2
"$BENCH_DIR/mqtt_pub" --port "$MQ_PORT" --list "$TMP/sensors.tsv" --batch "$BATCH" --conns "$PUBS" \
    --rate "$LAT_BG_RATE" --latency "$LAT_PROBES" --probe-rate "$LAT_PROBE_RATE" \
    --http "${YJ_URL#http://}" --token "$TOKEN" >"$TMP/lat.txt" || {
    cat "$TMP/lat.txt" >&2; echo "mqtt_ingest.sh: some alarms never arrived" >&2; }
LAT_P50=$(kv lat_p50_ms "$TMP/lat.txt")
LAT_P99=$(kv lat_p99_ms "$TMP/lat.txt")
LAT_MAX=$(kv lat_max_ms "$TMP/lat.txt")
LAT_LOST=$(kv lat_lost "$TMP/lat.txt")
ALARMS=$(sqlite3 "$RUN_DB" "SELECT COUNT(*) FROM alarm WHERE rule_kind = 'threshold'")
LAT_RSS=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
stop_pid "$SERVER_PID"
stop_pid "$MQ_PID"

# ---- 5. report ---------------------------------------------------------------------------
RATIO=$(awk -v a="$BEST_RPS" -v b="$SINK_RPS" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
COMMIT=$(bench_commit)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
PER_N=$(for n in $CONSUMERS; do printf '%s:%s ' "$n" "${RPS[$n]}"; done)
BEST_RSS=${RSS[$BEST_N]}

echo
echo "MQTT ingest end to end: $TOTAL readings ($BATCH per QoS 1 message, $PUBS publishers), $SENSORS sensors, loopback mosquitto"
printf '%-44s %14s\n' '' 'readings/s'
for n in $CONSUMERS; do
    printf '%-44s %14s\n' "yingji into storage, $n consumer(s)" "${RPS[$n]}"
done
printf '%-44s %14s\n' "mosquitto -> discarding subscriber ($BEST_N conn.)" "$SINK_RPS"
printf 'yingji (best, %s consumers) / baseline = %s   (SPEC target: >= 100000 readings/s and >= 0.8 of baseline)\n' \
    "$BEST_N" "$RATIO"
printf 'reading -> alarm event latency: p50 %s ms, p99 %s ms, max %s ms over %s probes (%s lost); %s threshold alarms stored   (SPEC target: p99 <= 50 ms)\n' \
    "$LAT_P50" "$LAT_P99" "$LAT_MAX" "$LAT_PROBES" "$LAT_LOST" "$ALARMS"
printf 'server peak RSS: %s MB (throughput run, %s consumers), %s MB (latency run)\n' "$BEST_RSS" "$BEST_N" "$LAT_RSS"
printf 'load average (1 min) before the run: %s on %s cores\n' "$LOAD_START" "$(nproc)"

mkdir -p "$(dirname "$RESULTS")"
if [ ! -s "$RESULTS" ]; then
    printf 'date\tcommit\tsensors\ttotal\tbatch\tpublishers\tyj_rps_by_consumers\tbest_consumers\tyj_rps\tsink_rps\tratio\tlat_probes\tlat_bg_rps\tlat_p50_ms\tlat_p99_ms\tlat_max_ms\tlat_lost\tyj_peak_rss_mb\tload1_start\n' >"$RESULTS"
fi
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$DATE" "$COMMIT" \
    "$SENSORS" "$TOTAL" "$BATCH" "$PUBS" "${PER_N% }" "$BEST_N" "$BEST_RPS" "$SINK_RPS" "$RATIO" \
    "$LAT_PROBES" "$LAT_BG_RATE" "$LAT_P50" "$LAT_P99" "$LAT_MAX" "$LAT_LOST" "$BEST_RSS" "$LOAD_START" >>"$RESULTS"
echo "(row appended to ${RESULTS#$ROOT/})"
