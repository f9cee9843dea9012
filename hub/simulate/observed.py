"""Simulated individuals observed as a scan reads them: a number of a replicate's individuals
drawn at random, seen as the model's data kind shows them, and encoded.

Models of individuals (:mod:`popgen_hub.encoders.genotype_matrix`) read any number of them,
so their training, their held-out figures by sample size and depth, and the nulls their scans
use all draw replicates here (:func:`sample_window`): ``k`` individuals, then

- genotype encoders: their unphased genotypes as they are;
- likelihood encoders: reads at a mean depth (each individual's depth around it,
  :func:`popgen_hub.simulate.reads.individual_depths`), passed through the BAM reader's own
  SNP discovery and samtools likelihoods (:func:`popgen_hub.simulate.reads.sequenced`); without
  a depth, a mean log-uniform in the encoder's depth range (as many replicates at 0.5 to 2x as
  at 5 to 20x).

The encoder then finds the sites and the minor allele among exactly those individuals, as it
does in a scan. Torch-free: ``popgen-hub calibrate`` draws its nulls here too.
"""

from __future__ import annotations

import math

import numpy as np

from ..encoders import EncodedWindow, GenotypeMatrixEncoder
from ..encoders.genotype_matrix import TENSOR
from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from .reads import individual_depths, sequenced


def individuals_of(encoder: GenotypeMatrixEncoder, block: GenotypeBlock) -> GenotypeBlock:
    """A replicate's individuals, checked to be enough for the encoder."""
    individuals = encoder.as_individuals(block)
    n, least = len(individuals.samples), encoder.min_individuals
    if n < least:
        raise PopgenHubError(f"the data have {n} individuals per replicate, fewer than the "
                             f"{encoder.name} encoder's min_individuals={least}; simulate "
                             f"more (--param n_haplotypes=N) or lower it (--encoder "
                             f"min_individuals=N)")
    return individuals


def log_uniform(low: float, high: float, rng: np.random.Generator) -> float:
    """A draw whose logarithm is uniform between those of ``low`` and ``high``."""
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def observe(encoder: GenotypeMatrixEncoder, individuals: GenotypeBlock,
            rng: np.random.Generator, depth: float | None = None) -> GenotypeBlock:
    """What the encoder's data kind shows of the individuals' true genotypes (module doc)."""
    if encoder.data_kinds[0] != "likelihoods":
        return individuals
    mean = depth if depth is not None else log_uniform(*encoder.depth_range, rng)
    return sequenced(individuals, individual_depths(mean, len(individuals.samples), rng), rng)


def observed_sample(encoder: GenotypeMatrixEncoder, block: GenotypeBlock,
                    rng: np.random.Generator, k: int, depth: float | None = None
                    ) -> GenotypeBlock:
    """``k`` of a replicate's individuals chosen at random, observed (:func:`observe`)."""
    individuals = individuals_of(encoder, block)
    if k > len(individuals.samples):
        raise PopgenHubError(f"cannot draw {k} individuals from a replicate of "
                             f"{len(individuals.samples)}")
    chosen = np.sort(rng.choice(len(individuals.samples), k, replace=False))
    return observe(encoder, individuals.take_columns(chosen), rng, depth)


def sample_window(encoder: GenotypeMatrixEncoder, block: GenotypeBlock,
                  window: tuple[float, float], rng: np.random.Generator, k: int, *,
                  rows: int | None = None, depth: float | None = None) -> EncodedWindow:
    """:func:`observed_sample` encoded as a scan encodes it; zero rows (no calls) up to
    ``rows``."""
    encoded = encoder.encode(observed_sample(encoder, block, rng, k, depth), window)
    tensor = encoded.inputs[TENSOR]
    padded = np.zeros((rows or k, *tensor.shape[1:]), dtype=np.float32)
    padded[:k] = tensor
    return EncodedWindow({TENSOR: padded}, encoded.n_sites)
