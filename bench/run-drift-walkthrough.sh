#!/usr/bin/env bash
# The monitoring walkthrough of docs/monitoring.md: a bike-sharing demand model trained on the first months of 2011,
# the later months replayed day by day through forge serve with the true counts as feedback; feature drift,
# prediction drift, error from feedback, concept-drift detectors and the retrain trigger per month.
# Usage: bash bench/run-drift-walkthrough.sh [--limit TRAIN_MONTHS] [--data-dir DIR] [--report FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll drift-walkthrough "$@"
