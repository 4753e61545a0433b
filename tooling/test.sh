#!/usr/bin/env bash
# The whole test suite: lint, typecheck, unit and integration tests (the lab is started
# by vitest's global setup), and the benchmarks in quick mode. Ends with a plain
# "N passed, N failed" line.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
pnpm exec turbo run build lint typecheck --output-logs=errors-only
# The benchmarks in quick mode, so they never rot: a missed target is reported, only a
# crash fails.
pnpm bench --quick
report=$(mktemp /tmp/lazycluster-vitest.XXXXXX.json)
trap 'rm -f "$report"' EXIT
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + (r.numRuntimeErrorTests ?? 0)} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
if (r.numTotalTests === 0) { console.error("no tests ran"); process.exit(1); }
' "$report" || status=1
exit "$status"
