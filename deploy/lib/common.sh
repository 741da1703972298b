# shellcheck shell=bash
# Helpers shared by deploy/quickstart.sh and tests/run.sh. Source it; it defines functions and a
# few variables and runs nothing else.
#
#   GOODBUY_ROOT        the repository root (derived from this file's location)
#   PG_BIN              PostgreSQL server binaries (default /usr/lib/postgresql/15/bin)
#   GOODBUY_SKIP_PACKAGES=1  skip the Debian package check (other distributions, own toolchains)
#
# A project-local PostgreSQL: pg_pick_data_dir, pg_start, pg_stop, pg_wait, pg_url.
# When run as root, initdb/pg_ctl run as an unprivileged user (the Debian `postgres` user, else a
# `goodbuy` system user created on demand), because initdb refuses to run as root.

if [[ -n "${GOODBUY_COMMON_SOURCED:-}" ]]; then return 0; fi
GOODBUY_COMMON_SOURCED=1

GOODBUY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# Debian packages needed to build everything and to run the database-backed tests.
# shellcheck disable=SC2034  # used by the scripts that source this file
GOODBUY_BUILD_PACKAGES=(build-essential cmake ninja-build pkg-config libgrpc++-dev
  protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libpqxx-dev libabsl-dev libspdlog-dev
  libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev libnlopt-dev libjwt-dev libssl-dev openssl
  libcpp-httplib-dev)
# The libFuzzer targets (tests/run.sh): clang with its fuzzer and sanitizer runtimes.
# shellcheck disable=SC2034
GOODBUY_FUZZ_PACKAGES=(clang libclang-rt-14-dev)
# shellcheck disable=SC2034
GOODBUY_PG_PACKAGES=(postgresql-15 postgresql-client-15)

# ---------------------------------------------------------------------------------------------
# Logging

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() {
  printf '\033[1;31merror:\033[0m %s\n' "$*" >&2
  exit 1
}
# Plain output when stderr is not a terminal (CI logs).
if [[ ! -t 2 ]]; then
  log() { printf '==> %s\n' "$*" >&2; }
  warn() { printf 'warning: %s\n' "$*" >&2; }
  die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
  }
fi

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# ---------------------------------------------------------------------------------------------
# Packages

# Prints "nodejs npm" (or part of it) unless a node >= 18 and npm are already on PATH, e.g. from
# nvm or NodeSource; Debian's nodejs must not replace those.
node_packages() {
  local major=0
  if command -v node >/dev/null 2>&1; then
    major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  fi
  if [[ "$major" =~ ^[0-9]+$ ]] && ((major >= 18)); then
    command -v npm >/dev/null 2>&1 || echo npm
  else
    echo nodejs npm
  fi
}

# ensure_packages PKG...: installs the Debian packages that are missing (as root), or prints the
# command to install them and exits 1 (as anyone else).
ensure_packages() {
  if [[ "${GOODBUY_SKIP_PACKAGES:-0}" == 1 ]]; then
    log "GOODBUY_SKIP_PACKAGES=1: not checking Debian packages"
    return 0
  fi
  if ! command -v dpkg-query >/dev/null 2>&1; then
    warn "dpkg-query not found (not Debian?); not checking packages: $*"
    return 0
  fi
  local missing=() pkg
  for pkg in "$@"; do
    [[ -n "$pkg" ]] || continue
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  if ! is_root; then
    printf 'Missing Debian packages. Install them with:\n\n  sudo apt-get install -y %s\n\n' \
      "${missing[*]}" >&2
    printf 'then run this script again (or set GOODBUY_SKIP_PACKAGES=1 to skip this check).\n' >&2
    exit 1
  fi
  log "installing: ${missing[*]}"
  if [[ -z "${GOODBUY_APT_UPDATED:-}" ]]; then
    apt-get update || die "apt-get update failed"
    GOODBUY_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
    die "apt-get install failed"
}

