#!/usr/bin/env bash
# One-machine quickstart: installs what is missing, builds the release preset, starts an embedded
# PostgreSQL in .data/pg (unless DATABASE_URL is set), migrates it, loads the demo data, serves on
# 127.0.0.1:PORT, runs one analysis so you can watch it stream, and keeps serving until Ctrl-C.
#
#   ./deploy/quickstart.sh [--port 50051] [--no-build]
#
# Environment: DATABASE_URL (use this PostgreSQL instead of the embedded one),
# ANALYSIS_* (server settings; ANALYSIS_MIN_STAGE_MS defaults to 300 here so the demo can be
# watched), GOODBUY_BUILD_DIR (binaries from here; default build/release),
# GOODBUY_SKIP_PACKAGES=1 (do not check Debian packages).
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

PORT=50051
BUILD=1
while (($#)); do
  case "$1" in
    --port) [[ $# -ge 2 ]] || die "--port needs a value"; PORT=$2; shift 2 ;;
    --port=*) PORT=${1#--port=}; shift ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT > 65535)); then die "bad --port: $PORT"; fi

cd "$GOODBUY_ROOT"
STATE_DIR="$GOODBUY_ROOT/.data"
BUILD_DIR="${GOODBUY_BUILD_DIR:-$GOODBUY_ROOT/build/release}"
SERVER_BIN="$BUILD_DIR/server/analysis-server"
CTL_BIN="$BUILD_DIR/client/analysisctl"
SERVER_LOG="$STATE_DIR/analysis-server.log"
SERVER_PID=""
DASHBOARD_PID=""
PG_DATA=""

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$DASHBOARD_PID" ]]; then
    kill -TERM "$DASHBOARD_PID" 2>/dev/null || true
    wait "$DASHBOARD_PID" 2>/dev/null || true
  fi
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    log "stopping analysis-server (pid $SERVER_PID)"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 300; i++)); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      warn "analysis-server did not stop within 30 s; killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n "$PG_DATA" ]]; then
    log "stopping the embedded PostgreSQL"
    pg_stop "$PG_DATA"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. Packages and tools.
packages=("${GOODBUY_PG_PACKAGES[@]}" ca-certificates)
if ((BUILD)); then packages+=("${GOODBUY_BUILD_PACKAGES[@]}"); fi
read -r -a node_pkgs <<<"$(node_packages)"
packages+=("${node_pkgs[@]}")
ensure_packages "${packages[@]}"
ensure_tools

# 2. Build.
if ((BUILD)); then
  log "building the release preset (cmake --preset release && cmake --build --preset release)"
  cmake --preset release >/dev/null
  cmake --build --preset release
fi
[[ -x "$SERVER_BIN" ]] || die "$SERVER_BIN not found; run without --no-build"
[[ -x "$CTL_BIN" ]] || die "$CTL_BIN not found; run without --no-build"
port_in_use "$PORT" && die "127.0.0.1:$PORT is taken; pick another with --port"
mkdir -p "$STATE_DIR"
export ANALYSIS_SQL_DIR="${ANALYSIS_SQL_DIR:-$GOODBUY_ROOT/sql}"
# Hold each analysis stage a moment so the progress bar can be watched (0 in production).
export ANALYSIS_MIN_STAGE_MS="${ANALYSIS_MIN_STAGE_MS:-300}"
PSQL="$(psql_cmd)"

# 3. Database.
if [[ -n "${DATABASE_URL:-}" ]]; then
  log "using DATABASE_URL from the environment"
  pg_wait "$DATABASE_URL" 30 || die "the PostgreSQL at DATABASE_URL does not answer"
else
  PG_DATA="$(pg_pick_data_dir "$STATE_DIR/pg")"
  [[ "$PG_DATA" == "$STATE_DIR/pg" ]] || log "embedded PostgreSQL lives in $PG_DATA (see README)"
  pg_port="$(free_port)"
  pg_start "$PG_DATA" "$pg_port"
  admin_url="$(pg_url "$pg_port")"
  if [[ -z "$("$PSQL" "$admin_url" -Atqc "SELECT 1 FROM pg_database WHERE datname = 'goodbuy'")" ]]; then
    log "creating database goodbuy"
    "$PSQL" "$admin_url" -qc "CREATE DATABASE goodbuy" >/dev/null
  fi
  DATABASE_URL="$(pg_url "$pg_port" goodbuy)"
fi
export DATABASE_URL

log "analysis-server migrate up"
"$SERVER_BIN" migrate up

# Idempotent (ON CONFLICT DO NOTHING); a later load adds the months that have passed since.
log "loading demo data (sql/demo/demo_data.sql)"
"$PSQL" -v ON_ERROR_STOP=1 -q "$DATABASE_URL" -f sql/demo/demo_data.sql >/dev/null

# 4. Identity: a development HS256 secret (kept in .data/, reused by later runs) and two tokens
# signed with it: an operator's (admin) for the commands below, and the demo user Dana Reyes's
# (usr_demo_owner1, owner of biz_demo_cafe), who sees only her own business.
SECRET_FILE="$STATE_DIR/dev-hs256.secret"
if [[ ! -s "$SECRET_FILE" ]]; then
  log "creating a development token secret ($SECRET_FILE)"
  (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$SECRET_FILE")
fi
export ANALYSIS_JWT_HS256_SECRET_FILE="$SECRET_FILE"
TOKEN_DIR="$STATE_DIR/tokens"
mkdir -p "$TOKEN_DIR"
(umask 077 &&
  "$SERVER_BIN" token --sub=quickstart-operator --role=admin --ttl_s=604800 >"$TOKEN_DIR/operator.jwt" &&
  "$SERVER_BIN" token --sub=usr_demo_owner1 --ttl_s=604800 >"$TOKEN_DIR/dana.jwt") ||
  die "could not sign the development tokens"
export ANALYSIS_TOKEN_FILE="$TOKEN_DIR/operator.jwt"

# 5. Serve.
log "starting analysis-server on 127.0.0.1:$PORT (log: $SERVER_LOG)"
# Prometheus metrics on a free loopback port, unless ANALYSIS_METRICS_LISTEN says otherwise.
METRICS_LISTEN="${ANALYSIS_METRICS_LISTEN:-127.0.0.1:$(free_port)}"
"$SERVER_BIN" serve --listen="127.0.0.1:$PORT" --metrics_listen="$METRICS_LISTEN" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
up=0
for ((i = 0; i < 600; i++)); do
  if grep -q 'listening on' "$SERVER_LOG" 2>/dev/null || port_in_use "$PORT"; then
    up=1
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if ((!up)); then
  tail -n 30 "$SERVER_LOG" >&2 || true
  die "analysis-server did not start (log: $SERVER_LOG)"
fi

# 6. One analysis, streamed, as the demo user.
SERVER_ADDR="127.0.0.1:$PORT"
CTL_SHOWN="${CTL_BIN#"$GOODBUY_ROOT"/}"
TOKEN_SHOWN="${TOKEN_DIR#"$GOODBUY_ROOT"/}"
log "$CTL_SHOWN --server=$SERVER_ADDR --token_file=$TOKEN_SHOWN/dana.jwt run --business=biz_demo_cafe --type=health"
"$CTL_BIN" --server="$SERVER_ADDR" --token_file="$TOKEN_DIR/dana.jwt" run --business=biz_demo_cafe \
  --type=health || warn "the demo analysis did not complete (see $SERVER_LOG)"

# 7. The live dashboard, acting for Dana (dashboard/server.mjs relays the gRPC API to the page).
DASHBOARD_URL=""
if command -v node >/dev/null 2>&1 && [[ -d "$GOODBUY_ROOT/dashboard/node_modules" ]]; then
  DASHBOARD_LOG="$STATE_DIR/dashboard.log"
  ANALYSIS_SERVER="$SERVER_ADDR" ANALYSIS_TOKEN_FILE="$TOKEN_DIR/dana.jwt" \
    DASHBOARD_LISTEN="127.0.0.1:$(free_port)" node "$GOODBUY_ROOT/dashboard/server.mjs" \
    >"$DASHBOARD_LOG" 2>&1 &
  DASHBOARD_PID=$!
  for ((i = 0; i < 100; i++)); do
    DASHBOARD_URL="$(grep -o 'http://[0-9.]*:[0-9]*/' "$DASHBOARD_LOG" 2>/dev/null | head -n 1 || true)"
    [[ -n "$DASHBOARD_URL" ]] && break
    sleep 0.1
  done
  [[ -n "$DASHBOARD_URL" ]] || warn "the dashboard did not start (log: $DASHBOARD_LOG)"
fi

cat <<EOF

analysis-server is serving on $SERVER_ADDR (log: $SERVER_LOG)
DATABASE_URL=$DATABASE_URL
Prometheus metrics: curl -s http://$METRICS_LISTEN/metrics | grep '^goodbuy_sessions'
Live dashboard (as Dana Reyes): ${DASHBOARD_URL:-not started (needs node and npm ci --prefix dashboard)}

Every call needs a bearer token. In another terminal, act as the operator (admin: every
tenant), valid for 7 days:

  export ANALYSIS_TOKEN_FILE=$TOKEN_SHOWN/operator.jwt

or as the demo user Dana Reyes (only biz_demo_cafe and its sessions):

  export ANALYSIS_TOKEN_FILE=$TOKEN_SHOWN/dana.jwt

then try:
  $CTL_SHOWN --server=$SERVER_ADDR list
  $CTL_SHOWN --server=$SERVER_ADDR get SESSION_ID
  $CTL_SHOWN --server=$SERVER_ADDR watch SESSION_ID
  $CTL_SHOWN --server=$SERVER_ADDR run --business=biz_demo_retail --type=forecast
  $CTL_SHOWN --server=$SERVER_ADDR run --business=biz_demo_agency --type=valuation --json
  $CTL_SHOWN --server=$SERVER_ADDR --token_file=$TOKEN_SHOWN/dana.jwt usage
  tools/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge \\
    -H "authorization: Bearer \$(cat \$ANALYSIS_TOKEN_FILE)" \\
    http://$SERVER_ADDR/goodbuy.analysis.v1.AnalysisService/ListSessions -d '{}'
  psql "$DATABASE_URL"

Ctrl-C stops the server$([[ -n "$PG_DATA" ]] && echo " and the embedded PostgreSQL").
EOF

set +e
wait "$SERVER_PID"
rc=$?
set -e
SERVER_PID=""
warn "analysis-server exited with status $rc (log: $SERVER_LOG)"
exit "$rc"
