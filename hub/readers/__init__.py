"""Readers turn genomic files into :class:`~popgen_hub.genotypes.GenotypeBlock` s.

The built-in :class:`VcfReader` takes indexed VCF/BCF (``.vcf.gz``, ``.vcf.bgz``, ``.bcf``) and
anything no other reader claims; :class:`BamReader` takes indexed BAM/CRAM files, one individual
each; see :mod:`popgen_hub.readers.base` for the protocol.
"""

from ..genotypes import Region, parse_region
from .bam import BamReader
from .base import (
    READERS,
    Reader,
    SampleSelection,
    haplotype_columns,
    input_name,
    open_reader,
)
from .vcf import VcfReader

__all__ = ["READERS", "BamReader", "Reader", "Region", "SampleSelection", "VcfReader",
           "haplotype_columns", "input_name", "open_reader", "parse_region"]
