"""Sample tables: which samples of a shared VCF a scan reads, their populations and ages.

A tab- or whitespace-separated text file with a header line. The ``sample`` column is required;
``population`` and ``age_years`` (years before present; 0 = present-day) are optional, and
temporal models need the ages. Other column names can be given, e.g. the AADR / DiploLocus
``.info`` tables: ``--sample-column GenID --age-column MeanYBP``. ``--population NAME`` keeps
the rows of one population (``all``: every row); a table of several populations needs it.

    sample   population  age_years
    NA19017  YRI         0
    NA12878  CEU         0
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import PopgenHubError

#: ``--population`` value that pools every population of the table
ALL = "all"


@dataclass(frozen=True)
class SampleTable:
    """The rows of a sample table, each sample once in the table's order: their ages (None:
    the table has no age column) and populations (None: no population column); ``population``
    is the one :meth:`pick` kept (:data:`ALL`: pooled; None: not picked)."""

    path: Path
    samples: tuple[str, ...]
    ages: dict[str, float] | None = None
    populations: dict[str, str] | None = None
    population: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def counts(self) -> str:
        """Each population with its number of samples, in the table's order."""
        counts = Counter((self.populations or {}).get(s) for s in self.samples)
        return ", ".join(f"{name} ({n})" for name, n in counts.items())

    def pick(self, population: str | None, column: str = "population") -> SampleTable:
        """The rows of ``population`` (:data:`ALL`: every row; None: the table's only one);
        an error naming the populations there are when the choice is missing or unknown."""
        if self.populations is None:
            if population is None:
                return self
            raise PopgenHubError(
                f"--population {population}: {self.name} has no column {column!r}; add one "
                f"giving each sample's population, or name it with --population-column")
        known = list(dict.fromkeys(self.populations[s] for s in self.samples))
        if population is None and len(known) > 1:
            raise PopgenHubError(
                f"{self.name} holds {len(known)} populations: {self.counts()}; pick one with "
                f"--population NAME, or pool them with --population {ALL}")
        population = known[0] if population is None else population
        if population == ALL:
            return replace(self, population=ALL)
        if population not in known:
            raise PopgenHubError(
                f"--population {population}: {self.name} has no such population in its "
                f"{column!r} column; it has {self.counts()} (or --population {ALL})")
        keep = tuple(s for s in self.samples if self.populations[s] == population)
        return replace(self, samples=keep, population=population,
                       ages=None if self.ages is None else {s: self.ages[s] for s in keep})

    def describe(self) -> str:
        """Where the samples come from, for reports and headers."""
        if self.population is None:
            return f"the samples of {self.name}"
        if self.population == ALL:
            return f"every population of {self.name} pooled: {self.counts()}"
        return f"population {self.population} of {self.name}"


def read_samples(path: str | os.PathLike, sample_column: str = "sample",
                 age_column: str = "age_years", population_column: str = "population", *,
                 need_ages: bool = False) -> SampleTable:
    """The table at ``path``; ``need_ages``: the age column is required (temporal models)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a BOM is not a name
    except (OSError, UnicodeDecodeError) as exc:
        raise PopgenHubError(f"cannot read sample table {path}: {exc}") from None
    split = (lambda line: line.split("\t")) if lines and "\t" in lines[0] else str.split
    header = [name.strip() for name in split(lines[0])] if lines else []
    for column in (sample_column, age_column) if need_ages else (sample_column,):
        if column not in header:
            raise PopgenHubError(
                f"{path}, line 1: no column {column!r} in the header ({', '.join(header[:8])}"
                f"{'...' if len(header) > 8 else ''}); name the columns with --sample-column"
                f"{' and --age-column' if need_ages else ''}")
    s = header.index(sample_column)
    a, p = (header.index(c) if c in header else None for c in (age_column, population_column))
    samples: dict[str, None] = {}  # in the table's order
    ages: dict[str, float] = {}
    populations: dict[str, str] = {}
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in split(line)]
        if len(fields) <= max(i for i in (s, a, p) if i is not None):
            raise PopgenHubError(f"{path}, line {line_no}: {len(fields)} columns, the header "
                                 f"has {len(header)}")
        sample = fields[s]
        where = f"{path}, line {line_no}"
        if not sample:
            raise PopgenHubError(f"{where}: the {sample_column!r} column is empty; give every "
                                 f"row a sample name")
        if sample in samples:
            raise PopgenHubError(f"{where}: sample {sample} is listed twice")
        samples[sample] = None
        if a is not None:
            ages[sample] = _age(fields[a], sample, where)
        if p is not None:
            if not fields[p]:
                raise PopgenHubError(f"{where}: the {population_column!r} column of {sample} "
                                     f"is empty; give every row a population")
            populations[sample] = fields[p]
    if not samples:
        raise PopgenHubError(f"{path} lists no samples")
    return SampleTable(path, tuple(samples), ages if a is not None else None,
                       populations if p is not None else None)


def _age(text: str, sample: str, where: str) -> float:
    try:
        age = float(text)
    except ValueError:
        age = math.nan
    if not math.isfinite(age):
        raise PopgenHubError(f"{where}: age {text!r} of {sample} is not a number of years; "
                             f"give the sample's age (0 = present-day)")
    if age < 0:
        raise PopgenHubError(f"{where}: age {age:g} of {sample} is negative")
    return age
