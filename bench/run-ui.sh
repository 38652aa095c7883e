#!/usr/bin/env bash
# The web UI benchmark: a store of 100,000 runs and a 10,000-trial study behind `forge ui`; the runs page's first paint
# and table in headless Chromium, and the paging/sorting/filtering answers. Prints a Markdown table, writes bench/results/ui.md.
# Usage: bash bench/run-ui.sh [--runs N] [--scale-trials N] [--rounds N] [--report FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
dotnet build bench/Forge.Bench -c Release -v q -nologo
echo "load before: $(uptime)" >&2
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll ui --runs 100000 --scale-trials 10000 --rounds 5 "$@"
