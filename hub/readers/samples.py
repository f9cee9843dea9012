"""Sample tables for temporal scans: which VCF samples are ancient, and how old.

A tab- or whitespace-separated text file with a header line; by default the columns are
``sample`` and ``age_years`` (years before present; 0 = present-day). Other names can be given,
e.g. the AADR / DiploLocus ``.info`` tables: ``--sample-column GenID --age-column MeanYBP``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from ..errors import PopgenHubError


def read_sample_table(path: str | os.PathLike, sample_column: str = "sample",
                      age_column: str = "age_years") -> dict[str, float]:
    """Sample name -> age in years; one row per sample."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a BOM is not a name
    except (OSError, UnicodeDecodeError) as exc:
        raise PopgenHubError(f"cannot read sample table {path}: {exc}") from None
    split = (lambda line: line.split("\t")) if lines and "\t" in lines[0] else str.split
    header = [name.strip() for name in split(lines[0])] if lines else []
    for column in (sample_column, age_column):
        if column not in header:
            raise PopgenHubError(
                f"{path}, line 1: no column {column!r} in the header ({', '.join(header[:8])}"
                f"{'...' if len(header) > 8 else ''}); name the columns with --sample-column "
                f"and --age-column")
    s, a = header.index(sample_column), header.index(age_column)
    ages: dict[str, float] = {}
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in split(line)]
        if len(fields) <= max(s, a):
            raise PopgenHubError(f"{path}, line {line_no}: {len(fields)} columns, the header "
                                 f"has {len(header)}")
        sample = fields[s]
        if not sample:
            raise PopgenHubError(f"{path}, line {line_no}: the {sample_column!r} column is "
                                 f"empty; give every row a sample name")
        try:
            age = float(fields[a])
        except ValueError:
            age = math.nan
        if not math.isfinite(age):
            raise PopgenHubError(f"{path}, line {line_no}: age {fields[a]!r} of {sample} is not "
                                 f"a number of years; give the sample's age (0 = present-day)")
        if age < 0:
            raise PopgenHubError(f"{path}, line {line_no}: age {age:g} of {sample} is negative")
        if sample in ages:
            raise PopgenHubError(f"{path}, line {line_no}: sample {sample} is listed twice")
        ages[sample] = age
    if not ages:
        raise PopgenHubError(f"{path} lists no samples")
    return ages
