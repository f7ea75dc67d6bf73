#!/usr/bin/env bash
# Runs the whole test suite on Deno and then on Bun (the pinned binaries in
# node_modules/.bin, installed beforehand by `npm install`; this script installs
# nothing), shows their output, and ends with one line:
#
#   N passed, N failed
#
# totalled over both runtimes. Exits non-zero if a test failed, or if a runner
# crashed or printed no summary.
#
# Environment (all optional; scripts/test_min_versions.sh uses them):
#   EMDB_DENO, EMDB_BUN   another deno / bun executable to run the suite with
#   EMDB_RUNTIMES         "deno", "bun" or "deno bun" (default): which halves to run
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 2

deno=${EMDB_DENO:-node_modules/.bin/deno}
bun=${EMDB_BUN:-node_modules/.bin/bun}
runtimes=${EMDB_RUNTIMES:-deno bun}
for bin in "$deno" "$bun"; do
  if [ ! -x "$bin" ]; then
    echo "test_all: $bin is missing; run 'npm ci' first" >&2
    exit 2
  fi
done

export NO_COLOR=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

total_passed=0
total_failed=0
broken=0
summary=()

run_deno() {
  # Deno's last line: "ok | 12 passed | 0 failed (3s)" or "FAILED | 11 passed (2 steps) | 1 failed | 1 ignored (3s)".
  echo "=== $("$deno" --version | head -n 1): deno test --allow-all --doc tests/ mod.ts src/ (test files plus every JSDoc example) ==="
  "$deno" test --allow-all --doc tests/ mod.ts src/ 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
    f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
    summary+=("deno: $p passed, $f failed (exit $rc)")
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then broken=1; summary+=("deno: exited $rc without a failed test"); fi
  else
    broken=1
    summary+=("deno: CRASHED or printed no summary (exit $rc)")
  fi
}

run_bun() {
  # Bun's summary: lines " 12 pass" and " 0 fail".
  echo "=== bun $("$bun" --version): bun test (bunfig.toml: the tests/ folder, 120 s per test) ==="
  "$bun" test 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -n 1 | grep -oE '[0-9]+')
  f=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -n 1 | grep -oE '[0-9]+')
  if [ -n "$p" ] && [ -n "$f" ]; then
    summary+=("bun: $p passed, $f failed (exit $rc)")
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then broken=1; summary+=("bun: exited $rc without a failed test"); fi
  else
    broken=1
    summary+=("bun: CRASHED or printed no summary (exit $rc)")
  fi
  # Every test file must have run at least one test: Bun before 1.2.20 ran the node:test
  # tests of the first file only and still reported success.
  local silent
  silent=$(awk '/^tests\/.*_test\.ts:$/ { if (file != "" && !ran) print file; file = $0; ran = 0; next }
                /^\((pass|fail|skip|todo)\)/ { ran = 1 }
                END { if (file != "" && !ran) print file }' "$log")
  if [ -n "$silent" ]; then
    broken=1
    summary+=("bun: ran no test in: $(tr '\n' ' ' <<<"$silent")")
  fi
}

first=1
for runtime in $runtimes; do
  [ "$first" -eq 1 ] || echo
  first=0
  case "$runtime" in
    deno) run_deno ;;
    bun) run_bun ;;
    *) echo "test_all: unknown runtime '$runtime' in EMDB_RUNTIMES" >&2; exit 2 ;;
  esac
done

echo
for s in "${summary[@]}"; do echo "$s"; done
echo "$total_passed passed, $total_failed failed"

if [ "$total_failed" -ne 0 ] || [ "$broken" -ne 0 ]; then exit 1; fi
exit 0
