#!/usr/bin/env bash
# Rebuild ensemble.sweep_hsap_general: the product of the two bundled general sweep models
# (imagene_cnn.sweep_hsap_general and stats_fc.sweep_hsap_general, which must be bundled
# already), its temperature and test figures from 6,000 held-out windows of their regime, its
# null and training statistics from the same independent loci as theirs, its decision
# threshold (exporters/decision_threshold.py: chosen on seed 1's neutral chromosomes, measured
# on seed 2's), what the threshold finds (exporters/decision_power.py) and its matrix (5
# chromosomes per case; sweeps also in bottlenecked histories; figures at the threshold too;
# its members on the same chromosomes) on the card. About 1.7 hours on 2 CPU cores (the
# threshold ~25 min, what it finds ~10 min, the matrix ~40 min); the simulations resume
# after an interruption, the threshold's runs are made again (exporters/decision_threshold.py
# --reuse takes them). Run from the repository root inside the project's environment
# (`make venv-train`, then `. .venv/bin/activate`).
set -euo pipefail
name=ensemble.sweep_hsap_general
data=${DATA:-build/sweep_hsap_general}
work=${WORK:-build/$name}
model=hub/pretrained/$name
popgen-hub simulate sweep_regime --n 6000 --seed 11 --workers "${WORKERS:-2}" --resume \
    -o "$data/heldout"
popgen-hub ensemble imagene_cnn.sweep_hsap_general stats_fc.sweep_hsap_general \
    --data "$data/heldout" --name "$name" --card "cards/$name.yaml" -o "$model"
# the members' null loci (exporters/sweep_hsap.sh): 10,000 neutral of 30,000; the statistics
# by training history, as the members'
popgen-hub simulate sweep_regime --n 30000 --seed 7 --workers "${WORKERS:-2}" --resume \
    -o "$data/null"
popgen-hub calibrate "$model" --data "$data/null" --history-statistics 200 --workers "${WORKERS:-2}"
python exporters/decision_threshold.py "$name" --workers "${WORKERS:-2}"
python exporters/decision_power.py "$name" --workers "${WORKERS:-2}" --work "$work/power"
threshold=$(python -c "from popgen_hub.registry import get_contract
print(get_contract('$name').decision_threshold().value)")
# seed 2, where the threshold is measured too; its members scan the same chromosomes, beside
# it on the card
python benchmarks/calibration.py "$name" imagene_cnn.sweep_hsap_general stats_fc.sweep_hsap_general \
    --seed 2 --replicates 5 --loc-replicates 3 \
    --thresholds "$threshold" --sweep-histories marth2004_eur_1epoch bottleneck \
    HomSap/OutOfAfrica_3G09/CEU HomSap/OutOfAfrica_3G09/CHB \
    HomSap/OutOfAfricaArchaicAdmixture_5R19/CHB --workers "${WORKERS:-2}" -o "$work/matrix"
cp "$work/matrix/matrix.md" "cards/$name.matrix.md"
popgen-hub calibrate "$model" --card "cards/$name.yaml"
