#!/usr/bin/env bash
# The tabular benchmark: `forge train adult` (default recipe) against Debian's XGBoost 1.7.4 (hist, categorical) on the
# identical split for seeds 0,1,2 (AUC target: Forge >= XGBoost's best of 100/6/0.3 and 300/6/0.1 - 0.002, fit times and
# their ratio); bike sharing RMSE beside XGBoost's and the linear learner's; `forge predict --batch` on 100,000 Adult
# rows beside XGBoost's predict; `forge serve` single-row requests at concurrency 1 and 64 with wrk.
# Writes bench/results/tabular.md and tabular.log.
# Usage: bash bench/run-tabular.sh [--seeds 0,1,2] [--threads 2] [--rounds 3] [--duration 15s] [--only adult,bike,predict,serve]
#        bash bench/run-tabular.sh --only candidates     # the default-recipe candidates on Adult's validation rows
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v wrk >/dev/null || need+=(wrk)
/usr/bin/python3 -c 'import xgboost' 2>/dev/null || need+=(python3-xgboost)
/usr/bin/python3 -c 'import pandas' 2>/dev/null || need+=(python3-pandas)
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || need+=(python3-sklearn)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
export FORGE_DATA_DIR="${FORGE_DATA_DIR:-$(cd .. && pwd)/shared/data}"
dotnet build src/Forge.Cli -c Release -v q -nologo
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll tabular "$@"
