"""The windows the discriminator reads: fixed-length windows of the user's VCF (the "real"
data) and windows of the same length simulated under a point of the parameter space (the
generator's), both encoded by one ``genotype_matrix`` encoder, as a scan encodes them.

As pg-gan does: the real data are the individuals of one population (all of them, or
``individuals`` drawn at random), in windows of :data:`~popgen_hub.gan.WINDOW_BP`; the
generator simulates exactly that many diploids per window, so that both sides have the same
sample size. Both sides keep only windows with at least :data:`MIN_SITES` informative sites:
were the simulated ones not filtered too, their empty columns would tell the discriminator
which side a window is from. Simulated windows carry no missing calls, so the VCF's missing
calls are a cue too: above :data:`MAX_MISSING` of the calls a warning says so. Torch-free.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..encoders import GenotypeMatrixEncoder
from ..encoders.genotype_matrix import CALLED, TENSOR
from ..errors import PopgenHubError, few
from ..genotypes import GenotypeBlock, Samples
from ..readers import open_reader
from ..readers.base import Reader, SampleSelection, haplotype_columns, input_name
from ..scoring.prepare import sample_table, scan_regions
from ..scoring.selection import check_listed
from ..scoring.windows import iter_windows, window_starts
from ..simulate.observed import sample_window
from . import MUTATION_RATE, RECOMBINATION_RATE, DemographicModel

#: pg-gan's number of SNPs per region (its S = 36)
N_SITES = 36
#: windows with fewer informative sites are left out (too little to compare)
MIN_SITES = 10
#: fewer usable windows than this cannot train a discriminator and hold some out
MIN_WINDOWS = 20
#: above this share of missing calls in the VCF's windows, a warning (module doc)
MAX_MISSING = 0.01
#: simulations per window asked for, at most, before windows with fewer sites fill the rest
MAX_SIMULATIONS_PER_WINDOW = 50
log = logging.getLogger("popgen_hub")


def discriminator_encoder(min_individuals: int = 5) -> GenotypeMatrixEncoder:
    """The encoder of the fit and of the exported discriminator."""
    return GenotypeMatrixEncoder(n_sites=N_SITES, min_individuals=min_individuals)


@dataclass(frozen=True)
class RealWindows:
    """The encoded windows of the VCF: (windows, individuals, channels, sites), their
    (contig, start) and how they were read."""

    tensors: np.ndarray
    where: list[tuple[str, int]]
    samples: list[str]
    regions: list[str]
    n_windows_read: int

    @property
    def missing_share(self) -> float:
        """The share of missing calls at the windows' sites (columns with a call)."""
        called = self.tensors[:, :, CALLED, :]
        sites = called.any(axis=1)
        return float(1 - called.sum() / (sites.sum() * called.shape[1]))

    @property
    def n_individuals(self) -> int:
        return len(self.samples)


def _selection(reader: Reader, samples: str | os.PathLike | None, population: str | None,
               individuals: int | None, seed: int) -> SampleSelection:
    """Whole diploid individuals of the population (or every sample), ``individuals`` of them
    drawn at random when there are more."""
    if "genotypes" not in reader.kinds:
        raise PopgenHubError(f"fit-demography reads genotype calls (GT) and {input_name(reader)} "
                             f"gives {', '.join(reader.kinds)}; call genotypes first")
    table = sample_table(samples, population=population)
    if table is not None:
        check_listed(reader, table)
    wanted = set(table.samples) if table is not None else set(reader.samples)
    ploidy = dict(zip(reader.samples, reader.ploidies, strict=True))
    chosen = [s for s in reader.samples if s in wanted]
    odd = [s for s in chosen if ploidy[s] != 2]
    if odd:
        raise PopgenHubError(f"{input_name(reader)}: fit-demography reads diploid individuals "
                             f"and {few(odd, 3)} {'is' if len(odd) == 1 else 'are'} not; leave "
                             f"them out with --samples")
    least = discriminator_encoder().min_individuals
    if len(chosen) < least:
        source = table.describe() if table is not None else input_name(reader)
        raise PopgenHubError(f"{source} has {len(chosen)} individuals; fit-demography needs at "
                             f"least {least} of one population")
    if individuals and len(chosen) > individuals:
        picked = np.sort(np.random.default_rng(seed).choice(len(chosen), individuals,
                                                            replace=False))
        chosen = [chosen[i] for i in picked]
    columns = tuple(c for c in haplotype_columns(reader) if c[0] in set(chosen))
    return SampleSelection(columns, phased=False, kind="genotypes", n_available=len(wanted),
                           seed=seed, population=table.describe() if table is not None else "")


