"""Readers turn genomic files into blocks of biallelic SNP haplotypes."""

from .vcf import Region, SiteBlock, VcfReader, parse_region

__all__ = ["Region", "SiteBlock", "VcfReader", "parse_region"]
