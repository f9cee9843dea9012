#!/usr/bin/env bash
# Rebuild the bundled embedding model vae.embed_hsap (issue 16, item 3) from nothing:
# simulate 300 human-like datasets (stdpopsim HomSap models, held-out models never), take each
# sample's scores on the first principal axes (popgen_hub.encoders.PcaScores), train the VAE
# (popgen_hub.embed.train.train_bundled, seed 1, one torch thread), export it to ONNX with a
# parity check against torch, test data and its card, and measure it on held-out data
# (OutOfAfrica_3G09 and an island model, three seeds each; the figures go on the card).
# Then the benchmark measures the bundled file through onnxruntime and `embed --fit`.
# About 10 minutes on 2 CPU cores. Run from the repository root inside the project's
# environment (`make venv-train`, then `. .venv/bin/activate`).
set -euo pipefail
out=${OUT:-hub/pretrained/vae.embed_hsap}
python -c "
import logging, sys
log = logging.getLogger('popgen_hub')
log.addHandler(logging.StreamHandler())
log.setLevel(logging.INFO)
from popgen_hub.embed.train import train_bundled
train_bundled(sys.argv[1], n_datasets=300, seed=1, card='cards/vae.embed_hsap.yaml')
" "$out"
python benchmarks/embed.py --model "local-dir:$out" --seeds 1 2 3
