"""A window as both its ImaGene image and its summary statistics, for networks that read the two
side by side (:mod:`popgen_hub.models.imagene_stats`).

The image (:mod:`.haplotype_image`) shows the haplotype structure a sweep leaves; the
statistics (:mod:`.summary_statistics`) give the diversity trough, the site-frequency spectrum
and the haplotype homozygosity the image's resizing and binarisation lose. The two encoders run
unchanged, each with its own parameters: the contract stores every parameter of each (``image``
and ``statistics``, objects as the encoders' own configs without their names), so a window's
tensors are exactly those each encoder gives alone. The window's informative sites are the
image's (minor allele frequency at least ``min_maf``), as for the image models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from ..schema import short
from .base import ENCODERS, DataclassEncoder, EncodedWindow
from .haplotype_image import HaplotypeImageEncoder
from .summary_statistics import SummaryStatisticsEncoder

PARTS: dict[str, type[DataclassEncoder]] = {"image": HaplotypeImageEncoder,
                                             "statistics": SummaryStatisticsEncoder}


@ENCODERS.register()
@dataclass(frozen=True)
class ImageAndStatisticsEncoder(DataclassEncoder):
    """The ImaGene image and the summary statistics of one window (module doc)."""

    name = "image_statistics"
    missing_rule = (f"image: {HaplotypeImageEncoder.missing_rule}; statistics: "
                    f"{SummaryStatisticsEncoder.missing_rule}")

    image: HaplotypeImageEncoder = field(default_factory=HaplotypeImageEncoder)
    statistics: SummaryStatisticsEncoder = field(default_factory=SummaryStatisticsEncoder)

    def __post_init__(self) -> None:
        for part, encoder in PARTS.items():
            if not isinstance(getattr(self, part), encoder):
                raise PopgenHubError(f"image_statistics encoder: {part} must be a "
                                     f"{encoder.__name__}, not {short(getattr(self, part))}")

    @classmethod
    def from_config(cls, params: dict[str, Any]) -> ImageAndStatisticsEncoder:
        """From a contract's or ``--encoder``'s parameters: ``image`` and ``statistics``, each
        an object of its encoder's parameters (those left out take their defaults)."""
        unknown = sorted(set(params) - set(PARTS))
        if unknown:
            raise PopgenHubError(f"image_statistics encoder: unknown field {unknown[0]!r}; its "
                                 f"fields are {' and '.join(PARTS)}")
        parts = {}
        for part, encoder in PARTS.items():
            given = params.get(part, {})
            if not isinstance(given, dict) or "name" in given:
                raise PopgenHubError(f"image_statistics encoder: {part} is {short(given)}, not "
                                     f"an object of {encoder.name} parameters without a name")
            try:
                parts[part] = encoder.from_config(given)
            except PopgenHubError as exc:
                raise PopgenHubError(f"image_statistics encoder: {part}: {exc}") from None
        return cls(**parts)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {**self.image.shapes, **self.statistics.shapes}

    def column_spans(self, block: GenotypeBlock, window: tuple[float, float] | None = None
                     ) -> np.ndarray:
        """The image's columns' bp spans (what explain maps image columns to)."""
        return self.image.column_spans(block, window)

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow:
        image = self.image.encode(block, window)
        statistics = self.statistics.encode(block, window)
        return EncodedWindow({**image.inputs, **statistics.inputs}, image.n_sites)
