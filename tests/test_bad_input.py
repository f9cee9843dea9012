"""Bad input: one clear line naming the problem and the fix, exit code 1, no output left."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pysam
import pytest

from conftest import BUNDLED_MODEL, run_cli


def scan_fails(vcf, out: Path, *extra: str, match: str) -> str:
    result = run_cli("scan", "--vcf", vcf, "--model", BUNDLED_MODEL, "-o", out, "-q", *extra,
                     check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    # htslib prints its own diagnostics ("[E::...] ... at chr1:30100") before ours
    lines = [line for line in result.stderr.strip().splitlines() if not HTSLIB.match(line)]
    assert len(lines) == 1 and lines[0].startswith("popgen-hub scan: error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert match in lines[0], lines[0]
    assert not out.is_dir() or not any(out.iterdir()), "partial output left behind"
    return lines[0]


HTSLIB = re.compile(r"^\[[EW]::\w+\] ")


def write_vcf(path: Path, text: str) -> Path:
    """bgzip + tabix a VCF given as text; returns the .vcf.gz path."""
    plain = path.with_suffix("")
    plain.write_text(text)
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    return path


def edited_copy(vcf: Path, dest: Path, edit) -> Path:
    """A copy of ``vcf`` with ``edit(fields)`` applied to each record's tab-separated fields."""
    lines = []
    with gzip.open(vcf, "rt") as handle:
        for line in handle:
            if not line.startswith("#"):
                line = "\t".join(edit(line.rstrip("\n").split("\t"))) + "\n"
            lines.append(line)
    return write_vcf(dest, "".join(lines))


def test_missing_index(sweep_vcf, tmp_path):
    copy = tmp_path / "no_index.vcf.gz"
    shutil.copy(sweep_vcf, copy)
    line = scan_fails(copy, tmp_path / "out", match="has no index")
    assert "tabix" in line or "bcftools index" in line


def test_plain_vcf_is_told_to_bgzip(tmp_path, sweep_vcf):
    plain = tmp_path / "plain.vcf"
    plain.write_bytes(gzip.decompress(sweep_vcf.read_bytes()))
    scan_fails(plain, tmp_path / "out", match="bgzip")


def test_unknown_contig_lists_the_files_contigs(sweep_vcf, tmp_path):
    line = scan_fails(sweep_vcf, tmp_path / "out", "--region", "chr9:1-100000",
                      match="contig 'chr9' is not in")
    assert "chr1" in line


def test_region_beyond_the_contig(sweep_vcf, tmp_path):
    scan_fails(sweep_vcf, tmp_path / "out", "--region", "chr1:5000000-6000000",
               match="starts after the end of chr1")


@pytest.mark.parametrize("region", ["chr1:500-100", "chr1:x-y", "chr1:0-100"])
def test_malformed_regions(sweep_vcf, tmp_path, region):
    scan_fails(sweep_vcf, tmp_path / "out", "--region", region, match="region")


def unphased_after_1mb(vcf, dest):
    def unphase(fields):
        if int(fields[1]) > 1_000_000:
            fields[9:] = [gt.replace("|", "/") for gt in fields[9:]]
        return fields

    return edited_copy(vcf, dest, unphase)


def test_unphased_genotypes_stop_the_scan_midway_and_leave_nothing(sweep_vcf, tmp_path):
    unphased = unphased_after_1mb(sweep_vcf, tmp_path / "unphased.vcf.gz")
    out = tmp_path / "new" / "out"
    line = scan_fails(unphased, out, match="unphased heterozygous genotype")
    assert "chr1:" in line and "phase the VCF first" in line
    assert not (tmp_path / "new").exists()  # nor the parent folder the run created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unphased.vcf.gz",
                                                           "unphased.vcf.gz.tbi"]


