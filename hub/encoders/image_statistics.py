"""A window as both its ImaGene image and its summary statistics, for networks that read the two
side by side (:mod:`popgen_hub.models.imagene_stats`).

The image (:mod:`.haplotype_image`) shows the haplotype structure a sweep leaves; the
statistics (:mod:`.summary_statistics`) give the diversity trough, the site-frequency spectrum
and the haplotype homozygosity the image's resizing and binarisation lose. The two encoders run
unchanged, each with its own parameters (``image`` and ``statistics``, stored in the contract
as their own ``to_config`` without the name), so a window's tensors are exactly those each
encoder gives alone. The window's informative sites are the image's (minor allele frequency at
least ``min_maf``), as for the image models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from .base import ENCODERS, DataclassEncoder, EncodedWindow
from .haplotype_image import HaplotypeImageEncoder
from .summary_statistics import SummaryStatisticsEncoder


def _parameters(encoder: DataclassEncoder) -> dict[str, Any]:
    return {key: value for key, value in encoder.to_config().items() if key != "name"}


@ENCODERS.register()
@dataclass(frozen=True)
class ImageAndStatisticsEncoder(DataclassEncoder):
    """The ImaGene image and the summary statistics of one window (module doc)."""

    name = "image_statistics"
    missing_rule = (f"image: {HaplotypeImageEncoder.missing_rule}; statistics: "
                    f"{SummaryStatisticsEncoder.missing_rule}")

    image: dict[str, Any] = field(default_factory=lambda: _parameters(HaplotypeImageEncoder()))
    statistics: dict[str, Any] = field(
        default_factory=lambda: _parameters(SummaryStatisticsEncoder()))

    def __post_init__(self) -> None:
        for part, encoder in (("image", HaplotypeImageEncoder),
                              ("statistics", SummaryStatisticsEncoder)):
            params = getattr(self, part)
            if "name" in params:
                raise PopgenHubError(f"image_statistics encoder: {part} holds the parameters of "
                                     f"the {encoder.name} encoder, without a name")
            object.__setattr__(self, f"_{part}", encoder.from_config(params))

    @property
    def image_encoder(self) -> HaplotypeImageEncoder:
        return self._image  # type: ignore[attr-defined]

    @property
    def statistics_encoder(self) -> SummaryStatisticsEncoder:
        return self._statistics  # type: ignore[attr-defined]

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {**self.image_encoder.shapes, **self.statistics_encoder.shapes}

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow:
        image = self.image_encoder.encode(block, window)
        statistics = self.statistics_encoder.encode(block, window)
        return EncodedWindow({**image.inputs, **statistics.inputs}, image.n_sites)
