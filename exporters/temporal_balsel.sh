#!/usr/bin/env bash
# The review's temporal balancing-selection task, end to end (issue 4): simulate our data, import
# the review's data, train the branched network and both single-branch baselines 10 times each
# on both (every repeat its own seed and split), draw Fig. 3 for each, export the two bundled
# models, and score each model on the other simulator's data. About 1.5 hours on 2 CPU cores.
# Run from the repository root inside the project's environment (`make venv-train`).
set -euo pipefail
work=${WORK:-build/temporal_balsel}
review_tar=${REVIEW_DATA:-../shared/data/peers/temporal_balancing_selection_train.tar.gz}
repeats=${REPEATS:-10}
train=(--repeats "$repeats" --seed 1 --optimizer adamw --weight-decay 1e-3 --schedule cosine
       --epochs "${EPOCHS:-20}" --threads "${THREADS:-2}" -q)
mkdir -p "$work"

# Our simulator: 700 replicates per class, as many as the review had.
popgen-hub simulate temporal_balancing --n 2100 --seed 1 --workers "${WORKERS:-2}" \
    --shard-size 150 -o "$work/hsap_eur/data"
# The review's simulations: CLASS/1..5/*.txt, subfolder 5 present-day, 1 the oldest.
if [ ! -f "$work/review_data/data/manifest.json" ]; then
    mkdir -p "$work/review_data/ms"
    tar -xzf "$review_tar" -C "$work/review_data/ms"
    popgen-hub import ms --class neutral="$work/review_data/ms/neutral" \
        --class weak_overdominance="$work/review_data/ms/dominance0025" \
        --class moderate_overdominance="$work/review_data/ms/dominance05" \
        --time-points 8000,4000,2000,1000,0 --length 50000 -q \
        --simulator "SLiM, the review's simulations (kevinkorfmann/temporal-balancing-selection)" \
        -o "$work/review_data/data"
fi

for data in hsap_eur review_data; do
    for arch in temporal_ancient temporal_present temporal_balsel; do
        [ -f "$work/$data/$arch/repeats.json" ] ||
            popgen-hub train "$arch" --data "$work/$data/data" "${train[@]}" -o "$work/$data/$arch"
    done
    popgen-hub compare "ancient only=$work/$data/temporal_ancient" \
        "present only=$work/$data/temporal_present" "both (branched)=$work/$data/temporal_balsel" \
        --title "temporal_balsel on $data: held-out test data, mean ± sd over $repeats repeats" \
        -o "$work/$data/temporal_balsel/comparison.png"
    cp "$work/$data/temporal_balsel/comparison.png" "docs/figures/temporal_fig3_$data.png"
    popgen-hub export "$work/$data/temporal_balsel" --name "temporal_balsel.$data" \
        --card "cards/temporal_balsel.$data.yaml" -o "hub/pretrained/temporal_balsel.$data"
done

# Cross-simulator check: each bundled model on all of the other simulator's replicates (none of
# which it saw in training).
popgen-hub evaluate temporal_balsel.hsap_eur "$work/review_data/data" -q \
    --json "$work/cross_hsap_eur_on_review.json"
popgen-hub evaluate temporal_balsel.review_data "$work/hsap_eur/data" -q \
    --json "$work/cross_review_on_hsap_eur.json"
