#!/usr/bin/env bash
# The transfer-learning benchmark on the PlantVillage subset: candidate settings per mode scored on validation, the chosen
# ones' test accuracy and wall time, and ResNet18 feature-extraction speed against ONNX Runtime. About 40 minutes on 2 cores.
# Usage: bash bench/run-transfer.sh [--modes fine-tune,feature-extraction,scratch] [--threads N] [--report FILE]
#    or: bash bench/run-transfer.sh --cv [--folds 5] [--repeats 1] [--only TEXT] [--limit N] [--threads N] [--results FILE] [--report-only]
#        (choosing the fine-tuning default by repeated stratified k-fold on the training images only; resumable)
#    or: bash bench/run-transfer.sh --defaults-only [--seeds 1,2,3] [--modes fine-tune,feature-extraction,scratch] [--report FILE]
#        (`forge finetune plantvillage` as a user runs it: a fresh process per run, default flags but --mode and --seed;
#         prints each run's test accuracy and wall time, each mode's min-max, and each mode's first-seed bundle's images/s
#         in `forge evaluate` (median of 3 processes). Fine-tune and feature extraction take about 8 and 5.5 min a run, scratch
#         about 15; the test split is read by these runs only.)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--defaults-only" ]; then
  shift
  seeds=1,2,3; modes=fine-tune,feature-extraction,scratch; report=bench/results/transfer-defaults.md
  while [ $# -gt 0 ]; do
    case "$1" in
      --seeds) seeds=$2; shift 2 ;;
      --modes) modes=$2; shift 2 ;;
      --report) report=$2; shift 2 ;;
      *) echo "run-transfer.sh --defaults-only: unknown option '$1' (use --seeds, --modes, --report)" >&2; exit 2 ;;
    esac
  done
  dotnet build src/Forge.Cli -c Release -v q -nologo
  forge="$PWD/src/Forge.Cli/bin/Release/net10.0/linux-x64/forge"
  field() { /usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[2]))[sys.argv[1]])" "$1" "$2"; }
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  export FORGE_HOME="$work/home"   # the runs are tracked as a user's would be, in a store of their own
  rows="$work/rows.tsv"
  for mode in ${modes//,/ }; do
    for seed in ${seeds//,/ }; do
      start=$(date +%s.%N)
      "$forge" finetune plantvillage --mode "$mode" --seed "$seed" --out "$work/$mode-$seed" --json > "$work/$mode-$seed.json"
      wall=$(awk "BEGIN { print $(date +%s.%N) - $start }")
      acc=$(field testAccuracy "$work/$mode-$seed.json"); n=$(field testImages "$work/$mode-$seed.json")
      load=$(cut -d' ' -f1 /proc/loadavg)
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$seed" "$acc" "$n" "$wall" "$load" | tee -a "$rows"
    done
  done
  # Each mode's first-seed bundle in forge evaluate: its prediction cost (flip averaging, test crops) as a user meets it.
  : > "$work/speed.md"
  for mode in ${modes//,/ }; do
    [ -d "$work/$mode-${seeds%%,*}" ] || continue
    for r in 1 2 3; do "$forge" evaluate "$work/$mode-${seeds%%,*}" --json > "$work/eval.json"; field imagesPerSecond "$work/eval.json"; done > "$work/speed-$mode.txt"
    echo "- $mode bundle (seed ${seeds%%,*}) in \`forge evaluate\`: **$(sort -g "$work/speed-$mode.txt" | sed -n 2p) images/s** (median of 3 processes: $(paste -sd' ' "$work/speed-$mode.txt"))" >> "$work/speed.md"
  done
  {
    echo "## forge finetune plantvillage, default flags, $(date -u +%Y-%m-%d)"
    echo
    echo "$(nproc) cores; one-minute load average at the end of each run in the last column (the run's own threads included: about 2 on an otherwise idle machine)."
    echo
    echo "| mode | seed | test accuracy | correct | wall time (min) | load |"
    echo "|---|---:|---:|---:|---:|---:|"
    awk -F'\t' '{printf "| %s | %s | %.2f %% | %d / %d | %.1f | %s |\n", $1, $2, 100*$3, $3*$4+0.5, $4, $5/60, $6}' "$rows"
    echo
    echo "| mode | accuracy min-max | mean | wall time min-max (min) |"
    echo "|---|---:|---:|---:|"
    awk -F'\t' '{ m=$1; a=100*$3; w=$5/60; if (!(m in n)) { order[++k]=m; lo[m]=a; hi[m]=a; wlo[m]=w; whi[m]=w }
      n[m]++; s[m]+=a; if (a<lo[m]) lo[m]=a; if (a>hi[m]) hi[m]=a; if (w<wlo[m]) wlo[m]=w; if (w>whi[m]) whi[m]=w }
      END { for (i=1;i<=k;i++) { m=order[i]; printf "| %s | %.2f-%.2f %% | %.2f %% | %.1f-%.1f |\n", m, lo[m], hi[m], s[m]/n[m], wlo[m], whi[m] } }' "$rows"
    [ -s "$work/speed.md" ] && { echo; cat "$work/speed.md"; }
  } > "$work/report.md"
  cat "$work/report.md"
  mkdir -p "$(dirname "$report")"; cp "$work/report.md" "$report"
  exit 0
fi
dotnet build bench/Forge.Bench -c Release -v q -nologo
exec dotnet bench/Forge.Bench/bin/Release/net10.0/linux-x64/Forge.Bench.dll transfer-images "$@"
