"""What every reader is: the protocol, the registry, and how one is chosen for an input.

A reader opens one input (a file, or a set of files) and gives its contigs and lengths, its
samples and their ploidy, and :class:`~popgen_hub.genotypes.GenotypeBlock` s for a region and
a :class:`SampleSelection`, in the data kinds it declares. Built-ins register with
``@READERS.register()``; plugins through the entry-point group ``popgen_hub.readers``. A reader
claims inputs by file ending (``suffixes``); an input no reader claims goes to the VCF reader,
which lets htslib recognise the content.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from ..genotypes import GenotypeBlock, ReadStats, Region
from ..plugins import Registry

READERS: Registry[type] = Registry("readers", "reader")
#: what an input no reader claims by its ending is read with
FALLBACK_READER = "vcf"


@dataclass(frozen=True)
class SampleSelection:
    """What to read: the haplotype columns as (sample, allele slot), in order; the samples
    read pseudo-haploid (a heterozygous call is missing, both slots give the first allele);
    whether unphased heterozygous calls are an error; and, for the outputs' provenance, how
    the columns were chosen (of how many, with which seed, per group, from which population
    of a sample table)."""

    columns: tuple[tuple[str, int], ...]
    pseudo_haploid: tuple[str, ...] = ()
    phased: bool = True
    kind: str = "haplotypes"
    n_available: int = 0
    seed: int = 0
    groups: str = ""
    population: str = ""

    @property
    def samples(self) -> list[str]:
        """The selected samples, each once, in order of first appearance."""
        return list(dict.fromkeys(sample for sample, _ in self.columns))


@runtime_checkable
class Reader(Protocol):
    """The interface of every reader (built-in or plugin). A reader is pickled to reach the
    worker processes of a scan with ``workers > 1``: leave open files out of its pickled state
    (see :meth:`VcfReader.__getstate__`)."""

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    kinds: ClassVar[tuple[str, ...]]
    path: Path
    samples: list[str]
    contig_lengths: dict[str, int | None]

    def __init__(self, path: str | os.PathLike) -> None: ...

    @property
    def ploidies(self) -> np.ndarray: ...

    def region(self, text: str, grid: int = 1) -> Region: ...

    def contig_region(self, contig: str, grid: int = 1) -> Region: ...

    def contigs_with_records(self) -> list[str]: ...

    def new_stats(self) -> ReadStats: ...

    def blocks(self, region: Region, selection: SampleSelection, *, stats: ReadStats,
               count_before: int | None = None) -> Iterator[GenotypeBlock]: ...

    def fingerprint_inputs(self) -> list[Path]:
        """Every file read (inputs and their indexes, a reference, a sites file), for the
        fingerprint of a resumable scan: a change to any of them starts it afresh."""
        ...

    @property
    def settings(self) -> dict[str, Any]:
        """The options the input is read with (filters, thresholds), as JSON-able values, for
        the same fingerprint."""
        ...


def input_identity(reader: Reader) -> tuple[list[Path], dict[str, Any]]:
    """What identifies the input of ``reader`` (:meth:`Reader.fingerprint_inputs` and
    :attr:`Reader.settings`); a plugin reader written before they existed: its path."""
    inputs = getattr(reader, "fingerprint_inputs", None)
    return ([Path(reader.path)], {}) if inputs is None else (inputs(), reader.settings)


def input_name(reader: Reader, full: bool = False) -> str:
    """The input in words, for messages (its file's name) and headers (``full``: its resolved
    path): a reader of several files (BAM/CRAM) names how many and which, not the first."""
    described = getattr(reader, "described", None)
    if described is not None:
        return described(full)
    return str(Path(reader.path).resolve()) if full else Path(reader.path).name


def haplotype_columns(reader: Reader) -> list[tuple[str, int]]:
    """(sample, allele slot) of every haplotype of ``reader``: slots 0 .. ploidy - 1 of each."""
    return [(sample, slot) for sample, ploidy in zip(reader.samples, reader.ploidies,
                                                     strict=True) for slot in range(ploidy)]


def _suffixes(reader: type) -> tuple[str, ...]:
    suffixes = getattr(reader, "suffixes", ())  # a plugin may give one string
    return tuple(s.lower() for s in ((suffixes,) if isinstance(suffixes, str) else suffixes))


def open_reader(path: str | os.PathLike | Reader) -> Reader:
    """The reader for ``path``: a built-in's or plugin's that claims its ending, else the
    VCF/BCF reader; a reader already opened (e.g. a ``BamReader`` of several files, with its
    options) is taken as it is."""
    if not isinstance(path, (str, os.PathLike)):
        return path
    name = os.fspath(path).lower()
    claims = READERS.builtins if name.endswith(
        tuple(s for r in READERS.builtins.values() for s in _suffixes(r))) else READERS.all()
    for reader in claims.values():
        if name.endswith(_suffixes(reader)):
            return reader(path)
    return READERS.get(FALLBACK_READER)(path)
