"""A bedGraph of every scored window's central bin, one file per track label."""

from __future__ import annotations

import numpy as np

from popgen_hub.files import Staging
from popgen_hub.result import ScanResult


def write_bedgraph(result: ScanResult, staging: Staging) -> None:
    contract = result.contract
    scored = result.scored()
    for label in contract.track_labels:
        column = contract.labels.index(label)
        with open(staging.path(f"{contract.name}.{label}.bedGraph"), "w") as out:
            out.write(f'track type=bedGraph name="P({label}) {contract.name}" '
                      f"viewLimits=0:1 autoScale=off\n")
            for row in scored[np.argsort(scored["contig"], kind="stable")]:
                out.write(f"{result.contigs[row['contig']]}\t{row['bin_start']}\t"
                          f"{row['bin_end']}\t{row['probabilities'][column]:.6g}\n")
