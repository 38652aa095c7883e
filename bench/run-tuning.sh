#!/usr/bin/env bash
# The tuning benchmark: Forge random/TPE/GP vs Optuna 3.1 random/TPE on five test functions (100 trials x 20 seeds),
# then the samplers' cost per trial up to 10,000 trials. Writes bench/results/tuning.md, tuning-curves.csv, tuning-scale.csv.
# Usage: bash bench/run-tuning.sh [--seeds 0,1,2] [--trials N] [--only branin,mixed] [--scale-trials N] [--threads N] [--skip-reference]
set -euo pipefail
cd "$(dirname "$0")/.."
# Optuna's side runs on Debian's interpreter (the python3 first on PATH is another one without python3-optuna).
if ! /usr/bin/python3 -c "import optuna" 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-optuna >/dev/null
fi
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll tuning "$@"
