"""Readers turn genomic files into :class:`~popgen_hub.genotypes.GenotypeBlock` s.

The built-in :class:`VcfReader` takes indexed VCF/BCF (``.vcf.gz``, ``.vcf.bgz``, ``.bcf``) and
anything no other reader claims; see :mod:`popgen_hub.readers.base` for the protocol.
"""

from ..genotypes import Region, parse_region
from .base import READERS, Reader, SampleSelection, haplotype_columns, open_reader
from .vcf import VcfReader

__all__ = ["READERS", "Reader", "Region", "SampleSelection", "VcfReader", "haplotype_columns",
           "open_reader", "parse_region"]
