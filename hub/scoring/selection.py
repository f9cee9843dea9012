"""Which samples and haplotypes a model reads from an input, as its encoder's sample groups say.

Rule: a present-day group takes every haplotype of each sample (phased); an ancient group takes
one haplotype per sample (its first allele; a heterozygous call is missing), as pseudo-haploid
ancient-DNA calls are. Each group is a seeded random subset of the size the model needs (the
contract's ``n_haplotypes`` for a group of unstated size), drawn from one generator in group
order, so a seed picks the same haplotypes every time. Models of genotypes or likelihoods read
whole individuals: every sample (of the table), or a seeded subset of the contract's largest
``sample_size`` when there are more; fewer than its smallest is an error.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..contract import HAPLOTYPE_RULES, ModelContract
from ..encoders import Encoder, group_index, has_ancient_groups
from ..errors import PopgenHubError, few
from ..readers import Reader, SampleSelection, haplotype_columns, input_name
from ..readers.samples import SampleTable


def select_samples(reader: Reader, encoder: Encoder, contract: ModelContract, seed: int,
                   table: SampleTable | None = None) -> SampleSelection:
    """The selection to read (for models with ancient groups, with a summary per group).

    ``table`` (see :mod:`popgen_hub.readers.samples`, its population picked) names the samples
    to read; models with ancient groups require it, with ages, and the others refuse ancient
    samples in it.
    """
    if has_ancient_groups(encoder):
        if table is None or table.ages is None:
            given = f"{table.name} has no age column; " if table else ""
            raise PopgenHubError(
                f"{contract.name} reads present-day and ancient haplotypes: {given}give "
                f"--samples, a table of the samples' ages in years (0 = present-day; column "
                f"age_years, or name it with --age-column)")
        check_listed(reader, table)
        return replace(_select_by_age(reader, encoder, contract, seed, table.ages, table.name),
                       population=table.describe())
    if table is not None:
        ancient = [sample for sample, age in (table.ages or {}).items() if age > 0]
        if ancient:
            raise PopgenHubError(
                f"--samples is for temporal models when it lists ancient samples: {table.name} "
                f"gives {len(ancient)} an age above 0 ({few(ancient)}) and {contract.name} "
                f"reads present-day haplotypes only; drop them from the table")
        check_listed(reader, table)
    listed = set(table.samples) if table else set(reader.samples)
    if contract.input.data_kind != "haplotypes":
        return _select_individuals(reader, contract, seed, listed, table)
    columns = [column for column in haplotype_columns(reader) if column[0] in listed]
    required = contract.input.n_haplotypes
    if len(columns) < required:
        source = (f"{table.describe()} has {len(listed)} samples ({len(columns)} haplotypes) "
                  f"in {input_name(reader)}" if table else
                  f"{input_name(reader)} has {len(columns)} haplotypes")
        raise PopgenHubError(
            f"{source} but {contract.name} needs at least {required}; "
            f"{HAPLOTYPE_RULES[contract.input.haplotype_rule]}")
    picked = _pick([columns], [required], np.random.default_rng(seed))
    return SampleSelection(tuple(picked), phased=contract.input.phased,
                           n_available=len(columns), seed=seed,
                           population=table.describe() if table else "")


def _select_individuals(reader: Reader, contract: ModelContract, seed: int, listed: set[str],
                        table: SampleTable | None) -> SampleSelection:
    """Whole individuals, for models of genotypes or likelihoods (every haplotype of each)."""
    individuals = [sample for sample in reader.samples if sample in listed]
    available, (low, high) = len(individuals), contract.input.sample_size
    if available < (low or 1):
        source = (f"{table.describe()} has {available} samples in {input_name(reader)}"
                  if table else f"{input_name(reader)} has {available} samples")
        raise PopgenHubError(
            f"{source} but {contract.name} reads the {contract.input.data_kind} of at least "
            f"{low or 1} individuals; give a VCF (or a --samples table) with more")
    if high is not None and available > high:
        chosen = np.random.default_rng(seed).choice(available, high, replace=False)
        individuals = [individuals[i] for i in np.sort(chosen)]
    ploidy = dict(zip(reader.samples, reader.ploidies, strict=True))
    low_ploidy, high_ploidy = contract.input.ploidy
    odd = [s for s in individuals if ploidy[s] < (low_ploidy or 1)
           or (high_ploidy is not None and ploidy[s] > high_ploidy)]
    if odd:  # said before any window is read, not at the first the encoder refuses
        raise PopgenHubError(
            f"{input_name(reader)}: {few(odd)} {'has' if len(odd) == 1 else 'have'} ploidy "
            f"{ploidy[odd[0]]}, but {contract.name} reads individuals of ploidy "
            f"{low_ploidy or 1}-{high_ploidy or 'any'}; leave them out with a --samples table")
    columns = tuple((sample, slot) for sample in individuals for slot in range(ploidy[sample]))
    return SampleSelection(columns, phased=False, kind=contract.input.data_kind,
                           n_available=available, seed=seed,
                           population=table.describe() if table else "")


def check_listed(reader: Reader, table: SampleTable) -> None:
    """Every sample of the table is in the input."""
    present = set(reader.samples)
    absent = [sample for sample in table.samples if sample not in present]
    if absent:
        raise PopgenHubError(
            f"{table.name} names {len(absent)} sample(s) that {input_name(reader)} lacks "
            f"({few(absent)}); remove them from the table or use the VCF they were called in")


def _pick(groups: list[list[tuple[str, int]]], sizes: list[int], rng: np.random.Generator
          ) -> list[tuple[str, int]]:
    chosen = []
    for group, need in zip(groups, sizes, strict=True):
        chosen += [group[i] for i in np.sort(rng.choice(len(group), need, replace=False))]
    return chosen


def _select_by_age(reader: Reader, encoder: Encoder, contract: ModelContract, seed: int,
                   ages: dict[str, float], table: str) -> SampleSelection:
    groups = encoder.sample_groups
    ancient = [group for group in groups if not group.present_day]
    outside = [f"{sample} ({age:g} y)" for sample, age in ages.items()
               if age > 0 and group_index(groups, age) is None]
    if outside:
        raise PopgenHubError(
            f"{table}: {len(outside)} sample(s) are older or younger than every time bin of the "
            f"model ({', '.join(group.name for group in ancient)} years, or 0 for present-day):"
            f" {few(outside)}; drop them from the table")
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
                f"{table}: the {name} time bin has {len(found)} {unit} in {input_name(reader)}, "
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
