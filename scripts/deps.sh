#!/usr/bin/env bash
# Install what yingji needs to build, run and test, and nothing when all is present.
# Debian packages through apt (as root), web/test packages through npm with the lockfile.
# Idempotent: a second run prints nothing and changes nothing.
#
#   scripts/deps.sh           what `make run` and `make test` need
#   scripts/deps.sh --bench   also what only `make bench` uses (BENCH_PACKAGES)
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  build-essential pkg-config clang libclang-rt-14-dev   # compilers; clang + runtime for libFuzzer
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libcmocka-dev
  libmosquitto-dev mosquitto mosquitto-clients           # M2 sensor ingest over MQTT (broker + client lib)
  libxml2-dev                                            # M3 CAP 1.2 warnings: XML and XSD validation
  libcurl4-openssl-dev                                   # M3 outbound SMS/voice/push gateways (HTTP)
  libpq-dev postgresql                                   # the PostgreSQL store (psql comes with it); every suite runs on both
  sqlite3                                                # CLI used by tests to tamper with the audit log
  curl jq python3                                        # used by bench/api_list.sh
  nodejs npm chromium                                    # web assets and browser tests
  nginx-light wrk                                        # API benchmark and its peer
)

# Only for `make bench` (not for `make test`): the PostGIS peer of the warning
# targeting benchmark (bench/pg_peer.sh); the meta-package pulls GDAL, GEOS,
# PROJ and friends, some 45 packages.
BENCH_PACKAGES=(
  postgresql-postgis
)
if [ "${1:-}" = "--bench" ]; then
  DEB_PACKAGES+=("${BENCH_PACKAGES[@]}")
fi

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  [ "${p:0:1}" = "#" ] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # nodejs may come from another source; accept a working node/npm on PATH
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# playwright-core and node's test runner flags need Node.js 20 or newer (this
# machine image ships it; Debian 12's own nodejs package is 18).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "deps: Node.js >= 20 is required (found ${node_major}); install Node.js 20 and re-run" >&2
  exit 1
fi

# npm packages (Leaflet, region data, playwright-core) pinned by package-lock.json.
stamp=node_modules/.yingji-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "deps: installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json "$stamp"
fi
