#!/usr/bin/env bash
# The transfer-learning benchmark on the PlantVillage subset: candidate settings per mode scored on validation, the chosen
# ones' test accuracy and wall time, and ResNet18 feature-extraction speed against ONNX Runtime. About 40 minutes on 2 cores.
# Usage: bash bench/run-transfer.sh [--modes fine-tune,feature-extraction,scratch] [--threads N] [--report FILE]
#    or: bash bench/run-transfer.sh --cv [--folds 5] [--repeats 1] [--only TEXT] [--limit N] [--threads N] [--results FILE] [--report-only]
#        (choosing the fine-tuning default by repeated stratified k-fold on the training images only; resumable)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll transfer-images "$@"
