"""``scan --model auto``: of the models whose training data the input resembles, the one that
finds the most sweeps.

Candidates are the bundled models (or the names given) that store training statistics
(:mod:`popgen_hub.ood`) and can read the input as the scan would: its data kind (a likelihood
model needs GL or PL, or reads), at least the model's least sample size (more is subsampled,
as the scan does), its ploidy, and for reads (BAM/CRAM) a mean depth per individual, measured
on the sampled windows, within the depths it was trained on, and for a model that reads its
genome's background, enough of the input to measure it. A model that cannot is skipped, its
reason listed with the choice. For each,
:data:`SAMPLE_WINDOWS` windows of the model's length, spread evenly over the scanned regions,
are read with the samples the model would read (of the ``--samples`` table's ``--population``,
as the scan reads them), and the medians of their statistics are compared with the training
data's::

    distance = mean over statistics of |median_input - median_training| / IQR_training

A robust, scale-free score: medians and interquartile ranges are what the stored quantiles
give directly, a few odd windows (a sweep, a gap) move neither, and dividing by the training
IQR puts SNP density, site counts, H12 and Tajima's D on one scale. Statistics the training
data do not vary in (missingness: simulations have none) cannot rank models and are left out
(missing calls are flagged per window instead).

A model trained over a family of histories may also store its training statistics by history
(:mod:`popgen_hub.history_statistics`); its distance is then the least of that to the pooled
training windows and those to each history's, and the nearest history is named: an input like
one training history is like the training data, even where that history is unlike most
(PapuansOutOfAfrica_10J19's YRI, CEU and CHB, about twice the pooled upper quartile of SNPs per
kb, matched no model before). The more histories a model stores, the more chances it has to
match: the match asks only whether some of its training data cover the input. A model
**matches** the input when its distance is at most :data:`MAX_DISTANCE` (the input's typical
window lies within the training quartiles, on average over the statistics). Among
the models that match, the distance does not decide: these statistics of 50 windows do not
tell one human history from another (a neutral 2 Mb chromosome of each of stdpopsim's HomSap
populations, matched by Tajima's D and H12 to the nearest of the same populations' windows as
the regime simulates them, fell in its own ancestry group, European, East Asian or African,
15 times in 26: ``benchmarks/auto_choice.py``), and models trained on the same simulations
differ in it by chance. What does differ is what each model finds at its decision
threshold, which the eight bundled sweep models with a measured threshold have measured on
the same planted sweeps (their stored :class:`~popgen_hub.decision.Power`). So the matching
model that finds the most goes first, among those that read the most the input gives
(:data:`~popgen_hub.genotypes.KINDS`' order: haplotypes, then genotypes, then likelihoods).
A phased input read as genotypes loses its phase: on the 160 kb around LCT in 1000 Genomes
CEU the unphased genotype model, which finds more of the planted sweeps at its threshold than
the product (118 and 109 of 150), gives P(sweep) 0.45 and q 0.07 where the product gives 0.58
and q < 0.05. Models without that figure go after those with one,
and so does a model whose figure was measured on other sweeps than most matching models' of
its data kind (:func:`comparable`: shares of different sweeps do not compare). A model of
individuals is ranked by what the threshold it takes for the input's individuals finds
(:meth:`~popgen_hub.decision.DecisionThreshold.for_individuals`). Then an ensemble before
single models at equal figures (it was built from them and measured to be misled less), and
then the nearest. When no model matches, the scan warns and uses the closest.

An input of fewer than :data:`MIN_MATCH_WINDOWS` windows (under 0.8 Mb at 80 kb) cannot be
judged so: the median of a few windows is the region's own, and a candidate region is often a
sweep, whose windows lie beyond any training quartiles (the 160 kb around LCT in 1000 Genomes
CEU: distances 1.5-2.0 for every haplotype model). Every model that can read it then counts as
matching, and the scan warns that its likeness to the training data was not judged.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .decision import Power
from .encoders import build_encoder
from .errors import PopgenHubError
from .genotypes import KINDS
from .ood import BY_HISTORY, REFERENCE, STATISTICS, match_references, window_values
from .readers import Reader, input_name, open_reader
from .readers.samples import SampleTable
from .registry import get_contract, list_models
from .result import depth_outside
from .scoring import (
    genome_background,
    sample_table,
    sampled_windows,
    scan_regions,
    select_samples,
)

log = logging.getLogger("popgen_hub")

AUTO = "auto"
SAMPLE_WINDOWS = 50
MAX_DISTANCE = 1.0
#: Fewer windows than this cannot say whether an input is like a model's training data.
MIN_MATCH_WINDOWS = 10


@dataclass(frozen=True)
class Candidate:
    """A model considered: its distance to the input (inf when it is out), or why it is out."""

    name: str
    distance: float = float("inf")
    refused: str = ""
    members: int = 0  # of an ensemble: at equal figures the most go first
    power: Power | None = None  # what its decision threshold finds, where measured
    windows: int = SAMPLE_WINDOWS  # read to measure the distance
    history: str = ""  # the training history nearest the input ("": the training data pooled)
    kind: str = KINDS[0]  # the data it reads: the most the input gives goes first (KINDS)

    @property
    def judged(self) -> bool:
        """Whether enough windows were read to judge the input's likeness (module doc)."""
        return self.windows >= MIN_MATCH_WINDOWS

    @property
    def matches(self) -> bool:
        return not self.refused and (self.distance <= MAX_DISTANCE or not self.judged)

    def rank(self) -> tuple[bool, bool, int, float, int, float]:
        if not self.matches:  # the closest first
            return bool(self.refused), True, 0, 0.0, 0, self.distance
        found = self.power.share if self.power else -1.0
        return False, False, KINDS.index(self.kind), -found, -self.members, self.distance

    def summary(self) -> str:
        found = (f"finds {self.power.text()} at its decision threshold, " if self.power
                 else "")
        to = f" to its training history {self.history}" if self.history else ""
        return f"{found}distance {self.distance:.2f}{to}" + ("" if self.matches else
                                                              " (does not match)")