# npm_ci_if_stale DIR WHAT [MUST_EXIST]: npm ci --prefix DIR when DIR/node_modules is missing,
# older than DIR/package-lock.json, or lacks MUST_EXIST (a path under it).
npm_ci_if_stale() {
  local dir="$GOODBUY_ROOT/$1" what=$2 must="${3:-}"
  if [[ -d "$dir/node_modules" && "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]] &&
    [[ -z "$must" || -e "$dir/node_modules/$must" ]]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found; install Node.js >= 18 and npm"
  log "installing $what (npm ci --prefix $1)"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2 || die "npm ci --prefix $1 failed"
}

# ensure_tools: the npm dependencies, each from its package-lock.json: tools/ (buf, and the
# validators tools/validate_deploy.mjs uses), dashboard/, and client/node/ (the Node.js client
# example).
ensure_tools() {
  npm_ci_if_stale tools "the developer tools: buf, the deploy validators" .bin/buf
  "$(buf_bin)" --version >/dev/null 2>&1 || die "$(buf_bin) does not run"
  npm_ci_if_stale dashboard "the dashboard's dependencies" @grpc/grpc-js
  npm_ci_if_stale client/node "the Node.js client's dependencies" @grpc/grpc-js
}

buf_bin() { echo "$GOODBUY_ROOT/tools/node_modules/.bin/buf"; }

# run_buf ARGS...: buf, with a cache folder it can write even when $HOME is not writable.
run_buf() {
  if [[ -z "${BUF_CACHE_DIR:-}" && ! -w "${HOME:-/nonexistent}" ]]; then
    BUF_CACHE_DIR="/tmp/goodbuy-buf-cache-$(id -u)"
    export BUF_CACHE_DIR
  fi
  "$(buf_bin)" "$@"
}

# ---------------------------------------------------------------------------------------------
# Ports

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port: prints a loopback TCP port nobody listens on.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
  fi
  local i port
  for ((i = 0; i < 100; i++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    port_in_use "$port" || {
      echo "$port"
      return 0
    }
  done
  die "no free port found"
}

# wait_for_port PORT SECONDS [PID]: waits until 127.0.0.1:PORT accepts connections; fails early
# when PID (if given) exits.
wait_for_port() {
  local port=$1 secs=$2 pid=${3:-} i
  for ((i = 0; i < secs * 10; i++)); do
    port_in_use "$port" && return 0
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Project-local PostgreSQL

# The OS user that owns and runs the PostgreSQL cluster: ourselves, or when root an unprivileged
# user (created if needed).
pg_os_user() {
  if ! is_root; then
    id -un
  elif id -u postgres >/dev/null 2>&1; then
    echo postgres
  else
    if ! id -u goodbuy >/dev/null 2>&1; then
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin goodbuy >&2 || die "useradd goodbuy failed"
    fi
    echo goodbuy
  fi
}

# pg_as_user CMD...: runs CMD as the cluster's OS user (from /, so no "could not change directory"
# noise when the caller's cwd is private).
pg_as_user() {
  if is_root; then
    (cd / && runuser -u "$(pg_os_user)" -- "$@")
  else
    "$@"
  fi
}

# Nearest existing ancestor of a path (the path itself if it exists).
_existing_ancestor() {
  local p=$1
  while [[ ! -e "$p" ]]; do p="$(dirname "$p")"; done
  echo "$p"
}

# pg_pick_data_dir WANTED: prints WANTED, or /tmp/goodbuy-<uid>-<hash>/pg when WANTED does not
# work: its unix socket path (in WANTED's parent) would be too long, or (as root) the cluster's
# OS user cannot reach it, e.g. a checkout under /root. The fallback is the same for the same
# WANTED, so re-runs reuse it.
pg_pick_data_dir() {
  local wanted=$1 parent ok=1
  parent="$(dirname "$wanted")"
  # sun_path holds 107 bytes; ".s.PGSQL.65535.lock" is 19 of them.
  if ((${#parent} + 20 > 100)); then
    ok=0
  elif is_root && ! pg_as_user test -x "$(_existing_ancestor "$parent")"; then
    ok=0
  fi
  if ((ok)); then
    echo "$wanted"
    return 0
  fi
  local hash
  hash="$(printf '%s' "$wanted" | cksum | cut -d' ' -f1)"
  echo "/tmp/goodbuy-$(id -u)-$hash/pg"
}

# The log file of a data folder, beside it in its parent.
pg_log_file() { echo "${1%/}.log"; }

# pg_start DATA_DIR PORT: initdb (first time) and start a cluster listening on 127.0.0.1:PORT
# only, with its unix socket in DATA_DIR's parent and its log in DATA_DIR.log. Trust auth, user
# postgres. PG_FAST=1 turns off fsync (throwaway clusters only).
pg_start() {
  local data=$1 port=$2 parent user log
  [[ -x "$PG_BIN/initdb" ]] || die "$PG_BIN/initdb not found (install postgresql-15 or set PG_BIN)"
  user="$(pg_os_user)"
  # A predictable name in /tmp must not be someone else's.
  local top owner
  top="$(_existing_ancestor "$data")"
  if [[ "$top" == /tmp/goodbuy-* ]]; then
    owner="$(stat -c %U "$top")"
    [[ "$owner" == "$(id -un)" || "$owner" == "$user" ]] || die "$top belongs to $owner, not us"
  fi
  data="$(mkdir -p "$data" && cd "$data" && pwd -P)" || die "cannot create $1"
  parent="$(dirname "$data")"
  log="$(pg_log_file "$data")"
  case "$parent" in *[\'\",]* | *$'\n'*) die "unsupported characters in $parent" ;; esac
  ((${#parent} + 20 <= 100)) || die "socket folder path too long: $parent"

  if is_root; then
    # The cluster user needs the data folder, and the parent for the socket, lock and log files.
    chmod 700 "$data"
    [[ "$(stat -c %U "$data")" == "$user" ]] || chown -R "$user:" "$data"
    if ! pg_as_user test -w "$parent"; then
      # Only folders that belong to this project: never chown e.g. /tmp or a home folder.
      case "$parent" in
        "$GOODBUY_ROOT/.data" | /tmp/goodbuy-*) chown "$user:" "$parent" ;;
        *) die "user $user cannot write $parent (it holds the socket and log)" ;;
      esac
    fi
    [[ ! -e "$log" ]] || chown "$user:" "$log"
    pg_as_user test -w "$data" -a -w "$parent" ||
      die "user $user cannot reach $data; use a folder it can traverse (see pg_pick_data_dir)"
  fi

  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initdb $data"
    pg_as_user "$PG_BIN/initdb" -D "$data" -A trust -U postgres --encoding=UTF8 --locale=C \
      >"$data.initdb.log" 2>&1 || {
      cat "$data.initdb.log" >&2
      die "initdb failed"
    }
    printf "\n# Written by deploy/lib/common.sh on every start.\ninclude_if_exists = 'goodbuy.conf'\n" \
      >>"$data/postgresql.conf"
  fi

  # Our settings, rewritten on every start so that a moved checkout or a new port still works.
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$parent'"
    echo "max_connections = 200"
    if [[ "${PG_FAST:-0}" == 1 ]]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >"$data/goodbuy.conf"
  if is_root; then chown "$user:" "$data/goodbuy.conf"; fi

  # A cluster left running by an earlier run (e.g. killed with SIGKILL): stop it first.
  if pg_as_user "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "stopping the PostgreSQL left running in $data"
    pg_stop "$data"
  fi

  log "starting PostgreSQL on 127.0.0.1:$port (data $data, log $log)"
  pg_as_user "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null || {
    tail -n 30 "$log" >&2 || true
    die "PostgreSQL did not start"
  }
  pg_wait "$(pg_url "$port")" 30 || die "PostgreSQL does not answer on port $port"
}

# pg_stop DATA_DIR: stops the cluster if it runs (fast shutdown; immediate after 30 s).
pg_stop() {
  local data=$1
  [[ -f "$data/postmaster.pid" ]] || return 0
  pg_as_user "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    pg_as_user "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
    warn "could not stop PostgreSQL in $data"
}

# pg_url PORT [DB]: the superuser URL of a local cluster.
pg_url() { echo "postgresql://postgres@127.0.0.1:$1/${2:-postgres}"; }

# pg_wait URL [SECONDS]: waits until the server at URL accepts connections (default 30 s).
pg_wait() {
  local url=$1 secs=${2:-30} i isready="pg_isready"
  [[ -x "$PG_BIN/pg_isready" ]] && isready="$PG_BIN/pg_isready"
  for ((i = 0; i < secs * 4; i++)); do
    "$isready" -q -d "$url" && return 0
    sleep 0.25
  done
  return 1
}

# psql_cmd: the psql to use (the cluster's own, else the one on PATH).
psql_cmd() {
  if [[ -x "$PG_BIN/psql" ]]; then echo "$PG_BIN/psql"; else echo psql; fi
}
