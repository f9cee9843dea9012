#!/usr/bin/env bash
# Publish every bundled model to the Hugging Face Hub, as $HF_ORG/<model name>.
#   HF_TOKEN=hf_... exporters/publish_all.sh              # upload (HF_ORG defaults to popgen-hub)
#   DRY_RUN=out/hub exporters/publish_all.sh              # only write the repo folders
# Each model must load (sha256, contract) and reproduce its test_data_set_0 before it goes.
# Run from the repository root (cards/ holds the card sources) inside the project's environment.
set -euo pipefail
org=${HF_ORG:-popgen-hub}
for name in $(python -c "import popgen_hub; print(' '.join(popgen_hub.list_models()))"); do
    if [[ -n "${DRY_RUN:-}" ]]; then
        popgen-hub push "$name" --repo "$org/$name" --dry-run -o "$DRY_RUN/$name"
    else
        popgen-hub push "$name" --repo "$org/$name"
    fi
done
