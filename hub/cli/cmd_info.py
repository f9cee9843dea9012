"""A model's contract and model card.

examples:
  popgen-hub info imagene_cnn.sweep_hsap_eur
  popgen-hub info imagene_cnn.sweep_hsap_eur --json
  popgen-hub info hf-hub:my-lab/sweep-ceu@v1.0
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from ..errors import PopgenHubError
from . import common

NAME, HELP = "info", "show a model's contract and model card"


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_argument(p)
    p.add_argument("--json", action="store_true", help="print the contract as JSON")


def run(args: argparse.Namespace) -> None:
    from ..registry import get_contract, model_card

    contract = get_contract(args.model)
    if args.json:
        print(contract.to_json())
        return
    print(f"{contract.name}  (architecture {contract.architecture}, revision {contract.revision})")
    print(textwrap.fill(contract.description, 88))
    print(f"\nclasses: {', '.join(contract.labels)}  (tracks: {', '.join(contract.track_labels)})")
    _print_input(contract)
    print("encoder: " + ", ".join(f"{k}={v}" for k, v in contract.encoder.items()))
    test = contract.metrics.get("test")
    if test:
        print(f"held-out test accuracy: {test['accuracy']:.4f} (n = {test['n']})")
    card = model_card(args.model)
    if card:  # the card's body, without its YAML front matter
        print("\n" + card.split("\n---\n", 1)[-1].strip())


def _print_input(contract: Any) -> None:
    """The input the model reads: haplotypes, window, tensors and their shapes, time bins."""
    from ..encoders import ancient_bins_text, build_encoder, input_shapes

    spec = contract.input
    try:
        encoder = build_encoder(contract.encoder)
    except PopgenHubError:  # a plugin's encoder that is not installed: the shapes are unknown
        encoder = None
    shapes = input_shapes(encoder, spec.names) if encoder else {}
    tensors = ", ".join(f"{name!r}" + (f" (batch, {', '.join(map(str, shapes[name]))})"
                                       if name in shapes else "") for name in spec.names)
    ancient = ancient_bins_text(encoder) if encoder else ""
    print(f"input: {spec.n_haplotypes} {'phased ' if spec.phased else ''}"
          f"{'present-day ' if ancient else ''}{spec.data_kind}, "
          f"{spec.window_bp:,} bp windows; tensors {tensors}")
    if ancient:
        print(f"ancient time bins: {ancient} (scan with --samples TABLE of sample ages)")