def test_no_snps_in_the_region(tmp_path):
    samples = [f"s{i}" for i in range(64)]
    header = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=100000>\n"
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n")
    records = ["chr1\t100\t.\tAT\tA\t.\tPASS\t.\tGT\t" + "\t".join(["0|1"] * 64),
               "chr1\t200\t.\tA\tC,G\t.\tPASS\t.\tGT\t" + "\t".join(["1|2"] * 64)]
    vcf = write_vcf(tmp_path / "indels.vcf.gz", header + "\n".join(records) + "\n")
    scan_fails(vcf, tmp_path / "out", match="no biallelic SNPs in chr1")


def test_not_a_vcf(tmp_path):
    fake = tmp_path / "reads.vcf.gz"
    fake.write_bytes(gzip.compress(b"this is not a VCF\n"))
    scan_fails(fake, tmp_path / "out", match="is not a VCF or BCF file")


def test_missing_file(tmp_path):
    scan_fails(tmp_path / "nowhere.vcf.gz", tmp_path / "out", match="no such file")


def test_unwritable_output(sweep_vcf, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    scan_fails(sweep_vcf, blocker / "out", match="cannot write to output directory")
    scan_fails(sweep_vcf, blocker, match="exists and is not a directory")
    assert blocker.read_text() == "not a directory"


def test_too_few_haplotypes(simulate_vcf, tmp_path):
    small = simulate_vcf(length=300_000, sweep_at=None, seed=9, n_haplotypes=64)
    line = scan_fails(small, tmp_path / "out", match="has 64 haplotypes")
    assert "needs at least 128" in line


def test_step_larger_than_window(sweep_vcf, tmp_path):
    scan_fails(sweep_vcf, tmp_path / "out", "--window-size", "10000", "--step", "20000",
               match="--step 20000 is larger than --window-size 10000")


def test_unknown_model_lists_the_valid_ones(sweep_vcf, tmp_path):
    result = run_cli("scan", "--vcf", sweep_vcf, "--model", "imagene_cnn.nope", "-o",
                     tmp_path / "out", check=False)
    assert result.returncode == 1
    assert "unknown model 'imagene_cnn.nope'" in result.stderr
    assert BUNDLED_MODEL in result.stderr and "Traceback" not in result.stderr


def test_existing_results_survive_a_rerun_that_fails_midway(sweep_vcf, tmp_path):
    out = tmp_path / "out"
    run_cli("scan", "--vcf", sweep_vcf, "--model", BUNDLED_MODEL, "-q", "-o", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    unphased = unphased_after_1mb(sweep_vcf, tmp_path / "unphased.vcf.gz")
    result = run_cli("scan", "--vcf", unphased, "--model", BUNDLED_MODEL, "-q", "-o", out,
                     check=False)
    assert result.returncode == 1 and "unphased" in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_truncated_file(sweep_vcf, tmp_path):
    truncated = tmp_path / "truncated.vcf.gz"
    truncated.write_bytes(sweep_vcf.read_bytes()[:50_000])
    shutil.copy(sweep_vcf.with_name(sweep_vcf.name + ".tbi"), tmp_path / "truncated.vcf.gz.tbi")
    scan_fails(truncated, tmp_path / "out", match="is truncated")


@pytest.mark.parametrize("damage", ["genotype", "columns"])
def test_malformed_record_is_located(sweep_vcf, tmp_path, damage):
    def damage_one_record(fields):
        if fields[1] == target:
            if damage == "genotype":
                fields[9] = "0|X"
            else:
                del fields[20:]
        return fields

    with gzip.open(sweep_vcf, "rt") as handle:
        records = [line.split("\t", 2)[1] for line in handle if not line.startswith("#")]
    target, previous = records[1000], records[999]
    broken = edited_copy(sweep_vcf, tmp_path / "broken.vcf.gz", damage_one_record)
    line = scan_fails(broken, tmp_path / "out", match=f"a record after chr1:{previous} cannot "
                                                      f"be parsed")
    assert "bcftools view" in line
