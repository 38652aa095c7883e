#!/usr/bin/env bash
# The drift benchmark: power and false alarms of the drift tests, concept-drift detector delays and false alarms,
# and the speed/memory of profiling and drift, with scipy as the reference.
# Usage: bash bench/run-drift.sh [--only power,calibrate,concept,speed] (calibrate=EDDM: one detector) [--limit N] [--skip-reference] [--report FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import scipy, numpy" 2>/dev/null; then
  echo "[bench] installing python3-scipy for the reference" >&2
  apt-get install -y python3-scipy python3-numpy >&2
fi
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll drift "$@"
