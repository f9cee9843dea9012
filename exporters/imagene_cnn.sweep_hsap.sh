#!/usr/bin/env bash
# Rebuild a trustworthy-sweep model (issue 12) from nothing: simulate the regime, train,
# export, store the null distribution and training statistics (`calibrate`), measure the
# misspecification matrix and put it on the card.
#   exporters/imagene_cnn.sweep_hsap.sh general    # every training HomSap population
#   exporters/imagene_cnn.sweep_hsap.sh european   # the European ones (CEU, EUR, Sardinian)
# About 1.5 hours on 2 CPU cores (simulation ~30 min, training ~40 min, matrix ~8 min); every
# step resumes after an interruption (rerun the same line). Run from the repository root inside
# the project's environment (`make venv-train`, then `. .venv/bin/activate`).
set -euo pipefail
group=${1:?usage: $0 general|european}
name=imagene_cnn.sweep_hsap_$group
work=${WORK:-build/$name}
case $group in
    general) n=30000; histories=() ;;
    european) n=20000
              histories=(--param "histories=$(python -c 'import json
from popgen_hub.simulate.histories import TRAINING_EUROPEAN
print(json.dumps(list(TRAINING_EUROPEAN)))')") ;;
    *) echo "unknown group $group: general or european" >&2; exit 2 ;;
esac

popgen-hub simulate sweep_regime "${histories[@]}" --n "$n" --seed 1 --workers "${WORKERS:-2}" --resume \
    -o "$work/data"
popgen-hub train imagene_cnn --data "$work/data" --epochs "${EPOCHS:-4}" --seed 1 \
    --optimizer adamw --schedule cosine --resume -o "$work/run"
popgen-hub export "$work/run" --name "$name" --card "cards/$name.yaml" -o "hub/pretrained/$name"
# Independent neutral loci of the same histories (another seed): the stored null and the
# training statistics that out-of-distribution flags and --model auto compare with.
popgen-hub simulate sweep_regime "${histories[@]}" --n 4500 --seed 7 --workers "${WORKERS:-2}" --resume \
    -o "$work/null"
popgen-hub calibrate "hub/pretrained/$name" --data "$work/null"
python benchmarks/calibration.py "$name" --workers "${WORKERS:-2}" -o "$work/matrix"
cp "$work/matrix/matrix.md" "cards/$name.matrix.md"
popgen-hub calibrate "hub/pretrained/$name" --card "cards/$name.yaml"
