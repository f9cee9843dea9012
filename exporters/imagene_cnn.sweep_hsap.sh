#!/usr/bin/env bash
# Rebuild a trustworthy-sweep model (issue 12) from nothing: simulate the regime, train,
# export, store the null distribution and training statistics (`calibrate`), measure the
# misspecification matrix and put it on the card.
#   exporters/imagene_cnn.sweep_hsap.sh general    # every training HomSap population
#   exporters/imagene_cnn.sweep_hsap.sh european   # the European ones (CEU, EUR, Sardinian)
#   exporters/imagene_cnn.sweep_hsap.sh east_asian # CHB, JPT, Han
#   exporters/imagene_cnn.sweep_hsap.sh african    # YRI, AFR, Mbuti
# About 1.5 hours on 2 CPU cores (simulation ~10 min, training ~40 min, null ~15 min, matrix
# ~8 min); every step resumes after an interruption (rerun the same line). Run from the
# repository root inside the project's environment (`make venv-train`, then
# `. .venv/bin/activate`).
set -euo pipefail
group=${1:?usage: $0 general|european|east_asian|african}
name=imagene_cnn.sweep_hsap_$group
work=${WORK:-build/$name}
epochs=4
case $group in
    general) n=30000; histories=() ;;
    european|east_asian|african) n=20000
              [ "$group" = african ] && epochs=3  # the bundled one: 3 epochs
              histories=(--param "histories=$(python -c "import json
from popgen_hub.simulate.histories import training_histories
print(json.dumps(training_histories('$group')))")") ;;
    *) echo "unknown group $group: general, european, east_asian or african" >&2; exit 2 ;;
esac
popgen-hub simulate sweep_regime "${histories[@]}" --n "$n" --seed 1 --workers "${WORKERS:-2}" --resume \
    -o "$work/data"
popgen-hub train imagene_cnn --data "$work/data" --epochs "${EPOCHS:-$epochs}" --seed 1 \
    --optimizer adamw --schedule cosine --resume -o "$work/run"
popgen-hub export "$work/run" --name "$name" --card "cards/$name.yaml" -o "hub/pretrained/$name"
# Independent loci of the same histories (another seed): the 10,000 neutral ones are the
# stored null (its empirical p-values reach 1e-4; a fitted tail goes beyond), all of them the
# training statistics that out-of-distribution flags and --model auto compare with.
popgen-hub simulate sweep_regime "${histories[@]}" --n 30000 --seed 7 --workers "${WORKERS:-2}" --resume \
    -o "$work/null"
popgen-hub calibrate "hub/pretrained/$name" --data "$work/null"
python benchmarks/calibration.py "$name" --workers "${WORKERS:-2}" -o "$work/matrix"
cp "$work/matrix/matrix.md" "cards/$name.matrix.md"
popgen-hub calibrate "hub/pretrained/$name" --card "cards/$name.yaml"
