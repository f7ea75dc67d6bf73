#!/usr/bin/env bash
# Runs the whole benchmark: emdb against lmdb-js, node:sqlite / bun:sqlite and Deno KV,
# each engine × runtime in its own process, then writes bench/results/latest.{md,json}.
#
#   npm run bench                         # N = 1,000,000 (or $EMDB_BENCH_RECORDS)
#   npm run bench -- --records 20000      # smaller N
#   bash scripts/bench_all.sh --only emdb/deno,lmdb/deno --no-hyperfine
#
# Other options (passed to bench/run.ts): --kv-reads N, --only ENGINE/RUNTIME,...,
# --no-hyperfine, --out DIR. hyperfine is installed with apt-get when missing (if that
# fails, the hyperfine rows are skipped with a note).
set -euo pipefail
cd "$(dirname "$0")/.."

want_hyperfine=1
for a in "$@"; do [ "$a" = "--no-hyperfine" ] && want_hyperfine=0; done
if [ "$want_hyperfine" = 1 ] && ! command -v hyperfine >/dev/null 2>&1; then
  echo "hyperfine not found; installing it with apt-get" >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq hyperfine) >&2 || echo "could not install hyperfine; its rows will be skipped" >&2
  else
    (sudo -n apt-get update -qq && sudo -n apt-get install -y -qq hyperfine) >&2 || echo "could not install hyperfine; its rows will be skipped" >&2
  fi
fi

if [ ! -x node_modules/.bin/deno ] || [ ! -x node_modules/.bin/bun ] || [ ! -d node_modules/lmdb ]; then
  npm ci >&2
fi

mkdir -p bench/.data bench/results
if [ "${npm_lifecycle_event:-}" = bench ]; then
  export EMDB_BENCH_COMMAND="npm run bench${*:+ -- $*}"
else
  export EMDB_BENCH_COMMAND="bash scripts/bench_all.sh${*:+ $*}"
fi
exec node_modules/.bin/deno run -A bench/run.ts "$@"
