#!/usr/bin/env bash
# Rebuild the bundled recombination-rate model relernn_gru.recomb_hsap (issue 16, item 2) from
# nothing: simulate the regime (recombination_regime: 24,000 windows of 50 kb, 64 haplotypes,
# a history drawn from the HomSap family, the three held-out models never), train the
# bidirectional GRU (20 epochs, one torch thread: a GRU's small steps run slower on two threads
# of a busy machine), export it, then measure it off its training data: windows of the
# held-out histories and of mutation rates outside its prior (`popgen-hub evaluate`), and
# whole chromosomes with known maps (benchmarks/recombination.py); both tables go on the card.
# About 80 minutes on 2 CPU cores (simulation ~10 min, training ~45 min, checks ~20 min);
# every step resumes after an interruption (rerun the same line). Run from the repository root
# inside the project's environment (`make venv-train`, then `. .venv/bin/activate`).
set -euo pipefail
name=relernn_gru.recomb_hsap
data=${DATA:-build/recomb_hsap}
work=${WORK:-build/$name}
popgen-hub simulate recombination_regime --n 24000 --seed 1 --workers "${WORKERS:-2}" \
    --shard-size 1000 --encoder name=snp_sequence --resume -o "$data/data"
popgen-hub train relernn_gru --data "$data/data" --epochs "${EPOCHS:-20}" --batch-size 64 \
    --optimizer adamw --schedule cosine --threads 1 --seed 1 --resume -o "$work/run"
popgen-hub export "$work/run" --name "$name" -o "$work/model"
held_out=$(python -c "import json
from popgen_hub.simulate.histories import ALL_HOMSAP, HELD_OUT_MODELS
print(json.dumps([h for h in ALL_HOMSAP if h.split('/')[1] in HELD_OUT_MODELS], separators=(',', ':')))")
cases=("independent windows of the training regime|"
       "held-out histories (OutOfAfrica_3G09, AmericanAdmixture_4B18, Africa_1B08), published|histories=$held_out random_share=0 jitter_share=0"
       "mutation rate 1e-8 (below the prior)|mutation_rate_min=1e-8 mutation_rate_max=1e-8"
       "mutation rate 2e-8 (above the prior)|mutation_rate_min=2e-8 mutation_rate_max=2e-8")
mkdir -p "$work/windows"
for k in "${!cases[@]}"; do
    params=()
    for p in ${cases[$k]#*|}; do params+=(--param "$p"); done
    popgen-hub simulate recombination_regime "${params[@]}" --n 2000 --seed 11 \
        --workers "${WORKERS:-2}" --encoder name=snp_sequence --resume -q -o "$data/check_$k"
    popgen-hub evaluate "local-dir:$work/model" "$data/check_$k" -q --json "$work/windows/$k.json"
done
python - "$work/windows" "${cases[@]}" > "$work/windows.md" <<'PY'
import json, sys
folder, cases = sys.argv[1], sys.argv[2:]
print("### Off the training distribution: windows\n\n2,000 simulated 50 kb windows per case "
      "(seed 11), rates log-uniform 0.01-10 cM/Mb; Pearson and Spearman on log10 rates, RMSE "
      "and bias in log10 units, and the median ratio of predicted to true rate in each eighth "
      "of the windows by true rate, those of 0.1-1 and of 1-10 cM/Mb (`popgen-hub "
      "evaluate`).\n")
print("| windows | Pearson r | Spearman | RMSE | bias | predicted/true, 0.1-1 cM/Mb | "
      "predicted/true, 1-10 cM/Mb |\n|---|---|---|---|---|---|---|")
for k, case in enumerate(cases):
    r = json.load(open(f"{folder}/{k}.json"))
    def ratio(low, high):
        bins = [b for b in r["by_true_value"] if low <= b["mean_true"] < high]
        return " / ".join(f"{b['median_predicted'] / b['mean_true']:.2f}" for b in bins)
    print(f"| {case.split('|')[0]} | {r['pearson']:.3f} | {r['spearman']:.3f} | {r['rmse']:.3f} "
          f"| {r['bias']:+.3f} | {ratio(0.1, 1)} | {ratio(1, 10)} |")
PY
python benchmarks/recombination.py --model "local-dir:$work/model" --workers "${WORKERS:-2}" \
    -o "$work/maps"
{ cat "$work/windows.md"
  printf '\n### Off the training distribution: chromosomes with known maps\n\n'
  cat "$work/maps/matrix.md"; } > "cards/$name.matrix.md"
popgen-hub export "$work/run" --name "$name" --card "cards/$name.yaml" -o "hub/pretrained/$name"
