"""The sites to genotype from reads, taken from a VCF/BCF (``--sites``): the positions and alleles
of its biallelic SNPs; its genotypes, if any, are not read. Other records are counted as the VCF
reader counts them (:data:`~popgen_hub.readers.records.SKIP_REASONS`)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import PopgenHubError
from ..genotypes.region import braced
from .bgzf import find_index
from .pileup import BASE_CODES
from .records import alleles, query, skip_reason


class SitesVcf:
    """An indexed VCF/BCF of sites, checked when opened; each read opens its own handle (so
    the object pickles to worker processes as it is)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise PopgenHubError(f"--sites {self.path}: no such file")
        self.index = find_index(self.path)
        self.contigs: list[str] = list(self._open().seqnames)

    def _open(self):
        import cyvcf2

        try:
            return cyvcf2.VCF(str(self.path), lazy=True)
        except Exception as exc:  # cyvcf2 raises OSError, or a bare Exception on bad headers
            raise PopgenHubError(f"--sites {self.path} is not a VCF or BCF file htslib can read "
                                 f"({exc}); give a bgzip-compressed .vcf.gz or a .bcf") from None

    def read(self, contig: str, start: int, end: int, count_before: int
             ) -> tuple[np.ndarray, np.ndarray, Counter]:
        """The biallelic SNPs starting in [start, end) of ``contig``: positions (0-based), REF
        and ALT base codes (sites, 2), and the records skipped before ``count_before`` by
        reason."""
        positions: list[int] = []
        bases: list[str] = []
        skipped: Counter = Counter()
        last = -1
        for record in query(self._open(), f"{braced(contig)}:{start + 1}-{end}", self.path):
            position = record.start
            if position < start:  # a record that starts before the region but overlaps it
                continue
            ref, alts = alleles(record, self.path)
            reason = skip_reason(ref, alts, position == last)
            if reason:
                skipped[reason] += position < count_before
                continue
            last = position
            positions.append(position)
            bases.append(ref + alts[0])
        codes = BASE_CODES[np.frombuffer("".join(bases).encode("ascii"), dtype=np.uint8)]
        return np.array(positions, dtype=np.int64), codes.reshape(-1, 2), +skipped
