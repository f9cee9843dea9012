#!/usr/bin/env bash
# Rebuild the discriminator exchangeable_cnn.gan_homsap_ceu (issue 16, item 4) from nothing:
# simulate 50 CEU diploids over 20 Mb under stdpopsim HomSap OutOfAfrica_3G09 (seed 1, the
# model's own mutation rate 2.35e-8, the generator's recombination rate; the generator
# simulates at 1.29e-8, so fitted sizes are in its units), fit the two-epoch model to them with
# `popgen-hub fit-demography` (pg-gan's recipe, the default budget, seed 1, one torch thread;
# resumable), then export the fit's final discriminator with its card. Its score is
# P(unlike_fitted): windows that the fitted two-epoch history does not explain.
# About 10 minutes on 2 CPU cores. Run from the repository root inside the project's
# environment (`make venv-train`, then `. .venv/bin/activate`).
set -euo pipefail
work=${WORK:-build/gan_homsap_ceu}
out=${OUT:-hub/pretrained/exchangeable_cnn.gan_homsap_ceu}
mkdir -p "$work"
if [ ! -f "$work/ceu.vcf.gz" ]; then
  python -c "
import sys
from popgen_hub.gan.windows import simulate_stdpopsim_vcf
simulate_stdpopsim_vcf(sys.argv[1], 'OutOfAfrica_3G09', 'CEU', n_individuals=50,
                       length=20_000_000, seed=1)
" "$work/ceu.vcf.gz"
fi
popgen-hub fit-demography --vcf "$work/ceu.vcf.gz" --seed 1 --resume -o "$work/fit"
popgen-hub export "$work/fit/discriminator_run" --name exchangeable_cnn.gan_homsap_ceu \
  --card cards/exchangeable_cnn.gan_homsap_ceu.yaml -o "$out"
