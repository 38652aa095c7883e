#!/usr/bin/env bash
# The serving benchmark: Forge (`forge serve`, a reference-cnn MNIST bundle) against the unchanged FastAPI + uvicorn
# reference (../shared/reference/fastapi_mnist.py, 2 workers x 1 torch thread), driven by wrk on 127.0.0.1 at
# concurrency 1, 8 and 64; Forge with batching off at 64; the sentiment model; and the robustness run (20,000 mixed valid
# and invalid requests at concurrency 64). One server runs at a time. Writes bench/results/serving.md and serving.log.
# Usage: bash bench/run-serving.sh [--duration 15s] [--requests 20000] [--only throughput,sentiment,robustness]
#        [--skip-reference] [--report FILE] [--data-dir DIR]   (run it on an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v wrk >/dev/null || need+=(wrk)
/usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null || need+=(python3-fastapi python3-uvicorn)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  # Without the pthread OpenBLAS build, Debian's PyTorch is about 10x slower and the comparison would flatter Forge.
  need+=(python3-torch libopenblas0-pthread)
fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
dotnet build src/Forge.Cli -c Release -v q -nologo
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll serving "$@"
