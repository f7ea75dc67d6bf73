#!/usr/bin/env bash
# Runs the whole test suite with the oldest Deno and Bun that emdb supports (the
# README's "Minimum versions"), installed from npm on first use into a cache folder
# outside the repository, and ends like scripts/test_all.sh with one line:
#
#   N passed, N failed
#
# Usage: scripts/test_min_versions.sh [deno|bun ...]   (default: both)
#
# Environment:
#   EMDB_MIN_DENO, EMDB_MIN_BUN   versions to use instead of the stated minimums
#   EMDB_RUNTIME_CACHE            where they are installed (default ~/.cache/emdb-runtimes)
#
# The other runtime a test starts (a file written by one and read by the other) is
# the pinned one in node_modules/.bin, so `npm ci` must have run first.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 2

MIN_DENO=${EMDB_MIN_DENO:-2.8.0}
MIN_BUN=${EMDB_MIN_BUN:-1.2.20}
cache=${EMDB_RUNTIME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emdb-runtimes}
runtimes=${*:-deno bun}

# install NAME VERSION: prints the executable's path (installs it once).
install() {
  local dir="$cache/$1-$2"
  local exe="$dir/node_modules/.bin/$1"
  if [ ! -x "$exe" ]; then
    mkdir -p "$dir" || return 1
    printf '{ "private": true }\n' >"$dir/package.json"
    if ! npm install --prefix "$dir" --no-audit --no-fund --no-package-lock "$1@$2" >"$dir/install.log" 2>&1; then
      echo "test_min_versions: npm install $1@$2 failed (see $dir/install.log)" >&2
      return 1
    fi
  fi
  echo "$exe"
}

for runtime in $runtimes; do
  case "$runtime" in
    deno) EMDB_DENO=$(install deno "$MIN_DENO") || { echo "0 passed, 1 failed"; exit 1; } ;;
    bun) EMDB_BUN=$(install bun "$MIN_BUN") || { echo "0 passed, 1 failed"; exit 1; } ;;
    *) echo "test_min_versions: unknown runtime '$runtime'" >&2; exit 2 ;;
  esac
done
export EMDB_DENO="${EMDB_DENO:-node_modules/.bin/deno}" EMDB_BUN="${EMDB_BUN:-node_modules/.bin/bun}"
export EMDB_RUNTIMES="$runtimes"

echo "=== minimum versions: $(for r in $runtimes; do [ "$r" = deno ] && printf 'Deno %s ' "$MIN_DENO"; [ "$r" = bun ] && printf 'Bun %s ' "$MIN_BUN"; done)==="
exec bash scripts/test_all.sh
