"""Encoders turn one window of genotype data into a model's input tensors.

An encoder is built from the ``encoder`` section of a model contract, so training and inference
run the same code with the same parameters. Each registers itself with ``@ENCODERS.register()``
beside its definition; plugins add encoders through the entry-point group
``popgen_hub.encoders`` (see :mod:`popgen_hub.encoders.base` for the protocol).
"""

from .base import (
    ENCODERS,
    PRESENT_DAY,
    DataclassEncoder,
    EncodedWindow,
    Encoder,
    SampleGroup,
    ancient_bins_text,
    build_encoder,
    fits_shape,
    group_index,
    has_ancient_groups,
    input_shapes,
    rows_for,
)
from .genome_statistics import GenomeStatisticsEncoder
from .genotype_matrix import GenotypeMatrixEncoder, LikelihoodMatrixEncoder
from .haplotype_image import HaplotypeImageEncoder, single_threaded_blas
from .image_statistics import ImageAndStatisticsEncoder
from .pca_scores import PcaScores
from .snp_sequence import SnpSequenceEncoder
from .summary_statistics import SummaryStatisticsEncoder
from .temporal_stack import TemporalStackEncoder

__all__ = ["ENCODERS", "PRESENT_DAY", "DataclassEncoder", "EncodedWindow", "Encoder",
           "GenomeStatisticsEncoder", "GenotypeMatrixEncoder", "HaplotypeImageEncoder",
           "ImageAndStatisticsEncoder", "LikelihoodMatrixEncoder",
           "PcaScores", "SampleGroup", "SnpSequenceEncoder", "SummaryStatisticsEncoder",
           "TemporalStackEncoder",
           "ancient_bins_text", "build_encoder", "fits_shape", "group_index",
           "has_ancient_groups", "input_shapes", "rows_for", "single_threaded_blas"]
