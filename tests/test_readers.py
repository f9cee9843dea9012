"""The VCF reader on small hand-written files: ploidy, missing calls, regions, skipped records."""

from __future__ import annotations

import numpy as np
import pysam
import pytest

from popgen_hub.errors import PopgenHubError
from popgen_hub.readers import SampleSelection, VcfReader, haplotype_columns, parse_region


def vcf_file(tmp_path, records: list[str], samples=("a", "b", "c"),
             contigs=(("1", 10_000), ("Y", 10_000))):
    header = ["##fileformat=VCFv4.2",
              *(f"##contig=<ID={c},length={n}>" for c, n in contigs),
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
              "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                         *samples])]
    body = ["\t".join([*r.split()[:2], ".", *r.split()[2:4], ".", "PASS", ".", "GT",
                       *r.split()[4:]]) for r in records]
    plain = tmp_path / "t.vcf"
    plain.write_text("\n".join(header + body) + "\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    return VcfReader(tmp_path / "t.vcf.gz")


def read(reader, region, columns=None):
    stats = reader.new_stats()
    selection = SampleSelection(tuple(columns or haplotype_columns(reader)))
    blocks = list(reader.blocks(reader.region(region), selection, stats=stats))
    assert all(b.kind == "haplotypes" for b in blocks)
    positions = np.concatenate([b.positions for b in blocks]) if blocks else np.empty(0)
    matrix = np.concatenate([b.values for b in blocks]) if blocks else np.empty((0, 0))
    return positions, matrix, stats


def test_sites_are_read_as_haplotype_columns_and_bad_records_counted(tmp_path):
    reader = vcf_file(tmp_path, [
        "1 100 A G 0|1 1|1 0|0",
        "1 200 A G,T 0|1 1|2 0|0",  # multi-allelic
        "1 300 AT A 0|1 1|1 0|0",  # indel
        "1 400 C T 1|0 0|0 .|1",
        "1 400 C G 1|0 0|0 0|1",  # repeated position
    ])
    positions, matrix, stats = read(reader, "1")
    assert positions.tolist() == [99, 399]  # 0-based
    assert matrix.tolist() == [[0, 1, 1, 1, 0, 0], [1, 0, 0, 0, -1, 1]]
    assert stats.to_dict() == {"kept_biallelic_snps": 2, "skipped_not_snp": 1,
                               "skipped_multiallelic": 1, "skipped_duplicate_position": 1}


def test_a_lone_dot_is_a_missing_diploid_call_even_in_the_first_record(tmp_path):
    reader = vcf_file(tmp_path, ["1 100 A G . 0|1 0|0", "1 200 A G 0|1 . 1|1"])
    assert haplotype_columns(reader) == [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("c", 0),
                                          ("c", 1)]
    _, matrix, _ = read(reader, "1")
    assert matrix.tolist() == [[-1, -1, 0, 1, 0, 0], [0, 1, -1, -1, 1, 1]]


def test_haploid_samples_give_one_haplotype(tmp_path):
    reader = vcf_file(tmp_path, ["1 100 A G 0 1|0 1", "1 200 A G 1 0|0 ."])
    assert haplotype_columns(reader) == [("a", 0), ("b", 0), ("b", 1), ("c", 0)]
    _, matrix, _ = read(reader, "1")
    assert matrix.tolist() == [[0, 1, 0, 1], [1, 0, 0, -1]]


def test_a_contig_of_haploid_calls_after_diploid_ones_is_refused(tmp_path):
    reader = vcf_file(tmp_path, ["1 100 A G 0|1 1|1 0|0", "Y 100 A G 0 1 1"])
    with pytest.raises(PopgenHubError, match="Y:100: sample a has fewer alleles"):
        read(reader, "Y")


def test_region_parsing_and_checks(tmp_path):
    assert parse_region("chr2:1,000-2,000") == ("chr2", 999, 2000)
    assert parse_region("chr2") == ("chr2", None, None)
    reader = vcf_file(tmp_path, ["1 100 A G 0|1 1|1 0|0", "1 5000 A G 0|1 1|1 0|0"])
    assert str(reader.region("chr1")) == "1:100-5000"
    assert str(reader.region("1", grid=1000)) == "1:1-5000"
    assert str(reader.region("1:200")) == "1:200-5000"
    with pytest.raises(PopgenHubError, match="starts after the last record"):
        reader.region("1:6000")
    with pytest.raises(PopgenHubError, match="starts after the end of 1"):
        reader.region("1:20000-30000")
