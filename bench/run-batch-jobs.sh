#!/usr/bin/env bash
# Batch jobs with bounded memory: MNIST rows (the test set, repeated) submitted as jobs of 10k and 100k rows, each to a
# fresh `forge serve` process; prints each server's peak RSS (VmHWM) against the bound "100k ≤ 10k + 100 MB", and rows/s.
# Usage: bash bench/run-batch-jobs.sh [--report FILE] [--data-dir DIR]
#   BATCH_SIZES=10000,100000  BATCH_FORMAT=jsonl|csv  BATCH_BUNDLE=DIR (serve this bundle instead of a fresh MLP)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Forge.Cli -c Release -v q -nologo
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll serving-batch "$@"
