#!/usr/bin/env bash
# Runs the Forge.Serving.Tests project several times in a row (default 5) while stress-ng keeps every core busy, the way
# a shared CI machine can be. Passes only when every run passes. Installs Debian's stress-ng when it is missing.
# Usage: bash tests/stress-serving.sh [RUNS]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
export CI=true OMP_NUM_THREADS=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
command -v stress-ng >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null; }
dotnet build tests/Forge.Serving.Tests -v q -nologo >/dev/null || { echo "build failed"; exit 1; }
stress-ng --cpu "$(nproc)" --cpu-method matrixprod --quiet &
load=$!
trap 'kill $load 2>/dev/null; wait $load 2>/dev/null' EXIT
passed=0
for i in $(seq 1 "$runs"); do
  log=$(mktemp)
  start=$(date +%s)
  dotnet test tests/Forge.Serving.Tests --no-build > "$log" 2>&1
  status=$?
  line=$(grep -E '^(Passed|Failed)! +-' "$log" | tail -1)
  echo "run $i/$runs ($(( $(date +%s) - start )) s, load $(cut -d' ' -f1 /proc/loadavg)): ${line:-no summary (exit $status)}"
  if [ "$status" -eq 0 ]; then passed=$((passed + 1)); else grep -E '\[FAIL\]' "$log" | head -5; fi
  rm -f "$log"
done
echo "$passed of $runs runs passed under load"
[ "$passed" -eq "$runs" ]