@dataclass(frozen=True)
class Choice:
    """The model chosen and every candidate, in the module doc's order."""

    name: str
    candidates: list[Candidate]

    def message(self) -> str:
        best, *rest = [c for c in self.candidates if not c.refused]
        matching = sum(c.matches for c in self.candidates)
        among = ("the only model whose training data match the input" if matching == 1 else
                 f"of the {matching} models whose training data match the input")
        if not best.judged:
            among = (f"of the {matching} models that can read the input ({best.windows} "
                     f"windows: too few to judge its likeness to their training data)")
        if not best.matches:
            why = "no model's training data match the input; this model's are the closest"
        elif matching == 1:
            why = among
        elif best.power:
            kinds = {c.kind for c in self.candidates if c.matches}
            of = (f" of those that read {best.kind} (the most the input gives; the "
                  f"others go after)" if len(kinds) > 1 else "")
            why = (f"{among},{of} it finds the most planted sweeps at its decision threshold "
                   f"(`popgen-hub info {best.name}` says which sweeps)")
        elif best.members:
            why = f"{among}, an ensemble goes before single models (none measured what it finds)"
        else:
            why = f"{among}, the nearest (none measured what it finds)"
        runner_up = (f"; runner-up {rest[0].name}: {rest[0].summary()}" if rest
                     else "; no other model could take the input")
        skipped = "".join(f"; skipped {c.name}: {c.refused}" for c in self.candidates
                          if c.refused)
        return (f"--model auto chose {best.name}: {why}: {best.summary()} (the distance: the "
                f"mean over statistics of |median input - median training| / training IQR, "
                f"of the training data pooled or of its nearest training history where stored; "
                f"at most {MAX_DISTANCE:g} matches){runner_up}{skipped}")


def choose_model(path: str | os.PathLike | Reader, *, candidates: list[str] | None = None,
                 region: str | None = None, seed: int = 0, n_windows: int = SAMPLE_WINDOWS,
                 samples: str | os.PathLike | SampleTable | None = None,
                 sample_column: str = "sample",
                 age_column: str = "age_years", population: str | None = None,
                 population_column: str = "population") -> Choice:
    """The model among ``candidates`` (default: the bundled ones) chosen as the module doc
    says for the input ``path`` (in ``region``; the individuals of ``samples`` and
    ``population``, as :func:`~popgen_hub.scoring.prepare` takes them); logs the choice and
    warns when none matches. A :class:`PopgenHubError` when no candidate can take the input."""
    reader = open_reader(path)
    table = sample_table(samples, sample_column, age_column, population, population_column)
    ranked = sorted(comparable([_candidate(name, reader, table, region, seed, n_windows)
                                for name in (candidates or list_models())]),
                    key=Candidate.rank)
    if not ranked or ranked[0].refused:
        reasons = "; ".join(f"{c.name}: {c.refused}" for c in ranked) or "no models"
        raise PopgenHubError(f"--model auto: no model can take {input_name(reader)} "
                             f"({reasons}); name one with --model")
    choice = Choice(ranked[0].name, ranked)
    log.info("%s", choice.message())
    if not ranked[0].judged:
        log.warning("warning: %s holds %d windows of the model's length, too few to judge "
                    "whether it is like a model's training data (at least %d): --model auto "
                    "ranked the models that can read it by what they find, unjudged",
                    input_name(reader), ranked[0].windows, MIN_MATCH_WINDOWS)
    elif ranked[0].distance > MAX_DISTANCE:
        log.warning("warning: no model's training data match %s (the closest, %s, is at "
                    "distance %.2f > %g): its scores describe data unlike the input",
                    input_name(reader), ranked[0].name, ranked[0].distance, MAX_DISTANCE)
    return choice


