"""An exchangeable network over individuals: any number of them, in any order.

In the spirit of defiNETti (Chan et al. 2018) and pg-gan's discriminator (Wang et al. 2021):
the same layers read every individual's row of the genotype matrix
(:mod:`popgen_hub.encoders.genotype_matrix`; ``exchangeable_cnn_gl``: of likelihoods),

    2 x [conv 1-D over sites (``filters``, ``kernel``) + ReLU + max-pool sites by 2],

then the features are pooled over individuals by their mean and their maximum, symmetric
functions of any number of rows, so the output does not depend on the order of the
individuals and any number can be read; dense layers give one logit per class. Individuals without
a call in any column (the encoder's ``called`` channel all 0) weigh nothing in the pooling.

One model serves every sample size of its range because each training replicate is a random
number of its individuals (:meth:`ExchangeableCNN.training_window`), drawn and encoded as a scan
would read them: the encoder then finds the sites and the minor allele among exactly those
individuals, as it does at inference, which subsampling inside the network could not. The
individuals not drawn become zero rows (no calls), which the pooling leaves out, so replicates
of different sizes share a batch. Each replicate is drawn once, with the training seed, and
validation and test replicates alike: the held-out figures average over the size range.

The likelihood network trains on what sequencing would show of the drawn individuals: reads at
a mean depth log-uniform in the encoder's depth range (each individual's depth around it),
with sequencing errors, passed through the BAM reader's own SNP discovery and samtools
likelihoods (:func:`popgen_hub.simulate.reads.sequenced`), so that it learns which alleles low
coverage hides. Both draw their replicates through :mod:`popgen_hub.simulate.observed`, as do
their held-out figures by sample size and depth and the nulls their scans use.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..encoders import EncodedWindow, GenotypeMatrixEncoder
from ..encoders.genotype_matrix import CALLED, CHANNELS, TENSOR
from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from ..simulate.observed import individuals_of, log_uniform, sample_window
from .base import ARCHITECTURES


@ARCHITECTURES.register("exchangeable_cnn")
class ExchangeableCNN(nn.Module):
    """Input (batch, individuals, channels, sites); both the batch and the individuals axes
    are dynamic in the exported graph."""

    encoder = "genotype_matrix"
    inputs = (TENSOR,)

    @classmethod
    def sizes_from(cls, shapes: dict[str, tuple[int | None, ...]]) -> dict[str, int]:
        _, channels, sites = shapes[TENSOR]
        return {"n_channels": int(channels), "n_sites": int(sites)}

    def __init__(self, n_channels: int = len(CHANNELS), n_sites: int = 64, n_classes: int = 2,
                 filters: int = 32, kernel: int = 5, dense: int = 128, dropout: float = 0.2
                 ) -> None:
        super().__init__()
        self.config = dict(n_channels=n_channels, n_sites=n_sites, n_classes=n_classes,
                           filters=filters, kernel=kernel, dense=dense, dropout=dropout)
        if n_sites // 4 < 1 or kernel < 1 or kernel % 2 == 0:
            raise PopgenHubError(f"exchangeable_cnn: n_sites={n_sites} must be at least 4 (two "
                                 f"poolings by 2) and kernel={kernel} an odd number")
        self.per_individual = nn.Sequential(
            nn.Conv1d(n_channels, filters, kernel, padding=kernel // 2), nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(filters, filters, kernel, padding=kernel // 2), nn.ReLU(),
            nn.MaxPool1d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * filters * (n_sites // 4), dense), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(dense, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, individuals, channels, sites = x.shape
        features = self.per_individual(x.reshape(batch * individuals, channels, sites))
        features = features.reshape(batch, individuals, features.shape[1], features.shape[2])
        # 1 for an individual with a call in some column, 0 for one without (or a zero row)
        weight = x[:, :, CALLED].amax(dim=2)[:, :, None, None]
        weighted = features * weight
        mean = weighted.sum(dim=1) / weight.sum(dim=1).clamp(min=1.0)
        # features are >= 0 after the ReLU, so the rows weighted 0 never exceed the others' max
        return self.classifier(torch.cat([mean, weighted.amax(dim=1)], dim=1))

    @staticmethod
    def training_window(encoder: GenotypeMatrixEncoder, block: GenotypeBlock,
                        window: tuple[float, float], rng: np.random.Generator
                        ) -> EncodedWindow:
        """One training replicate: ``k`` of its individuals, ``k`` log-uniform between the
        encoder's ``min_individuals`` and all of them (as much training at 5 to 10 as at 50 to
        100), observed and encoded as a scan reads them
        (:func:`popgen_hub.simulate.observed.sample_window`); zero rows for the others."""
        individuals = individuals_of(encoder, block)  # grouped once: sample_window takes them
        n = len(individuals.samples)
        k = min(n, round(log_uniform(encoder.min_individuals, n, rng)))
        return sample_window(encoder, individuals, window, rng, k, rows=n)


@ARCHITECTURES.register("exchangeable_cnn_gl")
class ExchangeableLikelihoodCNN(ExchangeableCNN):
    """The same network on genotype likelihoods (the ``likelihood_matrix`` encoder), trained on
    reads drawn from the simulated genotypes."""

    encoder = "likelihood_matrix"
