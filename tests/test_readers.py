"""The VCF reader on small hand-written files: ploidy, missing calls, regions, skipped records."""

from __future__ import annotations

import gzip
import logging
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import psutil
import pysam
import pytest

from conftest import needs
from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes import Region
from popgen_hub.readers import SampleSelection, VcfReader, haplotype_columns, parse_region
from popgen_hub.readers.samples import read_samples
from popgen_hub.scoring import cap_workers, scan_options
from popgen_hub.scoring.workers import usable_cores


def vcf_file(tmp_path, records: list[str], samples=("a", "b", "c"),
             contigs=(("1", 10_000), ("Y", 10_000)), name: str = "t", fmt: str = "GT",
             csi: bool = False):
    """An indexed VCF of ``records`` ("CHROM POS REF ALT CALL CALL ..."; the FORMAT is ``fmt``
    unless a record starts its calls with ``FORMAT=...``), opened."""
    header = ["##fileformat=VCFv4.2",
              *(f"##contig=<ID={c},length={n}>" for c, n in contigs),
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
              '##FORMAT=<ID=DS,Number=1,Type=Float,Description="Dosage">',
              "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                         *samples])]
    body = []
    for record in records:
        fields = record.split()
        calls = fields[4:]
        record_fmt = calls.pop(0)[7:] if calls[0].startswith("FORMAT=") else fmt
        body.append("\t".join([*fields[:2], ".", *fields[2:4], ".", "PASS", ".", record_fmt,
                               *calls]))
    plain = tmp_path / f"{name}.vcf"
    plain.write_text("\n".join(header + body) + "\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True, csi=csi)
    return VcfReader(tmp_path / f"{name}.vcf.gz")


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



# ------------------------------------------------------------------ region text
@pytest.mark.parametrize(("text", "parsed"), [
    (" chr2:1,000-2,000 ", ("chr2", 999, 2000)),
    ("chr2:-500", ("chr2", None, 500)),
    ("chr2:700", ("chr2", 699, None)),
    ("Mme_chr24:2558528-4558528", ("Mme_chr24", 2558527, 4558528)),  # no contig list: last ':'
    ("Mme_chr24:2558528-4558528:1-100", ("Mme_chr24:2558528-4558528", 0, 100)),
    ("{Mme_chr24:2558528-4558528}:1-100", ("Mme_chr24:2558528-4558528", 0, 100)),
    ("{Mme_chr24:2558528-4558528}", ("Mme_chr24:2558528-4558528", None, None)),
])
def test_region_text(text, parsed):
    assert parse_region(text) == parsed


def test_the_whole_text_is_a_contig_when_it_names_one():
    contigs = {"Mme_chr24:2558528-4558528", "chr1", "chr1:1-100"}.__contains__
    assert parse_region("Mme_chr24:2558528-4558528", contigs) == (
        "Mme_chr24:2558528-4558528", None, None)
    with pytest.raises(PopgenHubError, match=r"ambiguous.*\{chr1:1-100\}.*\{chr1\}:1-100"):
        parse_region("chr1:1-100", contigs)


@pytest.mark.parametrize(("text", "message"), [
    ("2:,", "',' after the contig is not START-END"),
    ("2:-", "'-' after the contig is not START-END"),
    ("2:", "'' after the contig is not START-END"),
    ("2:abc", "'abc' after the contig is not START-END"),
    (":100-200", "has no contig name"),
    ("2:5-3", "is empty: its end is not after its start"),
    ("2:0-100", "positions are 1-based"),
    ("2: 100-200", "contains a space"),
    ("2:100 -200", "contains a space"),
    ("   ", "the region is empty"),
    ("{2:1-5", "write a braced contig as {name}"),
    ("{2}1-5", "write a braced contig as {name}"),
])
def test_malformed_region_text_is_named(text, message):
    with pytest.raises(PopgenHubError, match=re.escape(message)):
        parse_region(text)


def test_a_contig_whose_name_holds_colons_is_read_alone_and_by_range(tmp_path):
    name = "Mme_chr24:2558528-4558528"
    reader = vcf_file(tmp_path, ["Mme_chr24:2558528-4558528 100 A G 0|1 1|1 0|0",
                                 "Mme_chr24:2558528-4558528 5000 A G 0|1 1|1 0|0"],
                      contigs=((name, 10_000),))
    assert reader.region(name) == Region(name, 99, 5000)
    assert reader.region(f"{name}:1-1000") == Region(name, 0, 1000)
    assert reader.region(f"{{{name}}}:200") == Region(name, 199, 5000)
    assert str(reader.region(f"{name}:1-1000")) == f"{{{name}}}:1-1000"
    positions, _, _ = read(reader, f"{name}:50-6000")
    assert positions.tolist() == [99, 4999]
    assert reader.contigs_with_records() == [name]
    with pytest.raises(PopgenHubError, match="contig 'Mme_chr24' is not in"):
        reader.region("Mme_chr24:1-1000")


# ------------------------------------------------------------------ what the file holds
def test_records_past_the_contigs_header_length_are_refused_not_dropped(tmp_path):
    reader = vcf_file(tmp_path, ["1 100 A G 0|1 1|1 0|0", "1 4000 A G 0|1 1|1 0|0",
                                 "1 7000 A G 0|1 1|1 0|0"], contigs=(("1", 3000),))
    for ask in (lambda: reader.contig_region("1"), lambda: reader.region("1:1-2000")):
        with pytest.raises(PopgenHubError, match=r"records of 1 go on to 1:7000, past its "
                                                 r"length in the header \(##contig "
                                                 r"length=3000\).*bcftools reheader --fai"):
            ask()


def test_records_without_gt_are_named(tmp_path):
    with pytest.raises(PopgenHubError, match=r"d\.vcf\.gz 1:100: no GT \(genotype\) field, "
                                             r"its FORMAT is DS; the model reads genotypes"):
        vcf_file(tmp_path, ["1 100 A G 0 1 2", "1 200 A G 0 1 1"], fmt="DS", name="d")
    reader = vcf_file(tmp_path, ["1 100 A G 0|1 1|1 0|0", "1 200 A G FORMAT=DS 0 1 2",
                                 "1 300 A G 0|1 1|1 0|0"])
    with pytest.raises(PopgenHubError, match=r"1:200: no GT \(genotype\) field"):
        read(reader, "1")


def test_an_allele_the_record_lacks_is_named(tmp_path):
    reader = vcf_file(tmp_path, ["1 100 A G 0|1 1|1 0|0", "1 200 A G 0|0 1|2 0|0"])
    with pytest.raises(PopgenHubError, match="1:200: sample b calls an allele the record's "
                                             "single ALT lacks"):
        read(reader, "1")


@pytest.mark.parametrize("index", ["tbi", "csi"])
def test_an_index_of_another_file_is_refused(tmp_path, index):
    records = [f"1 {p} A G 0|1 1|1 0|0" for p in range(100, 9000, 50)]
    vcf_file(tmp_path, records[:40], name="small", csi=index == "csi")
    vcf_file(tmp_path, records, name="large", csi=index == "csi")
    shutil.copy(tmp_path / f"small.vcf.gz.{index}", tmp_path / f"large.vcf.gz.{index}")
    with pytest.raises(PopgenHubError, match=rf"large\.vcf\.gz\.{index} is not the index of "
                                             r"large\.vcf\.gz .*tabix -f -p vcf large\.vcf\.gz"):
        VcfReader(tmp_path / "large.vcf.gz")
    if index == "csi":
        return
    vcf_file(tmp_path, ["Y 100 A G 0|1 1|1 0|0"], name="other")
    shutil.copy(tmp_path / "other.vcf.gz.tbi", tmp_path / "small.vcf.gz.tbi")
    with pytest.raises(PopgenHubError, match="it lists contigs Y, not 1 of the first record"):
        VcfReader(tmp_path / "small.vcf.gz")
    (tmp_path / "small.vcf.gz.tbi").write_bytes(gzip.compress(b"not an index"))
    with pytest.raises(PopgenHubError, match="is not a usable index of small.vcf.gz"):
        VcfReader(tmp_path / "small.vcf.gz")


def test_plain_gzip_is_told_to_recompress_with_bgzip(tmp_path):
    vcf_file(tmp_path, ["1 100 A G 0|1 1|1 0|0"])
    plain = tmp_path / "p.vcf.gz"
    plain.write_bytes(gzip.compress(gzip.decompress((tmp_path / "t.vcf.gz").read_bytes())))
    with pytest.raises(PopgenHubError, match=re.escape(
            "plain gzip, which cannot be indexed; recompress it with bgzip: "
            "`zcat p.vcf.gz | bgzip > p.vcf.bgz`")):
        VcfReader(plain)


def damage_a_middle_block(vcf: Path, dest: Path) -> Path:
    """A copy of ``vcf`` (and its index) with bytes of a middle BGZF block's data flipped."""
    data = bytearray(vcf.read_bytes())
    starts, offset = [], 0
    while offset < len(data):
        starts.append(offset)
        offset += struct.unpack_from("<H", data, offset + 16)[0] + 1
    middle = starts[len(starts) // 2]
    data[middle + 100:middle + 200] = bytes(b ^ 0x55 for b in data[middle + 100:middle + 200])
    dest.write_bytes(bytes(data))
    shutil.copy(vcf.with_name(vcf.name + ".tbi"), dest.with_name(dest.name + ".tbi"))
    return dest


def test_a_damaged_block_is_an_error_not_the_end_of_the_contig(tmp_path):
    records = [f"1 {p} A G 0|1 1|1 0|0" for p in range(100, 10_000, 3)]  # some blocks
    vcf_file(tmp_path, records, contigs=(("1", 10_000),))
    damaged = damage_a_middle_block(tmp_path / "t.vcf.gz", tmp_path / "damaged.vcf.gz")
    reader = VcfReader(damaged)
    with pytest.raises(PopgenHubError, match=r"damaged\.vcf\.gz: the compressed data .* is "
                                             r"damaged.*bgzip -t damaged\.vcf\.gz"):
        read(reader, "1:1-10000")
    with pytest.raises(PopgenHubError, match="is damaged"):
        VcfReader(damaged).contig_region("1")


# ------------------------------------------------------------------ bcftools beside the scan
MIXED_RECORDS = [  # SNPs, an indel, a multiallelic site, a repeated position, missing calls
    *(f"1 {p} A G 0|1 1|1 0|0" for p in range(100, 4_000, 7)),
    "1 4001 AT A 0|1 0|0 1|1", "1 4005 A C,T 0|2 0|1 0|0", "1 4010 C T .|. 0|1 1|0",
    "1 4010 C A 0|1 0|1 1|0", *(f"1 {p} G A 1|0 0|0 0|1" for p in range(4_100, 9_000, 5)),
    *(f"Y {p} T C 1|0 0|. 1|1" for p in range(50, 5_000, 9))]


@pytest.fixture
def piped(monkeypatch):
    """Every region long enough for `bcftools view` to decode it beside this process."""
    needs("bcftools")
    monkeypatch.setattr("popgen_hub.readers.decoded.PIPED_MIN_BP", 0)
    return monkeypatch


@pytest.mark.parametrize("columns", [None, (("c", 1), ("a", 0))])
@pytest.mark.parametrize("region", ["1", "1:150-4100", "Y"])
def test_bcftools_beside_the_scan_reads_what_htslib_here_reads(tmp_path, piped, region, columns):
    reader = vcf_file(tmp_path, MIXED_RECORDS)
    positions, matrix, stats = read(reader, region, columns)
    piped.setattr("popgen_hub.readers.decoded.PIPED_MIN_BP", 10**12)  # all in this process
    here = read(reader, region, columns)
    assert np.array_equal(positions, here[0]) and np.array_equal(matrix, here[1])
    assert stats == here[2] and stats.kept == len(positions) > 0


def test_where_bcftools_fails_this_process_names_the_bad_record(tmp_path, piped):
    records = [f"1 {p} A G 0|1 1|1 0|0" for p in range(100, 9_000, 3)]
    records[2000] = records[2000].replace("0|0", "0|X")
    reader = vcf_file(tmp_path, records, contigs=(("1", 10_000),))
    previous = records[1999].split()[1]
    with pytest.raises(PopgenHubError, match=f"a record after 1:{previous} cannot be parsed"):
        read(reader, "1")


def test_a_file_bcftools_cannot_write_is_read_here_from_the_regions_start(tmp_path, piped):
    """An INFO tag the header does not declare: htslib reads the record (with a warning),
    `bcftools view -Ou` stops at it after writing the header when the header is long; the
    records come from this process instead, from the region's start, not the contig's."""
    header = ["##fileformat=VCFv4.2", *(f"##contig=<ID=s{i},length=1000>" for i in range(3000)),
              "##contig=<ID=1,length=10000>",
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb"]
    body = [f"1\t{p}\t.\tA\tG\t.\tPASS\tAF=0.5\tGT\t0|1\t1|1" for p in range(100, 9_000, 7)]
    plain = tmp_path / "undeclared.vcf"
    plain.write_text("\n".join(header + body) + "\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    reader = VcfReader(tmp_path / "undeclared.vcf.gz")
    positions, matrix, stats = read(reader, "1:4001-9000")
    piped.setattr("popgen_hub.readers.decoded.PIPED_MIN_BP", 10**12)
    here = read(reader, "1:4001-9000")
    assert positions[0] >= 4000 and np.array_equal(positions, here[0])
    assert np.array_equal(matrix, here[1]) and stats == here[2]


def test_a_damaged_block_read_by_bcftools_is_named(tmp_path, piped):
    records = [f"1 {p} A G 0|1 1|1 0|0" for p in range(100, 10_000, 3)]
    vcf_file(tmp_path, records, contigs=(("1", 10_000),))
    damaged = damage_a_middle_block(tmp_path / "t.vcf.gz", tmp_path / "damaged.vcf.gz")
    with pytest.raises(PopgenHubError, match=r"damaged\.vcf\.gz: the compressed data .* is "
                                             r"damaged"):
        read(VcfReader(damaged), "1:1-10000")


def test_a_read_stopped_early_stops_bcftools(tmp_path, piped):
    reader = vcf_file(tmp_path, MIXED_RECORDS)
    selection = SampleSelection(tuple(haplotype_columns(reader)))
    blocks = reader.blocks(reader.region("1"), selection, stats=reader.new_stats(),
                           block_size=10)
    next(blocks)
    # (other children, e.g. multiprocessing's forkserver from earlier tests, may be running)
    decoders = [c for c in psutil.Process().children() if c.name() == "bcftools"]
    assert decoders
    blocks.close()
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in decoders)


# ------------------------------------------------------------------ sample tables
@pytest.mark.parametrize("text", ["\ufeffsample\tage_years\r\nx\t0\r\ny\t1500\r\n",
                                  "sample age_years\rx 0\ry 1500\r"])
def test_sample_tables_with_a_bom_or_crlf_read_as_written(tmp_path, text):
    table = tmp_path / "ages.tsv"
    table.write_bytes(text.encode())
    read = read_samples(table, need_ages=True)
    assert read.samples == ("x", "y") and read.ages == {"x": 0.0, "y": 1500.0}


@pytest.mark.parametrize(("rows", "message"), [
    ("x\tnan", "line 2: age 'nan' of x is not a number of years"),
    ("x\tinf", "line 2: age 'inf' of x is not a number of years"),
    ("x\t-5", "line 2: age -5 of x is negative"),
    ("x\t0\n\t100", "line 3: the 'sample' column is empty"),
    ("x\t0\nx\t100", "line 3: sample x is listed twice"),
])
def test_bad_sample_table_rows_are_named(tmp_path, rows, message):
    table = tmp_path / "ages.tsv"
    table.write_text(f"sample\tage_years\n{rows}\n")
    with pytest.raises(PopgenHubError, match=re.escape(message)):
        read_samples(table, need_ages=True)


# ------------------------------------------------------------------ options and workers
@pytest.mark.parametrize(("options", "message"), [
    ({"window": 0}, "--window-size 0: must be at least 1 bp"),
    ({"window": -80_000}, "--window-size -80000: must be at least 1 bp"),
    ({"step": 0}, "--step 0: must be at least 1 bp"),
    ({"batch_size": 0}, "--batch-size 0: must be at least 1 window"),
    ({"workers": 0}, "--workers 0: must be at least 1 process"),
    ({"seed": -1}, "--seed -1: must be at least 0"),
    ({"window": 2.5}, "--window-size 2.5: must be a whole number"),
])
def test_option_values_that_cannot_work_name_the_option(bundled_model, options, message):
    values = {"window": None, "step": None, "batch_size": 32, "workers": 1, "seed": 0, **options}
    with pytest.raises(PopgenHubError, match=re.escape(message)):
        scan_options(bundled_model.contract, **values)
    assert scan_options(bundled_model.contract, None, None, 32, 1, 0) == (80_000, 10_000)


def test_more_workers_than_cores_or_windows_are_capped(caplog):
    with caplog.at_level(logging.INFO, logger="popgen_hub"):
        assert cap_workers(10_000, 3) == min(3, usable_cores())
        assert cap_workers(1, 3) == 1
    assert "--workers 10000 capped at" in caplog.text
