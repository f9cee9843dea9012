"""Which samples and haplotypes a model reads from an input, as its encoder's sample groups say.

Rule: a present-day group takes every haplotype of each sample (phased); an ancient group takes
one haplotype per sample (its first allele; a heterozygous call is missing), as pseudo-haploid
ancient-DNA calls are. Each group is a seeded random subset of the size the model needs (the
contract's ``n_haplotypes`` for a group of unstated size), drawn from one generator in group
order, so a seed picks the same haplotypes every time.
"""

from __future__ import annotations

import numpy as np

from ..contract import HAPLOTYPE_RULES, ModelContract
from ..encoders import Encoder, group_index, has_ancient_groups
from ..errors import PopgenHubError
from ..readers import Reader, SampleSelection, haplotype_columns


def select_samples(reader: Reader, encoder: Encoder, contract: ModelContract, seed: int,
                   ages: dict[str, float] | None, table: str = "the sample table"
                   ) -> SampleSelection:
    """The selection to read (for models with ancient groups, with a summary per group).

    ``ages`` (sample -> years before present, from ``table``) is required by models with
    ancient groups and refused by the others.
    """
    if not has_ancient_groups(encoder):
        if ages is not None:
            raise PopgenHubError(f"--samples is for temporal models; {contract.name} reads "
                                 f"present-day haplotypes only")
        columns = haplotype_columns(reader)
        required = contract.input.n_haplotypes
        if len(columns) < required:
            raise PopgenHubError(
                f"{reader.path.name} has {len(columns)} haplotypes but {contract.name} needs at "
                f"least {required}; {HAPLOTYPE_RULES[contract.input.haplotype_rule]}")
        picked = _pick([columns], [required], np.random.default_rng(seed))
        return SampleSelection(tuple(picked), phased=contract.input.phased,
                               n_available=len(columns), seed=seed)
    if ages is None:
        raise PopgenHubError(
            f"{contract.name} reads present-day and ancient haplotypes: give --samples, a "
            f"table of the samples' ages in years (0 = present-day)")
    return _select_by_age(reader, encoder, contract, seed, ages, table)


def _pick(groups: list[list[tuple[str, int]]], sizes: list[int], rng: np.random.Generator
          ) -> list[tuple[str, int]]:
    chosen = []
    for group, need in zip(groups, sizes, strict=True):
        chosen += [group[i] for i in np.sort(rng.choice(len(group), need, replace=False))]
    return chosen


def _select_by_age(reader: Reader, encoder: Encoder, contract: ModelContract, seed: int,
                   ages: dict[str, float], table: str) -> SampleSelection:
    groups = encoder.sample_groups
    absent = [sample for sample in ages if sample not in reader.samples]
    if absent:
        raise PopgenHubError(
            f"{table} names {len(absent)} sample(s) that {reader.path.name} lacks "
            f"({_few(absent)}); remove them from the table or use the VCF they were called in")
    ancient = [group for group in groups if not group.present_day]
    outside = [f"{sample} ({age:g} y)" for sample, age in ages.items()
               if age > 0 and group_index(groups, age) is None]
    if outside:
        raise PopgenHubError(
            f"{table}: {len(outside)} sample(s) are older or younger than every time bin of the "
            f"model ({', '.join(group.name for group in ancient)} years, or 0 for present-day):"
            f" {_few(outside)}; drop them from the table")
    ploidy = dict(zip(reader.samples, reader.ploidies, strict=True))
    members: list[list[tuple[str, int]]] = [[] for _ in groups]
    for sample in reader.samples:  # file order, so a seed picks the same subset every time
        age = ages.get(sample)
        if age is None:
            continue
        index = group_index(groups, age)
        slots = range(int(ploidy[sample])) if age == 0 else range(1)
        members[index] += [(sample, slot) for slot in slots]
    sizes = [group.size or contract.input.n_haplotypes for group in groups]
    notes = []
    for group, found, need in zip(groups, members, sizes, strict=True):
        unit = "haplotypes" if group.present_day else "samples"
        name = group.name if group.present_day else f"{group.name} y"
        if len(found) < need:
            what = ("phased haplotypes of samples aged 0" if group.present_day else
                    "one haplotype per ancient sample")
            raise PopgenHubError(
                f"{table}: the {name} time bin has {len(found)} {unit} in {reader.path.name}, "
                f"the model needs {need} ({what}); add samples of that age or choose a model "
                f"with other time bins")
        notes.append(f"{name}: {need} of {len(found)} {unit}")
    chosen = _pick(members, sizes, np.random.default_rng(seed))
    pseudo_haploid = tuple(sample for sample, _ in chosen[sizes[0]:])
    summary = (f"{'; '.join(notes)} (seed {seed}); ancient samples give one haplotype each "
               f"(heterozygous calls missing); missing calls: {encoder.missing_rule}")
    return SampleSelection(tuple(chosen), pseudo_haploid, phased=contract.input.phased,
                           n_available=len(haplotype_columns(reader)), seed=seed,
                           groups=summary)


def _few(items: list[str]) -> str:
    return ", ".join(items[:5]) + (", ..." if len(items) > 5 else "")