def read_real_windows(vcf: str | os.PathLike, encoder: GenotypeMatrixEncoder, *,
                      window_bp: int, region: str | None = None,
                      samples: str | os.PathLike | None = None, population: str | None = None,
                      individuals: int | None = None, seed: int = 0) -> RealWindows:
    """Every non-overlapping ``window_bp`` window of the region (default: every contig with
    records) with at least :data:`MIN_SITES` informative sites, encoded."""
    reader = open_reader(vcf)
    selection = _selection(reader, samples, population, individuals, seed)
    regions = scan_regions(reader, region, window_bp)
    tensors, where, read = [], [], 0
    stats = reader.new_stats()
    for reg in regions:
        starts = window_starts(reg, window_bp, window_bp)
        blocks = reader.blocks(reg, selection, stats=stats)
        for start, block in iter_windows(blocks, starts, window_bp):
            read += 1
            if block is None:
                continue
            encoded = encoder.encode(block, (start, start + window_bp))
            if encoded.n_sites >= MIN_SITES:
                tensors.append(encoded.inputs[TENSOR])
                where.append((reg.contig, start))
    if len(tensors) < MIN_WINDOWS:
        raise PopgenHubError(
            f"{input_name(reader)} has {len(tensors)} window{'' if len(tensors) == 1 else 's'}"
            f" of {window_bp} bp (--window-bp) with at least {MIN_SITES} SNPs in "
            f"{', '.join(map(str, regions))} ({stats.kept} SNPs kept); fit-demography needs at "
            f"least {MIN_WINDOWS}: give a longer --region (a few Mb), a smaller --window-bp or "
            f"a VCF with more SNPs")
    real = RealWindows(np.stack(tensors).astype(np.float32), where, selection.samples,
                       [str(r) for r in regions], read)
    if real.missing_share > MAX_MISSING:
        log.warning("%s: %.1f%% of the genotype calls at the windows' sites are missing and "
                    "the simulated windows have none, so the discriminator can tell them apart "
                    "by that alone and the fit is biased; filter the VCF to sites called in "
                    "(nearly) every individual", input_name(reader), 100 * real.missing_share)
    return real


def simulate_windows(model: DemographicModel, values: dict[str, float], *, n_individuals: int,
                     count: int, encoder: GenotypeMatrixEncoder, window_bp: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``count`` independent windows of ``n_individuals`` diploids under ``model`` at
    ``values`` (msprime, human mutation and recombination rates, binary mutations), encoded
    as a scan reads a VCF (:func:`popgen_hub.simulate.observed.sample_window`), with at
    least :data:`MIN_SITES` informative sites as the VCF's windows: more are simulated
    until ``count`` pass, up to :data:`MAX_SIMULATIONS_PER_WINDOW` x ``count``, then
    sparser ones fill the rest."""
    import msprime

    kept, short = [], []
    limit, simulated = MAX_SIMULATIONS_PER_WINDOW * count, 0
    while len(kept) < count and simulated < limit:
        # enough for the windows still wanted at the share kept so far
        share = max(len(kept) / simulated, 0.1) if simulated else 1.0
        batch = min(limit - simulated, int(np.ceil((count - len(kept)) / share)))
        seeds = rng.integers(1, 2**31 - 1, size=2)
        replicates = msprime.sim_ancestry(
            samples=n_individuals, ploidy=2, demography=model.build(values),
            sequence_length=window_bp, recombination_rate=RECOMBINATION_RATE,
            random_seed=int(seeds[0]), num_replicates=batch)
        for i, ts in enumerate(replicates):
            ts = msprime.sim_mutations(ts, rate=MUTATION_RATE,
                                       model=msprime.BinaryMutationModel(),
                                       random_seed=int(seeds[1]) + i)
            block = GenotypeBlock.from_haplotypes(
                ts.genotype_matrix().astype(np.int8).T,
                ts.tables.sites.position.astype(np.int64),
                Samples.anonymous(n_individuals, 2)).unphased()
            encoded = sample_window(encoder, block, (0, window_bp), rng, n_individuals)
            (kept if encoded.n_sites >= MIN_SITES else short).append(encoded.inputs[TENSOR])
        simulated += batch
    # a point that rarely gives MIN_SITES sites fills up with sparser windows, unlike the VCF's
    return np.stack((kept + short)[:count]).astype(np.float32)


def simulate_vcf(path: str | os.PathLike, model: DemographicModel, values: dict[str, float],
                 *, n_individuals: int, length: int, seed: int, contig: str = "chr1") -> Path:
    """An indexed VCF of ``n_individuals`` diploids over ``length`` bp simulated under
    ``model`` at ``values`` with the generator's rates: data of known parameters, for the
    benchmark and the tests (nucleotides, msprime's JC69, so that the file has a real VCF's
    REF/ALT letters and its few multi-allelic sites, which the reader skips as in real data)."""
    from ..simulate.genome import simulate_to_vcf

    return simulate_to_vcf(path, model.build(values), n_individuals, length=length,
                           recombination_rate=RECOMBINATION_RATE, mutation_rate=MUTATION_RATE,
                           seeds=(seed, seed), contig=contig)


def simulate_stdpopsim_vcf(path: str | os.PathLike, model_id: str, population: str, *,
                           n_individuals: int, length: int, seed: int, contig: str = "1"
                           ) -> Path:
    """An indexed VCF of ``n_individuals`` diploids of one population of a stdpopsim HomSap
    model, at the mutation rate its sizes were inferred with (2.35e-8 for OutOfAfrica_3G09:
    the data have the population's diversity) and the generator's recombination rate: data of
    a history the fitted model can only approximate (the benchmark's check, the bundled
    discriminator's data). The fit's sizes are then in units of the generator's rate."""
    import stdpopsim

    from ..simulate.genome import simulate_to_vcf

    model = stdpopsim.get_species("HomSap").get_demographic_model(model_id)
    return simulate_to_vcf(path, model.model, {population: n_individuals}, length=length,
                           recombination_rate=RECOMBINATION_RATE,
                           mutation_rate=model.mutation_rate or MUTATION_RATE,
                           seeds=(seed, seed), contig=contig)
