"""The one data model for genotype data: readers produce it, encoders and statistics consume
it, datasets store it.

A :class:`GenotypeBlock` is a run of consecutive sites of some samples, in exactly one of three
kinds (:data:`KINDS`), sites always on the first axis so blocks concatenate along the genome:

============== ======================================= =======================================
kind           ``values``                              meaning
============== ======================================= =======================================
haplotypes     int8 (sites, haplotypes)                phased alleles: 0 REF, 1 ALT, -1 missing;
                                                       ``haplotype_sample`` gives each column's
                                                       sample
genotypes      int8 (sites, samples)                   unphased ALT-allele counts, 0..ploidy,
                                                       -1 missing
likelihoods    float32 (sites, samples, genotypes)     per genotype (0..ploidy ALT alleles),
                                                       on ``likelihood_scale`` (:data:`SCALES`)
============== ======================================= =======================================
"""

from .block import KINDS, SCALES, GenotypeBlock, ReadStats, Samples, concatenate
from .region import Region, parse_region

__all__ = ["KINDS", "SCALES", "GenotypeBlock", "ReadStats", "Region", "Samples", "concatenate",
           "parse_region"]
