#!/usr/bin/env bash
# The interpretability benchmark: TreeSHAP vs XGBoost's pred_contribs on UCI Adult (speed and parity, same threads, same
# run; bench/reference/xgb_shap.py), KernelSHAP vs exact SHAP on 12 features, and 1,000,000 rows streamed in batches.
# Usage: bash bench/run-explain.sh [--threads 2] [--only tree,kernel,scale] [--report FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import xgboost, pandas' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-xgboost python3-pandas >/dev/null
fi
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll explain "$@"
