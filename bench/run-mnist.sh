#!/usr/bin/env bash
# The MNIST benchmark: Forge vs the unchanged PyTorch reference (../shared/reference/torch_mnist.py), same machine, same run.
# Usage: bash bench/run-mnist.sh [bench options, see: dotnet run --project bench/Forge.Bench -c Release -- --help]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  # Without the pthread OpenBLAS build, Debian's PyTorch is about 10x slower and the comparison would flatter Forge.
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null
fi
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll mnist "$@"
