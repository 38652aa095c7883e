#!/usr/bin/env bash
# Runs the serving robustness bench (`bash bench/run-serving.sh --only robustness`: 20,000 mixed valid and invalid
# requests at concurrency 64 against a fresh `forge serve`) several times in a row and prints each run's counts: sent,
# 5xx, no response, not as expected, verdict. Passes only when every run passes.
# Usage: bash bench/run-robustness-repeat.sh [RUNS (default 10)] [extra bench options, e.g. --requests 20000]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
shift || true
out=bench/results/robustness-repeat
mkdir -p "$out"
bash bench/run-serving.sh --only robustness --skip-reference --report "$out/run-1.md" "$@" > "$out/run-1.out" 2>&1
first=$?
summary="$out/summary.md"
{
  echo "# Serving robustness, $runs runs in a row ($(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores)"
  echo
  echo "Each run: \`bash bench/run-serving.sh --only robustness\` (a fresh \`forge serve\`, 20,000 requests at concurrency 64)."
  echo
  echo "| run | requests | 2xx | 4xx | 5xx | no response | not as expected | seconds | verdict |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} > "$summary"
failed=0
total=0
for i in $(seq 1 "$runs"); do
  if [ "$i" -eq 1 ]; then status=$first; else
    dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll serving --only robustness --skip-reference \
      --report "$out/run-$i.md" "$@" > "$out/run-$i.out" 2>&1
    status=$?
  fi
  report="$out/run-$i.md"
  # The table's "all" row: | **all** | | sent | 2xx | 4xx | 5xx | no response | not as expected | |
  row=$(grep -F '| **all** |' "$report" 2>/dev/null | head -1)
  IFS='|' read -r _ _ _ sent ok client server none wrong _ <<< "$row"
  seconds=$(grep -Eo 'mixed \(([0-9.]+) s\)' "$report" 2>/dev/null | grep -Eo '[0-9.]+' | head -1)
  verdict=$(grep -Eo 'Verdict: \*\*[a-zA-Z]+\*\*' "$report" 2>/dev/null | sed 's/Verdict: //; s/\*//g')
  [ "$status" -eq 0 ] && [ "$verdict" = "pass" ] || { failed=$((failed + 1)); verdict="${verdict:-FAIL} (exit $status)"; }
  sent=${sent:-0}; total=$((total + ${sent// /}))
  echo "| $i | ${sent// /} | ${ok// /} | ${client// /} | ${server// /} | ${none// /} | ${wrong// /} | ${seconds:-?} | $verdict |" | tee -a "$summary"
done
echo >> "$summary"
echo "$runs runs, $total requests, $failed failed runs." | tee -a "$summary"
[ "$failed" -eq 0 ]
