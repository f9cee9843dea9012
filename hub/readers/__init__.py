"""Readers turn genomic files into blocks of biallelic SNP haplotypes.

A reader is chosen by file name: the built-in :class:`VcfReader` takes indexed VCF/BCF
(``.vcf.gz``, ``.vcf.bgz``, ``.bcf``) and anything no plugin claims; plugins (group
``popgen_hub.readers``) claim other endings through a ``suffixes`` attribute and offer
:class:`VcfReader`'s interface.
"""

from __future__ import annotations

import os

from ..plugins import load_plugins
from .vcf import Region, SiteBlock, VcfReader, parse_region

BUILTIN_SUFFIXES = (".vcf.gz", ".vcf.bgz", ".bcf")


def open_reader(path: str | os.PathLike) -> VcfReader:
    """The reader for ``path``: a plugin's when one claims its ending, else :class:`VcfReader`."""
    name = os.fspath(path).lower()
    if not name.endswith(BUILTIN_SUFFIXES):
        for reader in load_plugins("readers", {}).values():
            suffixes = getattr(reader, "suffixes", ())
            suffixes = (suffixes,) if isinstance(suffixes, str) else suffixes
            if name.endswith(tuple(s.lower() for s in suffixes)):
                return reader(path)
    return VcfReader(path)


__all__ = ["BUILTIN_SUFFIXES", "Region", "SiteBlock", "VcfReader", "open_reader",
           "parse_region"]
