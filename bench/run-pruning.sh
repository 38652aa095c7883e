#!/usr/bin/env bash
# The pruning benchmark: `forge tune mnist` without pruning and with Hyperband, same seed and budget, for several seeds.
# With the random sampler both studies train the same configurations, so Hyperband can only lose accuracy by pruning the
# configuration that would have won; bench/hyperband_replay.py replays Hyperband on every no-pruning study's curves (exact,
# no training), and the seeds in --real also run Hyperband for real, so the replay is checked against it.
# Prints one table (best validation accuracy, points lost, epochs saved) and writes it to --report.
# Usage: bash bench/run-pruning.sh [--seeds 0,1,2,3,4,5,6,7,8,9] [--real 0,1] [--validation 5000] [--parallel 2]
#                                  [--out DIR] [--report bench/results/pruning.md]
# About 3 min per study on one thread of this 2-core machine; two studies run at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=0,1,2,3,4,5,6,7,8,9; real=0,1; validation=5000; parallel=2; out=bench/results/pruning; report=bench/results/pruning.md
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --real) real=$2; shift 2 ;;
    --validation) validation=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --report) report=$2; shift 2 ;;
    *) echo "run-pruning.sh: unknown option '$1' (use --seeds, --real, --validation, --parallel, --out, --report)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
export FORGE_DATA_DIR="${FORGE_DATA_DIR:-$PWD/../shared/data}"
study() { # PRUNER SEED: one study, one thread, its own throw-away FORGE_HOME; JSON in $out
  local home; home=$(mktemp -d)
  FORGE_HOME=$home "$bin/forge" tune mnist --model mlp --fixed-epochs --sampler random --trials 20 --limit 12000 \
    --validation "$validation" --max-epochs 9 --pruner "$1" --seed "$2" --threads 1 --no-track --json > "$out/$1-$2.json" 2> "$out/$1-$2.err" \
    || { echo "study $1 seed $2 failed: see $out/$1-$2.err" >&2; rm -rf "$home"; return 1; }
  rm -rf "$home"
}
jobs_list=()
for s in ${seeds//,/ }; do [ -s "$out/none-$s.json" ] || jobs_list+=("none $s"); done
for s in ${real//,/ }; do [ -s "$out/hyperband-$s.json" ] || jobs_list+=("hyperband $s"); done
# Studies already in --out are kept (the run resumes); the CLI is built only when something is left to run.
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT
[ ${#jobs_list[@]} -eq 0 ] || dotnet publish src/Forge.Cli -c Release -v q -nologo -o "$bin" >/dev/null
running=0
for j in ${jobs_list[@]+"${jobs_list[@]}"}; do
  echo "[pruning] $j" >&2
  study $j &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
done
wait
files=(); for s in ${seeds//,/ }; do files+=("$out/none-$s.json"); done
{
  echo "## Hyperband against no pruning, forge tune mnist (MLP, 20 random-sampler trials, 12,000 training and $validation validation images, 9 epochs), $(date -u +%Y-%m-%d)"
  echo
  /usr/bin/python3 bench/hyperband_replay.py "${files[@]}"
  echo
  echo "Real Hyperband studies (the replay above must match them):"
  echo
  echo "| seed | best, Hyperband | epochs trained | pruned |"
  echo "|---:|---:|---:|---:|"
  for s in ${real//,/ }; do
    /usr/bin/python3 - "$out/hyperband-$s.json" "$s" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
pruned = sum(1 for t in d['trials'] if t['state'] == 'PRUNED')
print(f"| {sys.argv[2]} | {100 * d['bestValue']:.2f} % | {d['epochsTrained']} of {d['epochsWithoutPruning']} | {pruned} of {len(d['trials'])} |")
EOF
  done
} > "$out/report.md"
cat "$out/report.md"
mkdir -p "$(dirname "$report")"; cp "$out/report.md" "$report"
