"""The mask track of windows unlike the model's training data: ``<model>.flagged.bed``.

One BED line per flagged window, on its central bin (the part of the genome its score covers
in the BigWig, so the mask lines up with the track), named by its reasons (see
:mod:`popgen_hub.ood`). IGV loads it with the scan's batch script. A model without training
statistics flags nothing and gets no file.
"""

from __future__ import annotations

from ..files import Staging
from ..ood import REFERENCE, flag_text
from ..result import ScanResult, flagged_file
from .base import WRITERS


@WRITERS.register("flagged")
def write_flagged(result: ScanResult, staging: Staging) -> None:
    """A BED6 (0-based half-open) of the flagged windows' bins, score = number of reasons."""
    if REFERENCE not in result.contract.references:
        return
    lengths = result.chrom_sizes()
    windows = result.windows[result.windows["flags"] != 0]
    with open(staging.path(flagged_file(result.contract.name)), "w") as out:
        out.write(f'track name="flagged_{result.contract.name}" description="windows unlike '
                  f'the training data of {result.contract.name}" itemRgb=off\n')
        for row in windows:
            contig = result.contigs[row["contig"]]
            start = min(int(row["bin_start"]), lengths[contig] - 1)
            end = max(min(int(row["bin_end"]), lengths[contig]), start + 1)
            reasons = flag_text(row["flags"])
            out.write(f"{contig}\t{start}\t{end}\t{reasons}\t"
                      f"{reasons.count(',') + 1}\t.\n")