def comparable(candidates: list[Candidate]) -> list[Candidate]:
    """``candidates`` with only the figures of what they find that were measured on the same
    sweeps (``of`` and ``source``) as most of the matching candidates' of the same data kind
    kept: a share of other sweeps does not compare with theirs, so its model goes with the
    unmeasured. Kinds rank before figures, so only a kind's figures are compared (a model of
    individuals' source says it read the sweeps as individuals, and how many). Where two sets
    of sweeps tie for the most, none of that kind's figures is kept: which to keep would
    depend on the candidates' order."""
    def sweeps(c: Candidate) -> tuple[int, str] | None:
        return (c.power.of, c.power.source) if c.power else None

    common: dict[str, tuple[int, str] | None] = {}
    for kind in {c.kind for c in candidates}:
        counts = Counter(sweeps(c) for c in candidates if c.kind == kind and c.matches
                         and c.power).most_common(2)
        if counts:
            common[kind] = counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] \
                else None
    return [c if c.power is None or common.get(c.kind, sweeps(c)) == sweeps(c)
            else dataclasses.replace(c, power=None) for c in candidates]


def _candidate(name: str, reader: Reader, table: SampleTable | None, region: str | None,
               seed: int, n_windows: int) -> Candidate:
    """One model's distance to the input, or why it cannot take it."""
    contract = get_contract(name)
    if REFERENCE not in contract.references and BY_HISTORY not in contract.references:
        return Candidate(name, refused="stores no training statistics")
    kind, window = contract.input.data_kind, contract.input.window_bp
    if kind not in reader.kinds:
        return Candidate(name, refused=f"reads {kind}, which {input_name(reader)} does not give")
    regions = scan_regions(reader, region, window)
    encoder = build_encoder(contract.encoder)
    stats = reader.new_stats()  # the reads' depth
    try:  # below the least sample size or of another ploidy; ancient samples (or ages)
        # needed; no GL/PL to read
        selection = select_samples(reader, encoder, contract, seed, table)
        rows = [window_values(seen, start, end, encoded.n_sites)
                for start, end, seen, encoded in sampled_windows(
                    reader, regions, selection, encoder, window, n_windows, stats)]
        genome_background(contract, encoder, reader, selection, window)  # one it needs
    except PopgenHubError as exc:
        return Candidate(name, refused=str(exc))
    if outside := depth_outside(contract, stats.mean_depth()):
        return Candidate(name, refused=f"{outside} (in the sampled windows)")
    if not rows:
        return Candidate(name, refused="no sites in the sampled windows")
    # models of individuals: the threshold, and the statistics, of the sample size (and depth)
    # read, as the scan's
    threshold = contract.decision_threshold(len(selection.samples))
    references = match_references(contract.references, len(selection.samples),
                                  stats.mean_depth())
    distances = {key: distance(np.vstack(rows), reference)
                 for key, reference in references.items()}
    nearest = min(distances, key=distances.__getitem__)
    return Candidate(name, distances[nearest], members=len(contract.training.get("members", [])),
                     power=threshold.power if threshold else None, windows=len(rows),
                     history=nearest, kind=kind)


def distance(values: np.ndarray, reference: dict) -> float:
    """The module doc's distance of windows' statistics (rows of
    :func:`~popgen_hub.ood.window_values`) to a ``training_stats`` reference."""
    terms = []
    for name, summary in reference["statistics"].items():
        quantiles = summary["quantiles"]
        spread = quantiles["0.75"] - quantiles["0.25"]
        column = values[:, STATISTICS.index(name)]
        if spread > 0 and np.isfinite(column).any():
            terms.append(abs(np.nanmedian(column) - quantiles["0.5"]) / spread)
    return float(np.mean(terms)) if terms else float("inf")
