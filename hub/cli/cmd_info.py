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
    from ..calibration import CONDITIONS, NULL_SCORE, null_summary
    from ..contract import regression_summary
    from ..ood import BY_HISTORY, history_summary
    from ..registry import get_contract, model_card

    contract = get_contract(args.model)
    if args.json:
        print(contract.to_json())
        return
    print(f"{contract.name}  (architecture {contract.architecture}, revision {contract.revision})")
    print(textwrap.fill(contract.description, 88))
    print({"embedding": f"\noutputs per sample: {', '.join(contract.labels)} (`popgen-hub "
                        f"embed`)",
           "regression": f"\nvalue per window: {', '.join(contract.labels)} (a regression; "
                         f"tracks autoscaled)",
           "classes": f"\nclasses: {', '.join(contract.labels)}  (tracks: "
                      f"{', '.join(contract.track_labels)})"}[contract.output_kind])
    _print_input(contract)
    print("encoder: " + ", ".join(f"{k}={v}" for k, v in contract.encoder.items()))
    test = contract.test_accuracy()
    if contract.output_kind == "regression" and "pearson" in contract.metrics.get("test", {}):
        print(f"held-out test: {regression_summary(contract.metrics['test'])}")
    if test:
        print(f"held-out test accuracy: {test[0]:.4f} (n = {test[1]})")
    null = contract.references.get(NULL_SCORE)
    if contract.output_kind == "classes":
        print(null_summary(null, contract.references.get(CONDITIONS)) if null else
              "no stored null distribution: scans give no p- or q-values (`popgen-hub "
              "calibrate` stores one)")
        threshold = contract.decision_threshold()
        print(f"decision threshold: {threshold.text()} ({threshold.source})")
        if threshold.power:
            print(f"at it, the site's window called for {threshold.power.text()}: "
                  f"{threshold.power.source}")
        if sizes := threshold.sizes_text():
            print(sizes)
    if BY_HISTORY in contract.references:
        print(history_summary(contract.references[BY_HISTORY]))
    card = model_card(args.model)
    if card:  # the card's body, without its YAML front matter
        print("\n" + card.split("\n---\n", 1)[-1].strip())


def _print_input(contract: Any) -> None:
    """The input the model reads: haplotypes, window, tensors and their shapes, time bins."""
    from ..encoders import ENCODERS, ancient_bins_text, build_encoder, input_shapes
    from ..runtime import batch_shape_text
    from ..schema import first_line

    spec = contract.input
    try:  # a plugin's encoder that is not installed leaves the shapes unknown
        encoder = (build_encoder(contract.encoder)
                   if contract.encoder.get("name") in ENCODERS.all() else None)
    except (TypeError, ValueError) as exc:  # a parameter of the wrong type or value
        raise PopgenHubError(f"{contract.name}: the contract's encoder section is invalid "
                             f"({first_line(exc)}); export the model again with `popgen-hub "
                             f"export`"
                             ) from None
    shapes = input_shapes(encoder, spec.names) if encoder else {}
    tensors = ", ".join(f"{name!r}" + (
        f" {batch_shape_text(shapes[name])}"
        if name in shapes else "") for name in spec.names)
    ancient = ancient_bins_text(encoder) if encoder else ""
    low, high = spec.sample_size
    what = (f"{spec.n_haplotypes} {'phased ' if spec.phased else ''}"
            f"{'present-day ' if ancient else ''}{spec.data_kind}"
            if spec.data_kind == "haplotypes" else
            f"unphased {spec.data_kind} of {low} to {high or 'any number of'} individuals "
            f"(ploidy {'-'.join(map(str, dict.fromkeys(spec.ploidy)))})")
    reads = ("a region of any length (`--region`)" if contract.output_kind == "embedding"
             else f"{spec.window_bp:,} bp windows")
    print(f"input: {what}, {reads}; tensors {tensors}")
    if ancient:
        print(f"ancient time bins: {ancient} (scan with --samples TABLE of sample ages)")
