#!/usr/bin/env bash
# run-demo.sh — what `make run` starts after the build: the demo city with
# live sensors.
#
#   1. build/demo.db: created if missing, or recreated when it was made by an
#      older demo (the stamp build/demo.db.version differs from DEMO_VERSION);
#   2. mosquitto on 127.0.0.1 ($MQTT_PORT, default 1883, or a free port if
#      that one is busy), config build/mosquitto.conf, persistence and log in
#      build/mosquitto/;
#   3. yingji serve on $LISTEN, taking readings from that broker;
#   4. yingji gateway-sim on $GW_LISTEN: the stand-in SMS / voice-call gateway
#      and the village loudspeakers (over the broker) for M3 warnings; about
#      60 % of the people it gets a message for answer (叫应), the rest are
#      left for escalation, which the demo runs fast (unanswered after 3
#      minutes goes one level up);
#   5. yingji simulate: every sensor of the demo reports at its interval, with
#      an exceedance every minute or two and now and then a sensor offline.
# Ctrl-C (or SIGTERM) stops them all, simulator first so the platform
# acknowledges what was sent.
#
# Environment: DEMO_DB, LISTEN, MQTT_PORT, GW_LISTEN (127.0.0.1:8091),
# SIM_SPEED (1), SIM_EXCEED_RATE (40/h).
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_DB=${DEMO_DB:-build/demo.db}
LISTEN=${LISTEN:-127.0.0.1:8080}
MQTT_PORT=${MQTT_PORT:-1883}
SIM_SPEED=${SIM_SPEED:-1}
SIM_EXCEED_RATE=${SIM_EXCEED_RATE:-40}
GW_LISTEN=${GW_LISTEN:-127.0.0.1:8091}
# Bump when the demo city changes in a way an old database lacks (2: sensors, 3: M3 residents,
# loudspeakers and responsible people, 4: those in every county).
DEMO_VERSION=4
BIN=build/yingji
MQDIR=$PWD/build/mosquitto
CONF=$PWD/build/mosquitto.conf

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- the demo database --------------------------------------------------------
stamp="$DEMO_DB.version"
if [ ! -f "$DEMO_DB" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$DEMO_VERSION" ]; then
  if [ -f "$DEMO_DB" ]; then
    echo "run: $DEMO_DB was made by an older demo (no sensors); creating the demo city again"
  fi
  "$BIN" demo --db "$DEMO_DB" --force
  echo "$DEMO_VERSION" >"$stamp"
else
  "$BIN" demo --db "$DEMO_DB" --logins-only
fi

# ---- the broker -------------------------------------------------------------------
port=$MQTT_PORT
if port_busy "$port"; then
  for p in $(seq 18830 18999); do
    if ! port_busy "$p"; then port=$p; break; fi
  done
  if [ "$port" = "$MQTT_PORT" ]; then
    echo "run: port $MQTT_PORT is busy and no free port found in 18830-18999" >&2
    exit 1
  fi
  echo "run: port $MQTT_PORT is busy; mosquitto listens on $port instead"
fi
mkdir -p "$MQDIR"
# run as root, mosquitto drops to the user "mosquitto": let it write its files
if [ "$(id -u)" = 0 ] && id -u mosquitto >/dev/null 2>&1; then
  chown -R mosquitto: "$MQDIR"
fi
cat >"$CONF" <<EOF
# written by scripts/run-demo.sh (make run)
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $MQDIR/
autosave_interval 60
# the platform's persistent session must hold what arrives while it restarts
max_queued_messages 100000
log_dest file $MQDIR/mosquitto.log
EOF

mq_pid="" gw_pid="" serve_pid="" sim_pid=""
stopping=0
cleanup() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap - INT TERM EXIT
  echo
  echo "run: stopping the simulator, the platform and mosquitto"
  for pid in "$sim_pid" "$serve_pid" "$gw_pid" "$mq_pid"; do
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "run: stopped"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# Ctrl-C reaches every process of the terminal.  The broker runs in a session
# of its own so it outlives the platform and the simulator: cleanup() stops it
# last, once both are done with it.
setsid mosquitto -c "$CONF" &
mq_pid=$!
# wait_up TRIES PID WHAT CHECK...: run CHECK every 0.1 s until it succeeds;
# give up (exit 1) as soon as PID has gone.
wait_up() {
  local tries=$1 pid=$2 what=$3
  shift 3
  for _ in $(seq "$tries"); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "run: $what did not start" >&2; exit 1; }
    sleep 0.1
  done
}
wait_up 50 "$mq_pid" "mosquitto (see $MQDIR/mosquitto.log)" port_busy "$port"
echo "run: mosquitto on 127.0.0.1:$port (config build/mosquitto.conf, log build/mosquitto/mosquitto.log)"

# ---- the stand-in gateway (M3 warnings) ---------------------------------------------
# a fresh shared secret each run: the platform sends it, the gateway sends it back
gw_token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
if port_busy "${GW_LISTEN##*:}"; then
  echo "run: $GW_LISTEN is busy (set GW_LISTEN=host:port for the stand-in gateway)" >&2
  exit 1
fi
"$BIN" gateway-sim --listen "$GW_LISTEN" --token "$gw_token" --mqtt "127.0.0.1:$port" \
  --answer-share 0.6 --delay-ms 1500 >build/gateway-sim.log 2>&1 &
gw_pid=$!
wait_up 50 "$gw_pid" "gateway-sim (see build/gateway-sim.log)" curl -sf -o /dev/null "http://$GW_LISTEN/stats"
echo "run: stand-in SMS/voice gateway on http://$GW_LISTEN (GET /requests, /stats; log build/gateway-sim.log)"

# ---- the platform ------------------------------------------------------------------
"$BIN" serve --db "$DEMO_DB" --listen "$LISTEN" --web web --mqtt "127.0.0.1:$port" \
  --sms-gateway "http://$GW_LISTEN/sms" --voice-gateway "http://$GW_LISTEN/voice" \
  --wechat-webhook "http://$GW_LISTEN/wechat" --gateway-token "$gw_token" \
  --public-url "http://$LISTEN" --callup wait=1,escalate=3,retry=60 &
serve_pid=$!
wait_up 300 "$serve_pid" "yingji serve" curl -sf -o /dev/null "http://$LISTEN/healthz"

# ---- the field ---------------------------------------------------------------------
"$BIN" simulate --db "$DEMO_DB" --mqtt "127.0.0.1:$port" --speed "$SIM_SPEED" \
  --exceed-rate "$SIM_EXCEED_RATE" --seed "$(date +%s)" &
sim_pid=$!

echo
echo "run: 晋城市 demo with live sensors at http://$LISTEN/  — log in as duty (值班员) to see"
echo "     the map and alarms; the logins are above and in $DEMO_DB.logins.json.  Ctrl-C stops."
echo "     Warnings (M3): open an alarm, 生成预警, 保存并提交审批; log in as commander (指挥长) to"
echo "     approve; duty publishes and watches the 叫应 board.  Public page: http://$LISTEN/warnings.html"
echo

# whichever ends first (Ctrl-C, or one of them failing) stops the others
set +e
wait -n "$mq_pid" "$gw_pid" "$serve_pid" "$sim_pid"
status=$?
if [ "$stopping" = 0 ]; then
  echo "run: a process exited (status $status); stopping the others" >&2
fi
exit "$status"
