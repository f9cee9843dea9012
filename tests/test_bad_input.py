"""Bad input: one clear line naming the problem and the fix, exit code 1, no output left."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest
from test_readers import damage_a_middle_block

from conftest import BUNDLED_MODEL, ROOT, run_cli


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


@pytest.mark.parametrize("region, match", [
    ("chr1:500-100", "region 'chr1:500-100' is empty: its end is not after its start"),
    ("chr1:x-y", "cannot parse region 'chr1:x-y': 'x-y' after the contig is not START-END"),
    ("chr1:0-100", "region 'chr1:0-100': positions are 1-based"),
    ("chr1:,", "cannot parse region 'chr1:,': ',' after the contig is not START-END"),
    (":100-200", "region ':100-200' has no contig name"),
])
def test_malformed_regions(sweep_vcf, tmp_path, region, match):
    scan_fails(sweep_vcf, tmp_path / "out", "--region", region, match=match)


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
    def files() -> dict[str, bytes]:  # jbrowse/ is a folder
        return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    before = files()
    unphased = unphased_after_1mb(sweep_vcf, tmp_path / "unphased.vcf.gz")
    result = run_cli("scan", "--vcf", unphased, "--model", BUNDLED_MODEL, "-q", "-o", out,
                     check=False)
    assert result.returncode == 1 and "unphased" in result.stderr
    assert files() == before


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


def sliced(vcf: Path, dest: Path, last: int) -> Path:
    """The records of ``vcf`` up to position ``last``, bgzipped and indexed at ``dest``."""
    with gzip.open(vcf, "rt") as handle:
        lines = [line for line in handle
                 if line.startswith("#") or int(line.split("\t", 2)[1]) <= last]
    return write_vcf(dest, "".join(lines))


def test_an_index_of_another_file_is_refused(sweep_vcf, tmp_path):
    small = sliced(sweep_vcf, tmp_path / "small.vcf.gz", 100_000)
    large = sliced(sweep_vcf, tmp_path / "large.vcf.gz", 500_000)
    shutil.copy(small.with_name(small.name + ".tbi"), large.with_name(large.name + ".tbi"))
    line = scan_fails(large, tmp_path / "out", match="large.vcf.gz.tbi is not the index of "
                                                      "large.vcf.gz")
    assert "`tabix -f -p vcf large.vcf.gz`" in line and "bcftools index -f" in line


def test_records_past_the_header_length_are_refused(sweep_vcf, tmp_path):
    with gzip.open(sweep_vcf, "rt") as handle:
        text = handle.read().replace("##contig=<ID=chr1,length=2000000>",
                                     "##contig=<ID=chr1,length=1600000>")
    short = write_vcf(tmp_path / "short.vcf.gz", text)
    line = scan_fails(short, tmp_path / "out", match="the records of chr1 go on to chr1:")
    assert "(##contig length=1600000)" in line and "bcftools reheader --fai" in line


def test_dosages_without_gt_are_named(sweep_vcf, tmp_path):
    def dosages(fields):
        fields[8:] = ["DS", *(str(gt.count("1")) for gt in fields[9:])]
        return fields

    with gzip.open(sweep_vcf, "rt") as handle:
        first = next(line for line in handle if not line.startswith("#")).split("\t")[1]
    ds = edited_copy(sweep_vcf, tmp_path / "ds.vcf.gz", dosages)
    scan_fails(ds, tmp_path / "out", match=f"ds.vcf.gz chr1:{first}: no GT (genotype) field, "
                                           f"its FORMAT is DS; the model reads genotypes (GT)")


def test_a_damaged_block_in_the_middle_is_named(sweep_vcf, tmp_path):
    damaged = damage_a_middle_block(sweep_vcf, tmp_path / "damaged.vcf.gz")
    line = scan_fails(damaged, tmp_path / "out", match="damaged.vcf.gz: the compressed data ")
    assert "is damaged" in line and "download or compress it again" in line


def test_plain_gzip_is_told_to_recompress_with_bgzip(sweep_vcf, tmp_path):
    plain_gzip = tmp_path / "gz.vcf.gz"
    plain_gzip.write_bytes(gzip.compress(gzip.decompress(sweep_vcf.read_bytes())))
    line = scan_fails(plain_gzip, tmp_path / "out", match="compressed with plain gzip")
    assert "`zcat gz.vcf.gz | bgzip > gz.vcf.bgz`" in line and "tabix -p vcf" in line


@pytest.mark.parametrize(("option", "value"), [("--window-size", "0"), ("--seed", "-1")])
def test_option_values_that_cannot_work_name_the_option(sweep_vcf, tmp_path, option, value):
    scan_fails(sweep_vcf, tmp_path / "out", option, value, match=f"{option} {value}: must be")


def test_a_contig_named_with_colons_scans_alone_and_its_tracks_read_back(sweep_vcf, tmp_path,
                                                                         bundled_model):
    name = "Mme_chr24:2558528-4558528"
    with gzip.open(sweep_vcf, "rt") as handle:
        text = handle.read().replace("ID=chr1,", f"ID={name},").replace("\nchr1\t", f"\n{name}\t")
    vcf = write_vcf(tmp_path / "silverside.vcf.gz", text)
    whole = bundled_model.scan(vcf, tmp_path / "whole", region=name, progress=False)
    part = bundled_model.scan(vcf, tmp_path / "part", region=f"{name}:1000001-1400000",
                              progress=False)
    assert whole.contigs == part.contigs == [name]
    assert part.windows["start"].min() == 1_000_000 and part.windows["end"].max() <= 1_480_000
    table = next((tmp_path / "whole").glob("*.windows.tsv")).read_text().splitlines()
    rows = [row.split("\t") for row in table if not row.startswith(("#", "contig"))]
    assert {row[0] for row in rows} == {name} and len(rows) == len(whole.windows)
    bigwig = pyBigWig.open(str(next((tmp_path / "whole").glob("*.bw"))))
    assert bigwig.chroms() == {name: 2_000_000}
    scored = whole.scored()
    top = scored[np.argmax(scored["probabilities"][:, 1])]
    assert bigwig.stats(name, int(top["bin_start"]), int(top["bin_end"]))[0] == pytest.approx(
        float(top["probabilities"][1]), abs=1e-6)


UNGUARDED = """
import popgen_hub
model = popgen_hub.load("{model}", device="cpu")
model.scan("{vcf}", "{out}", workers=2, progress=False)
"""


def test_a_script_that_scans_with_workers_needs_the_main_guard(sweep_vcf, tmp_path):
    script = tmp_path / "my_scan.py"
    script.write_text(UNGUARDED.format(model=BUNDLED_MODEL, vcf=sweep_vcf, out=tmp_path / "out"))
    result = subprocess.run([sys.executable, script], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        'popgen_hub.errors.PopgenHubError: my_scan.py, line 4: worker processes (workers > 1) '
        'import this script again, and it scans again at its top level; put the call under '
        '`if __name__ == "__main__":` (or use workers=1)')
    assert "BrokenProcessPool" not in result.stderr and not (tmp_path / "out").exists()


def small_mount(tmp_path: Path, options: str) -> Path:
    """A 24 kB tmpfs (needs root to mount: skipped for other users, a failure for root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"{options},size=24k", "tmpfs",
                             str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        message = f"cannot mount a small tmpfs here ({result.stderr.strip()})"
        pytest.fail(message) if os.geteuid() == 0 else pytest.skip(message)
    return mount


@pytest.fixture
def full_disk(tmp_path):
    """Too small for a scan's outputs."""
    mount = small_mount(tmp_path, "rw")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


@pytest.fixture
def read_only(tmp_path):
    mount = small_mount(tmp_path, "ro")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_one_line_and_leaves_nothing(full_disk):
    line = scan_fails(ROOT / "hub" / "data" / "example_sweep.vcf.gz", full_disk / "out",
                      match="No space left on device")
    assert f"{full_disk / 'out'}: " in line and "free some disk space" in line
    assert list(full_disk.iterdir()) == []


def test_a_read_only_folder_is_one_line(read_only):
    """Root may write anywhere but on a read-only file system."""
    line = scan_fails(ROOT / "hub" / "data" / "example_sweep.vcf.gz", read_only / "out",
                      match="Read-only file system")
    assert str(read_only / "out") in line and "-o" in line
