#!/usr/bin/env bash
# Rebuild a sweep model of individuals (issue 13) from nothing, in the trustworthy-sweep regime
# (issue 12): simulate it with 100 diploids per replicate, train the exchangeable network on a
# random 5 to 100 of them (likelihoods: read at a random 0.5-20x through the BAM reader's own
# SNP discovery and likelihood code), export, store nulls and training statistics for each
# sample size (and depth), then measure it by sample size and depth on held-out replicates, on
# held-out histories, and across the misspecification matrix (likelihoods: its chromosomes
# sequenced at 4x and at 1x); all of it on its card.
#   exporters/exchangeable_cnn.sweep_hsap.sh genotypes    # unphased genotypes (GT)
#   exporters/exchangeable_cnn.sweep_hsap.sh likelihoods  # genotype likelihoods (GL/PL, BAM)
# About 1.5 hours on 2 CPU cores each (the two share their simulations); the simulations and
# the training resume after an interruption (rerun the same line); export and calibrate run
# again, in minutes (the likelihood model's nulls: ~20 min). Run from the repository root inside the
# project's environment (`make venv-train`, then `. .venv/bin/activate`).
set -euo pipefail
kind=${1:?usage: $0 genotypes|likelihoods}
case $kind in
    # null loci per condition: 5 sample sizes x 5,000 for genotypes (enough for a fitted tail);
    # 5 sizes x 6 depths x 1,000 for likelihoods, whose draws simulate reads (~30 min)
    genotypes) architecture=exchangeable_cnn; loci=5000 ;;
    likelihoods) architecture=exchangeable_cnn_gl; loci=1000 ;;
    *) echo "unknown data kind $kind: genotypes or likelihoods" >&2; exit 2 ;;
esac
name=$architecture.sweep_hsap_$kind
work=${WORK:-build/exchangeable}
workers=${WORKERS:-2}
regime=(sweep_regime --param n_haplotypes=200 --workers "$workers" --resume)
popgen-hub simulate "${regime[@]}" --n 24000 --seed 1 -o "$work/data"
# one PyTorch thread: the bundled two were trained side by side, one thread each
popgen-hub train "$architecture" --data "$work/data" --epochs "${EPOCHS:-6}" --seed 1 --threads 1 \
    --optimizer adamw --schedule cosine --resume -o "$work/run_$kind"
popgen-hub export "$work/run_$kind" --name "$name" --card "cards/$name.yaml" \
    -o "hub/pretrained/$name"
# Independent neutral loci (another seed): nulls and training statistics per sample size and
# depth, which scans choose from by the individuals and depth they read.
popgen-hub simulate "${regime[@]}" --n 15000 --seed 7 -o "$work/null"
popgen-hub calibrate "hub/pretrained/$name" --data "$work/null" --loci-per-condition "$loci" \
    --workers "$workers"
# Held out: the training dataset's test split, and the three HomSap models never trained on.
held_out=$(python -c "import json
from popgen_hub.simulate.histories import ALL_HOMSAP, HELD_OUT_MODELS
print(json.dumps([h for h in ALL_HOMSAP if h.split('/')[1] in HELD_OUT_MODELS]))")
popgen-hub simulate "${regime[@]}" --param "histories=$held_out" --param random_share=0 \
    --param jitter_share=0 --n 3000 --seed 11 -o "$work/held_out_histories"
python benchmarks/sample_depth.py "$name" --data "$work/data" --workers "$workers" \
    -o "$work/sample_depth_$kind"
python benchmarks/sample_depth.py "$name" --data "$work/held_out_histories" \
    --workers "$workers" -o "$work/sample_depth_held_out_$kind"
# the misspecification matrix: VCFs of called genotypes for the genotype model; for the
# likelihood model the same chromosomes sequenced at a mean depth (VCFs of PL; no 1,000-haplotype
# localisation sweeps, as it reads at most 100 individuals)
depths=(4 1)
if [ "$kind" = genotypes ]; then
    python benchmarks/calibration.py "$name" --workers "$workers" -o "$work/matrix_$kind"
else
    for depth in "${depths[@]}"; do
        python benchmarks/calibration.py "$name" --depth "$depth" --loc-replicates 0 \
            --workers "$workers" -o "$work/matrix_${kind}_${depth}x"
    done
fi
cp "$work/sample_depth_$kind/sample_depth.png" "hub/pretrained/$name/"  # the card shows it
{
    echo "![held-out figures by sample size and depth](sample_depth.png)"
    echo; echo "## Held out: the training dataset's test split"; echo
    cat "$work/sample_depth_$kind/sample_depth.md"
    echo; echo "## Held out: the three HomSap models never trained on"; echo
    cat "$work/sample_depth_held_out_$kind/sample_depth.md"
    if [ "$kind" = genotypes ]; then
        echo; echo "## Misspecification matrix"; echo
        cat "$work/matrix_$kind/matrix.md"
    else
        for depth in "${depths[@]}"; do
            echo; echo "## Misspecification matrix, sequenced at ${depth}x"; echo
            cat "$work/matrix_${kind}_${depth}x/matrix.md"
        done
    fi
} > "cards/$name.matrix.md"
popgen-hub calibrate "hub/pretrained/$name" --card "cards/$name.yaml"
