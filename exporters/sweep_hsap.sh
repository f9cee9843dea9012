#!/usr/bin/env bash
# Rebuild a trustworthy-sweep model (issue 12) from nothing: simulate the regime, train,
# export, store the null distribution and training statistics (`calibrate`) and the decision
# threshold with what it finds (exporters/decision_threshold.py and decision_power.py, bundled
# models), measure the misspecification matrix and put it on the card.
#   exporters/sweep_hsap.sh ARCHITECTURE GROUP
#     ARCHITECTURE: imagene_cnn (the image CNN), stats_fc (the network on summary statistics),
#                   stats_fc_genome (the same beside its genome's background, trained on the
#                   regime simulated in genomes of 30 windows: build/sweep_hsap_genomes_GROUP)
#                   or imagene_stats (the image CNN and stats_fc side by side, trained jointly)
#     GROUP: general (every training HomSap population), european (CEU, EUR, Sardinian),
#            east_asian (CHB, JPT, Han) or african (YRI, AFR, Mbuti)
# The simulations of a group are shared by its architectures (build/sweep_hsap_GROUP), so
# models of one group train and are calibrated on the same windows and their held-out figures
# compare. About 1.5 hours on 2 CPU cores for the first model of a group (simulation ~10 min,
# null ~15 min, CNN training ~40 min, threshold ~25 min, its power ~10 min, matrix ~8 min;
# stats_fc trains in ~3 min, and stats_fc_genome's threshold, on 15 chromosomes per case of
# four seeds, < 2 h; imagene_stats trains in ~25 min and its matrix takes ~12 min); every
# step but the threshold's and the power's runs resumes after an interruption (rerun the same
# line; exporters/decision_threshold.py and decision_power.py --reuse take runs already
# made). Run from the repository root inside the project's environment (`make venv-train`,
# then `. .venv/bin/activate`).
set -euo pipefail
usage="usage: $0 imagene_cnn|stats_fc|stats_fc_genome|imagene_stats general|european|east_asian|african"
architecture=${1:?$usage}
group=${2:?$usage}
name=$architecture.sweep_hsap_$group
genomes=() data=${DATA:-build/sweep_hsap_$group}
if [ "$architecture" = stats_fc_genome ]; then
    genomes=(--param genome_windows=30) data=${DATA:-build/sweep_hsap_genomes_$group}
fi
work=${WORK:-build/$name}
# bundled: into hub/pretrained, scanned by name, the matrix with calibration.py's defaults
model=hub/pretrained/$name scanned=$name matrix=() threshold=()
case $architecture in
    imagene_cnn) epochs=4; [ "$group" = african ] && epochs=3 ;;  # the bundled one: 3 epochs
    stats_fc) epochs=40 ;;
    # its decision rule: the mean P of the windows within 50 kb, each case on 15 chromosomes,
    # measured on three fresh seeds' together
    stats_fc_genome) epochs=40
                     threshold=(--smoothing 50000 --replicates 15 --measure-seeds 2 5 6) ;;
    # measured, not bundled (docs/sweep_models.md): the model stays in build/, its matrix has
    # 5 chromosomes per case, as the card says
    imagene_stats) epochs=4 model=$work/model scanned=$work/model
                   matrix=(--replicates 5 --loc-replicates 3) ;;
    *) echo "unknown architecture $architecture: imagene_cnn, stats_fc, stats_fc_genome or imagene_stats" >&2
       exit 2 ;;
esac
case $group in
    general) n=30000; histories=() ;;
    european|east_asian|african) n=20000
              histories=(--param "histories=$(python -c "import json
from popgen_hub.simulate.histories import training_histories
print(json.dumps(training_histories('$group')))")") ;;
    *) echo "unknown group $group: general, european, east_asian or african" >&2; exit 2 ;;
esac
popgen-hub simulate sweep_regime "${histories[@]}" "${genomes[@]}" --n "$n" --seed 1 --workers "${WORKERS:-2}" --resume \
    -o "$data/data"
popgen-hub train "$architecture" --data "$data/data" --epochs "${EPOCHS:-$epochs}" --seed 1 \
    --optimizer adamw --schedule cosine --resume -o "$work/run"
popgen-hub export "$work/run" --name "$name" --card "cards/$name.yaml" -o "$model"
# Independent loci of the same histories (another seed): the 10,000 neutral ones are the
# stored null (its empirical p-values reach 1e-4; a fitted tail goes beyond), all of them the
# training statistics that out-of-distribution flags and --model auto compare with; and, for
# --model auto, the statistics of 200 neutral windows of each training history (~1 min).
popgen-hub simulate sweep_regime "${histories[@]}" "${genomes[@]}" --n 30000 --seed 7 --workers "${WORKERS:-2}" --resume \
    -o "$data/null"
popgen-hub calibrate "$model" --data "$data/null" --history-statistics 200 --workers "${WORKERS:-2}"
if [ "$model" = "hub/pretrained/$name" ]; then
    python exporters/decision_threshold.py "$name" "${threshold[@]}" --workers "${WORKERS:-2}"
    # what the threshold finds, on the planted sweeps the other bundled models were measured on
    python exporters/decision_power.py "$name" --workers "${WORKERS:-2}" --work "$work/power"
fi
python benchmarks/calibration.py "$scanned" "${matrix[@]}" --workers "${WORKERS:-2}" -o "$work/matrix"
cp "$work/matrix/matrix.md" "cards/$name.matrix.md"
popgen-hub calibrate "$model" --card "cards/$name.yaml"
