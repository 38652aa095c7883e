#!/usr/bin/env bash
# Golden values for AddingProblemReferenceTests: the unchanged PyTorch reference (../shared/reference/torch_lstm.py,
# Debian's python3-torch, needs libopenblas0-pthread) on the adding problem, T=10, 100 steps, seed 1, one thread,
# for each cell. Run from the repository root: bash tests/Forge.DeepLearning.Tests/golden/adding/generate.sh
set -euo pipefail
here=$(dirname "$0")
for cell in rnn lstm gru; do
  /usr/bin/python3 ../shared/reference/torch_lstm.py adding "$cell" 1 10 100 1 > "$here/$cell-T10-100steps-seed1.txt"
done
