"""One VCF record at a time, through cyvcf2: queries that name the record htslib cannot parse,
and the checks of a record's alleles and genotypes."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import PopgenHubError
from .bgzf import damaged_error

_BASES = frozenset("ACGTacgt")
SKIP_REASONS = ("not_snp", "multiallelic", "duplicate_position")


def query(vcf, region: str | None, path: Path, probe: str | None = None) -> Iterator:
    """Records overlapping ``region`` (None: the whole file, in file order).

    cyvcf2 warns, on the first ``next``, when the region is empty; here that is normal and
    reported by the caller in its own words. A record htslib cannot parse (cyvcf2 raises a bare
    Exception; htslib prints the details) becomes an error that names where it is. A damaged
    compressed block ends a region query as if the region ended there (cyvcf2 does not check
    htslib's error code), but it leaves the handle unable to read anything: ``probe``, a region
    holding a record, is read again at the end to tell the two apart (on a single-threaded
    handle only: a multi-threaded one deadlocks seeking after the damage).
    """
    records = vcf(region) if region else iter(vcf)
    last = None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="no intervals found")
            first = next(records, None)
        if first is not None:
            last = first
            yield first
            for last in records:
                yield last
    except Exception as exc:
        where = f"after {last.CHROM}:{last.POS}" if last is not None else f"in {region or path}"
        if probe is not None and not readable(vcf, probe):
            raise damaged_error(path, where) from None
        raise PopgenHubError(
            f"{path.name}: a record {where} cannot be parsed ({exc}); check the file with "
            f"`bcftools view {path.name}`") from None
    if probe is not None and not readable(vcf, probe):
        where = f"after {last.CHROM}:{last.POS}" if last is not None else f"in {region or path}"
        raise damaged_error(path, where)


def readable(vcf, region: str) -> bool:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="no intervals found")
        return next(vcf(region), None) is not None


def skip_reason(ref: str, alts: list[str], repeated_position: bool) -> str | None:
    """Why a record is not a usable SNP (one of :data:`SKIP_REASONS`), or None."""
    if len(alts) > 1:
        return "multiallelic"
    if not alts or len(ref) != 1 or len(alts[0]) != 1 or ref not in _BASES \
            or alts[0] not in _BASES:
        return "not_snp"
    return "duplicate_position" if repeated_position else None


def alleles(record, path: Path) -> tuple[str, list[str]]:
    """REF and ALT of a record; alleles that are not text are named."""
    try:
        return record.REF, record.ALT
    except UnicodeDecodeError:
        raise PopgenHubError(f"{path.name}: the alleles of the record at position "
                             f"{record.start + 1} are not text (REF/ALT bytes outside UTF-8); "
                             f"the file is damaged or not a VCF: check it with `bcftools view`"
                             ) from None


#: A FORMAT key htslib can type (VCF 4.3's identifiers)
_FORMAT_KEY = re.compile(r"[A-Za-z_][0-9A-Za-z_.]*\Z")


def check_format_keys(record, path: Path) -> None:
    """Refuse a record whose FORMAT keys are not text or not VCF identifiers: htslib cannot
    type such a key and ends the whole process when the record's genotypes are read. Reads
    the record's text, so it is for the few records read before a scan (its ploidies)."""
    try:
        fields = str(record).split("\t", 9)
    except UnicodeDecodeError:
        fields = None
    keys = fields[8].split(":") if fields and len(fields) > 9 else []
    wrong = [key for key in keys if not _FORMAT_KEY.match(key)]
    if fields is None or wrong:
        what = f"FORMAT key {wrong[0]!r} is not a VCF key" if wrong else "it is not text"
        raise PopgenHubError(f"{path.name} {record.CHROM}:{record.POS}: {what}; fix the record "
                             f"(check it with `bcftools view`)")


def genotype_calls(record, path: Path) -> np.ndarray:
    """A record's genotype array (cyvcf2's: alleles, then the phase flag), or the error that
    names a record without GT."""
    try:
        return record.genotype.array()
    except Exception:  # cyvcf2: "couldn't get genotypes for variant"
        # (record.FORMAT of a lazily read record crashes cyvcf2; its text is safe)
        try:
            fields = str(record).split("\t", 9)
        except UnicodeDecodeError:
            fields = []
        keys = fields[8] if len(fields) > 9 else "absent or not text"
        raise PopgenHubError(
            f"{path.name} {record.CHROM}:{record.POS}: no GT (genotype) field, its FORMAT is "
            f"{keys}; the model reads genotypes (GT): give a VCF "
            f"with GT on every record (e.g. phased GT from Beagle or SHAPEIT, not dosages "
            f"alone)") from None
