#!/usr/bin/env bash
# graphile-worker's batched no-op job throughput on the PostgreSQL at
# DATABASE_URL, for the comparison in docs/benchmarks.md. The npm package is
# installed into a temporary folder (it is not a dependency of this project)
# and graphile-worker creates its own schema, graphile_worker, in the database:
# use a scratch database.
#
# Usage: bench/graphile_worker/run.sh DATABASE_URL [JOBS=20000] [CONCURRENCY=24]
set -euo pipefail

if (($# < 1)) || [[ "$1" == -h || "$1" == --help ]]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
url="$1"
jobs="${2:-20000}"
concurrency="${3:-24}"
command -v node >/dev/null || { echo "node is not installed (Node 20 or newer)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 1; }

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cp "$(dirname "${BASH_SOURCE[0]}")/noop_jobs.mjs" "$dir/"
(cd "$dir" && npm init -y >/dev/null && \
  npm install --silent --no-audit --no-fund graphile-worker@0.18.0 >/dev/null)
node "$dir/noop_jobs.mjs" "$url" "$jobs" "$concurrency"
