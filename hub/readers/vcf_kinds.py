"""Genotype likelihoods from VCF/BCF records, for the VCF reader's ``likelihoods`` blocks.

Each record's likelihoods come from FORMAT ``GL`` (log10) when the record has it, else ``PL``
(phred), and are stored on the log10 scale (:data:`SCALE`) with each sample's most likely
genotype at 0, as PL is: the same calls give the same block from either field. Genotypes are
0..ploidy ALT alleles, the order of VCF's ``Number=G`` for one ALT. A sample whose field is
missing (``.``, or a value of one of its genotypes missing), and every sample of a record
without the field, is flat: 0 for each genotype, a missing call that carries no information.
Genotypes a sample cannot have (above its ploidy: a haploid sample in a file of diploids) are
``-inf`` (likelihood 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock, Samples
from ..genotypes.likelihoods import SCALE

#: the FORMAT fields read, in order of preference, and the factor to log10 of each
LIKELIHOOD_FIELDS = {"GL": 1.0, "PL": -0.1}
_NUMERIC = ("Float", "Integer")


def likelihood_fields(vcf, path: Path) -> tuple[str, ...]:
    """The likelihood fields the header declares (numeric FORMAT fields), in order of
    preference, or the error for a file that has none."""
    declared = {line.info().get("ID") for line in vcf.header_iter()
                if line.type == "FORMAT" and line.info().get("Type") in _NUMERIC}
    fields = tuple(field for field in LIKELIHOOD_FIELDS if field in declared)
    if not fields:
        raise PopgenHubError(
            f"{path.name} has neither a GL nor a PL FORMAT field (genotype likelihoods, log10 "
            f"or phred) in its header, and the model reads genotype likelihoods; call the "
            f"genotypes with likelihoods (e.g. `bcftools call` keeps PL) or choose a model that "
            f"reads genotypes")
    return fields


def record_likelihoods(record, fields: tuple[str, ...], width: int, path: Path
                       ) -> tuple[str | None, np.ndarray | None]:
    """The first of ``fields`` the record has and its values, (samples, ``width``) (padded
    when every sample has fewer genotypes), or (None, None) for a record with neither."""
    for field in fields:
        values = record.format(field)
        if values is None:
            continue
        if values.shape[1] > width:
            raise PopgenHubError(
                f"{path.name} {record.CHROM}:{record.POS}: {field} gives {values.shape[1]} "
                f"values per sample, more than the {width} genotypes of the samples' ploidy in "
                f"the file's first records; fix the record's {field} or split the file by "
                f"ploidy")
        if values.shape[1] < width:
            padded = np.full((len(values), width), np.nan, dtype=np.float32)
            padded[:, :values.shape[1]] = values  # PL's negative sentinels stay negative
            values = padded
        return field, values
    return None, None


def likelihood_block(positions: list[int], read: list[tuple[str | None, np.ndarray | None]],
                     *, samples: Samples, width: int) -> GenotypeBlock:
    """Records' likelihoods (as :func:`record_likelihoods` gives them, ``width`` genotypes) as
    one block, on the log10 scale: each field's records converted at once, missing values
    flat (module doc)."""
    values = np.full((len(positions), len(samples), width), np.nan, dtype=np.float32)
    for field, factor in LIKELIHOOD_FIELDS.items():
        rows = [i for i, (name, _) in enumerate(read) if name == field]
        if rows:
            raw = np.stack([read[i][1] for i in rows]).astype(np.float32)
            if field == "PL":  # its missing values are htslib's negative sentinels; GL's NaN
                raw = np.where(raw < 0, np.nan, raw)
            values[rows] = raw * factor
    possible = np.arange(width) <= np.asarray(samples.ploidy)[:, None]  # (samples, genotypes)
    missing = (np.isnan(values) & possible).any(axis=2)
    values[missing] = 0.0
    values[:, ~possible] = -np.inf
    values -= values.max(axis=2, keepdims=True)
    return GenotypeBlock(np.asarray(positions, dtype=np.int64), values, "likelihoods", samples,
                         likelihood_scale=SCALE)
