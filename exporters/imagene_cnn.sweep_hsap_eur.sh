#!/usr/bin/env bash
# Rebuild the bundled model imagene_cnn.sweep_hsap_eur from nothing: simulate, train, export,
# calibrate.
# About 30 minutes on 2 CPU cores. Deterministic datasets (seed 1); run from the repository root
# inside the project's environment (`make venv-train`, then `. .venv/bin/activate`).
set -euo pipefail
name=imagene_cnn.sweep_hsap_eur
work=${WORK:-build/$name}

popgen-hub simulate imagene_sweep --n 16000 --seed 1 --workers "${WORKERS:-2}" -o "$work/data"
popgen-hub train imagene_cnn --data "$work/data" --epochs 8 --seed 1 -o "$work/run"
popgen-hub export "$work/run" --name "$name" --card "cards/$name.yaml" \
    -o "hub/pretrained/$name"
# The null distribution of its score (p/q-values in scans): 2,000 independent neutral loci
# of the training history, simulated with another seed than training's (a few minutes).
popgen-hub simulate imagene_sweep --n 4000 --seed 7 --workers "${WORKERS:-2}" -o "$work/null"
popgen-hub calibrate "hub/pretrained/$name" --data "$work/null"
