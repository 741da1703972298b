#!/usr/bin/env bash
# Builds the dev preset (Debug + ASan/UBSan) and runs every check: buf lint on proto/, the
# clang-format check of server/ client/ tests/, the validation of deploy/ (Kubernetes
# manifests, compose file, Dockerfile: tools/validate_deploy.mjs), all ctest suites against a throwaway
# PostgreSQL started on a free port in a temporary folder (always stopped and removed), and
# the libFuzzer targets of tests/fuzz (fuzz preset, clang) for FUZZ_SECONDS each (30) on copies
# of their seed corpora.
#
#   ./tests/run.sh [--no-build] [--no-checks] [--no-fuzz] [CTEST_ARGS...]
#   ./tests/run.sh -L pg_tests          one suite (unit_tests, pg_tests, e2e_tests)
#   ./tests/run.sh -R Forecast          tests whose name matches
#
# The last line is "N passed, N failed" (ctest's tests plus one per check and fuzzer). The exit
# status is ctest's, or 1 when only a check, a fuzzer (or the build) failed.
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/lib/common.sh"

BUILD=1
CHECKS=1
FUZZ=1
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
CTEST_ARGS=()
while (($#)); do
  case "$1" in
    --no-build) BUILD=0 ;;
    --no-checks) CHECKS=0 ;;
    --no-fuzz) FUZZ=0 ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) CTEST_ARGS+=("$1") ;;
  esac
  shift
done

cd "$GOODBUY_ROOT"
PASSED=0
FAILED=0
SUMMARY_DONE=0
TMP_DIR=""

summary() {
  SUMMARY_DONE=1
  echo "$PASSED passed, $FAILED failed"
}

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$TMP_DIR" ]]; then
    pg_stop "$TMP_DIR/pg"
    rm -rf "$TMP_DIR"
  fi
  if ((!SUMMARY_DONE)); then
    # Stopped before the end (missing packages, failed set-up, Ctrl-C): that is a failure.
    if ((rc != 0 && FAILED == 0)); then FAILED=1; fi
    summary
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# check NAME CMD...: runs one check, counted as one test.
check() {
  local name=$1
  shift
  log "check: $name"
  if "$@"; then
    PASSED=$((PASSED + 1))
  else
    warn "check failed: $name"
    FAILED=$((FAILED + 1))
  fi
}

# shellcheck disable=SC2317  # called through check
buf_lint() { (cd proto && run_buf lint); }

# shellcheck disable=SC2317
deploy_check() { node tools/validate_deploy.mjs build/dev/server/analysis-server; }

