"""Build the repo folder (README.md model card, config.json, model.onnx, figures, ONNX-zoo
test_data_set_0/) and upload it with huggingface_hub. The token comes from HF_TOKEN or `hf auth
login`; HF_ENDPOINT picks the server. The model must load (sha256, contract) and reproduce its
test data.

examples:
  popgen-hub push imagene_cnn.sweep_hsap_eur --repo my-lab/imagene-sweep-eur
  popgen-hub push local-dir:models/sweep --repo my-lab/sweep --revision v1.0
  popgen-hub push imagene_cnn.sweep_hsap_eur --repo my-lab/x --dry-run -o repo_dir
"""

from __future__ import annotations

import argparse

from ..errors import PopgenHubError
from . import common

NAME, HELP = "push", "publish a model to a Hugging Face model repo (publish extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_argument(p, onnx=False)
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="Hub model repo")
    p.add_argument("--revision", help="branch to push to (created when missing; default main)")
    p.add_argument("--card", help="model-card source (default: cards/MODEL.yaml when present, "
                   "else the model's own README.md)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--dry-run", action="store_true", help="only write the folder, to -o DIR")
    common.add_output(p, "DIR", required=False, help="where --dry-run writes the folder")


def run(args: argparse.Namespace) -> None:
    common.require_publish_extra()
    from ..publish.push import build_repo_folder, push

    if args.dry_run:
        if not args.output:
            raise PopgenHubError("--dry-run writes the repo folder to -o DIR; give -o")
        folder = build_repo_folder(args.model, args.output, repo_id=args.repo,
                                   card_source=args.card)
        print(f"wrote the {args.repo} repo folder to {folder} (not uploaded): "
              + ", ".join(sorted(p.name for p in folder.iterdir())))
        return
    url = push(args.model, args.repo, revision=args.revision, private=args.private,
               card_source=args.card)
    print(f"pushed {args.model} to {args.repo}: {url}\n"
          f"load it with: popgen-hub info hf-hub:{args.repo}"
          + (f"@{args.revision}" if args.revision else ""))
