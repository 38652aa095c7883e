#!/usr/bin/env bash
# Recurrent networks against the unchanged PyTorch reference ../shared/reference/torch_lstm.py: speed (training ms/step
# and inference sequences/s for LSTM, GRU and RNN) and the adding problem (T=100, seeds 1,2,3, up to 5,000 steps).
# The full run is long (hours of CPU: the PyTorch RNN alone trains 5,000 steps per seed); run parts with
# --only speed,lstm or --only adding,lstm --seeds 1 --limit 500. --only transfer (run only when named) builds the
# transfer-vs-scratch table: MiniLM + head, TF-IDF + linear and the best of LSTM/GRU from scratch, 10/30/100 % of the
# training texts, UCI sentences and airline tweets, seeds 1,2,3 (about an hour of CPU on an idle 2-core machine).
# The forecast part (--only forecast[,lstm,gru,h1,h24] [--limit EPOCHS] [--seeds 1]) compares the LSTM and GRU bike-sharing
# forecasters with seasonal-naive and LightGBM on lags at horizons 1 and 24 (bench/results/forecast.md).
# Usage: bash bench/run-recurrent.sh [--only speed,adding,transfer,forecast,lstm,gru,rnn] [--seeds 1,2,3] [--limit STEPS] [--length T] [--threads N] [--report FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's PyTorch is ~10x slower without the threaded OpenBLAS.
for pkg in python3-torch libopenblas0-pthread; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    echo "installing $pkg" >&2
    sudo -n apt-get install -y "$pkg" >&2 || apt-get install -y "$pkg" >&2
  fi
done
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll recurrent "$@"