# shellcheck disable=SC2317
clang_format_check() {
  local files=()
  mapfile -d '' files < <(find server client tests -type f \( -name '*.cc' -o -name '*.h' \) \
    -print0 2>/dev/null | sort -z)
  ((${#files[@]} == 0)) && return 0
  clang-format --dry-run -Werror "${files[@]}"
}

# shellcheck disable=SC2317
# run_fuzzer NAME: runs build/fuzz/tests/fuzz/NAME for FUZZ_SECONDS on a copy of its seed
# corpus; passes when libFuzzer found nothing (exit 0) and prints how many inputs it ran.
run_fuzzer() {
  local name=$1 corpus="$TMP_DIR/corpus-$1" log="$TMP_DIR/$1.log"
  local seeds="tests/fuzz/corpus/${1%_fuzzer}"
  mkdir -p "$corpus"
  cp "$seeds"/* "$corpus"/
  if ! (cd "$TMP_DIR" && ASAN_OPTIONS=detect_leaks=1 "$GOODBUY_ROOT/build/fuzz/tests/fuzz/$name" \
    -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    "$corpus" >"$log" 2>&1); then
    tail -n 40 "$log" >&2
    return 1
  fi
  log "$name: $(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$log" | grep -Eo '[0-9]+') inputs in ${FUZZ_SECONDS} s, no crash, no sanitizer report"
}

# 1. Packages and tools.
# prometheus: promtool and a real Prometheus for the metrics tests; chromium: the dashboard's
# browser test.
packages=("${GOODBUY_PG_PACKAGES[@]}" clang-format ca-certificates prometheus chromium)
if ((BUILD)); then packages+=("${GOODBUY_BUILD_PACKAGES[@]}"); fi
if ((FUZZ)); then packages+=("${GOODBUY_FUZZ_PACKAGES[@]}"); fi
read -r -a node_pkgs <<<"$(node_packages)"
packages+=("${node_pkgs[@]}")
ensure_packages "${packages[@]}"
ensure_tools

# 2. Checks.
if ((CHECKS)); then
  check "buf lint (proto/)" buf_lint
  check "clang-format (server/ client/ tests/)" clang_format_check
fi

# 3. Build.
if ((BUILD)); then
  log "building the dev preset (cmake --preset dev && cmake --build --preset dev)"
  if ! { cmake --preset dev >/dev/null && cmake --build --preset dev; }; then
    warn "build failed"
    FAILED=$((FAILED + 1))
    exit 1
  fi
fi
[[ -f build/dev/CTestTestfile.cmake ]] || die "build/dev is not configured; run without --no-build"
if ((CHECKS)); then
  # After the build: it also checks every flag and variable deploy/ uses against the server.
  check "deploy manifests (deploy/: Kubernetes, compose, Dockerfile)" deploy_check
fi

# 4. A throwaway PostgreSQL (in /tmp: short socket path, reachable by the postgres user as root).
TMP_DIR="$(mktemp -d /tmp/goodbuy-test.XXXXXX)"
pg_port="$(free_port)"
PG_FAST=1 pg_start "$TMP_DIR/pg" "$pg_port"
export TEST_DATABASE_URL
TEST_DATABASE_URL="$(pg_url "$pg_port")"
export ANALYSIS_SQL_DIR="${ANALYSIS_SQL_DIR:-$GOODBUY_ROOT/sql}"
# libpq/libpqxx leak a PGresult when a connection breaks (see the file).
export LSAN_OPTIONS="suppressions=$GOODBUY_ROOT/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
log "TEST_DATABASE_URL=$TEST_DATABASE_URL"

# 5. The fuzzers (bounded: FUZZ_SECONDS each).
if ((FUZZ)); then
  if ((BUILD)); then
    log "building the fuzz preset (cmake --preset fuzz && cmake --build --preset fuzz)"
    if ! { cmake --preset fuzz >/dev/null && cmake --build --preset fuzz; }; then
      warn "fuzz build failed"
      FAILED=$((FAILED + 1))
      exit 1
    fi
  fi
  check "fuzz: request validation (${FUZZ_SECONDS} s)" run_fuzzer request_validation_fuzzer
  check "fuzz: bearer tokens (${FUZZ_SECONDS} s)" run_fuzzer token_fuzzer
fi

# 6. The suites.
log "ctest --preset dev --output-on-failure -j2 ${CTEST_ARGS[*]}"
set +e
ctest --preset dev --output-on-failure -j2 "${CTEST_ARGS[@]}" 2>&1 | tee "$TMP_DIR/ctest.log"
ctest_rc=${PIPESTATUS[0]}
set -e

# "95% tests passed, 1 tests failed out of 20"; nothing when no test matched.
result="$(grep -Eo '[0-9]+ tests? failed out of [0-9]+' "$TMP_DIR/ctest.log" | tail -n 1 || true)"
if [[ "$result" =~ ^([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+)$ ]]; then
  FAILED=$((FAILED + BASH_REMATCH[1]))
  PASSED=$((PASSED + BASH_REMATCH[2] - BASH_REMATCH[1]))
elif ((ctest_rc != 0)); then
  FAILED=$((FAILED + 1))
fi

rc=$ctest_rc
if ((rc == 0 && FAILED > 0)); then rc=1; fi
summary
exit "$rc"
