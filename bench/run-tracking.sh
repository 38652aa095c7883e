#!/usr/bin/env bash
# The tracking benchmark: batched metric logging and `forge runs list` over 10,000 runs x 50 metrics (SQLite).
# Usage: bash bench/run-tracking.sh [--runs N] [--report FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Forge.Cli -c Release -v q -nologo
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll tracking "$@"
