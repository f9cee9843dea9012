"""A contig whose name holds ':' (the silverside assembly's ``Mme_chr24:2558528-4558528``),
end to end as a user meets it: a bgzipped, CSI-indexed VCF; ``scan`` of the whole file, of a
braced region and of the contig named alone; ``explain``; every file written and every region
printed (printed regions are braced, so they paste back into --region)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pyBigWig
import pysam
import pytest

from conftest import BUNDLED_MODEL, ROOT, needs, run_cli
from popgen_hub.writers.igv import IGV_JAR, render_snapshot

NAME = "Mme_chr24:2558528-4558528"
BRACED = "{Mme_chr24:2558528-4558528}"
LENGTH = 2_000_000  # the bundled example's contig, renamed
PART = (1_000_000, 1_400_000)  # 0-based half-open, around its sweep at 1.2 Mb


@pytest.fixture(scope="module")
def colon_vcf(tmp_path_factory) -> Path:
    """The bundled example VCF with its one contig, chr1, renamed to NAME: bgzipped, CSI
    index."""
    plain = tmp_path_factory.mktemp("colon") / "silverside.vcf"
    with gzip.open(ROOT / "hub" / "data" / "example_sweep.vcf.gz", "rt") as source:
        text = source.read()
    assert f"##contig=<ID=chr1,length={LENGTH}>" in text
    plain.write_text(text.replace("##contig=<ID=chr1,", f"##contig=<ID={NAME},")
                     .replace("\nchr1\t", f"\n{NAME}\t"))
    return Path(pysam.tabix_index(str(plain), preset="vcf", csi=True, force=True))


def scan(vcf: Path, out: Path, *region: str) -> list[str]:
    """``popgen-hub scan`` as a user runs it; its stdout's lines."""
    result = run_cli("scan", "--model", BUNDLED_MODEL, "--vcf", vcf, "-o", out, "--quiet",
                     *(("--region", *region) if region else ()))
    return result.stdout.splitlines()


def table_rows(out: Path) -> tuple[list[str], list[list[str]]]:
    """The window table's header lines and its rows, split at tabs."""
    lines = (out / f"{BUNDLED_MODEL}.windows.tsv").read_text().splitlines()
    return ([line for line in lines if line.startswith("#")],
            [line.split("\t") for line in lines if not line.startswith(("#", "contig\t"))])


def igv_locus(out: Path) -> str:
    """The locus the scan's IGV batch script goes to."""
    (goto,) = [line for line in (out / "igv_batch.txt").read_text().splitlines()
               if line.startswith("goto ")]
    return goto.removeprefix("goto ")


@pytest.fixture(scope="module")
def whole(colon_vcf, tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("whole") / "scan"
    return out, scan(colon_vcf, out)


def test_the_index_is_csi_and_names_the_contig_whole(colon_vcf):
    index = Path(f"{colon_vcf}.csi")
    assert index.is_file() and not Path(f"{colon_vcf}.tbi").exists()
    with pysam.TabixFile(str(colon_vcf), index=str(index)) as tabix:
        assert list(tabix.contigs) == [NAME]


def test_a_scan_without_region_writes_every_file_under_the_whole_name(whole):
    out, stdout = whole
    header, rows = table_rows(out)
    assert f"# regions: {BRACED}:1-1999885" in header
    assert rows and {row[0] for row in rows} == {NAME}
    with pyBigWig.open(str(out / f"{BUNDLED_MODEL}.sweep.bw")) as bigwig:
        assert bigwig.chroms() == {NAME: LENGTH}
        intervals = bigwig.intervals(NAME)
    assert len(intervals) == len(rows)
    assert [(start, end) for start, end, _ in intervals] == [(int(r[3]), int(r[4])) for r in rows]
    assert (out / "scan.chrom.sizes").read_text() == f"{NAME}\t{LENGTH}\n"
    bed = (out / f"{BUNDLED_MODEL}.flagged.bed").read_text().splitlines()
    assert bed[0].startswith("track ")
    assert all(line.split("\t")[0] == NAME for line in bed[1:])
    # the whole name, then the range after its last ':', which IGV reads (see writers.igv)
    assert re.fullmatch(re.escape(NAME) + r":\d+-\d+", igv_locus(out))


def test_printed_top_windows_are_braced_and_paste_back_into_region(whole, colon_vcf, tmp_path):
    _, stdout = whole
    tops = [line.split()[0] for line in stdout if line.startswith("  {")]
    assert len(tops) == 5 and all(top.startswith(f"{BRACED}:") for top in tops)
    pasted = scan(colon_vcf, tmp_path / "top", tops[0])
    header, rows = table_rows(tmp_path / "top")
    assert f"# regions: {tops[0]}" in header and len(rows) == 1
    assert any(line.startswith(f"  {tops[0]}  ") for line in pasted)


@pytest.mark.parametrize("region", [f"{BRACED}:{PART[0] + 1}-{PART[1]}",
                                    f"{NAME}:{PART[0] + 1}-{PART[1]}"])
def test_a_region_of_the_contig_scans_that_part(colon_vcf, tmp_path, region):
    out = tmp_path / "part"
    scan(colon_vcf, out, region)
    header, rows = table_rows(out)
    assert f"# regions: {BRACED}:{PART[0] + 1}-{PART[1]}" in header
    assert {row[0] for row in rows} == {NAME}
    assert min(int(row[1]) for row in rows) == PART[0]
    assert igv_locus(out) == f"{NAME}:{PART[0] + 1}-{PART[1]}"
    with pyBigWig.open(str(out / f"{BUNDLED_MODEL}.sweep.bw")) as bigwig:
        assert bigwig.chroms() == {NAME: LENGTH}


@pytest.mark.parametrize("region", [NAME, BRACED])
def test_the_contig_named_alone_is_the_whole_contig(colon_vcf, whole, tmp_path, region):
    out = tmp_path / "alone"
    scan(colon_vcf, out, region)
    assert table_rows(out) == table_rows(whole[0])


def test_explain_prints_and_writes_braced_regions(colon_vcf, tmp_path):
    pytest.importorskip("matplotlib")
    window = f"{BRACED}:1230001-1310000"
    result = run_cli("explain", BUNDLED_MODEL, "--vcf", colon_vcf, "--region", window,
                     "-o", tmp_path / "explain")
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{window}  log-odds P(sweep)")
    assert lines[1].startswith(f"  strongest column block: {BRACED}:")
    (table,) = (tmp_path / "explain").glob("*.tsv")
    text = table.read_text().splitlines()
    assert f" in {window}; " in text[0]
    assert {row.split("\t")[0] for row in text[2:]} == {NAME}
    assert {path.suffix for path in (tmp_path / "explain").iterdir()} == {".tsv", ".npz", ".png"}


def test_igv_goes_to_the_locus_of_the_batch_script(colon_vcf, tmp_path):
    """IGV desktop itself reads the script's locus: its saved session shows where it went."""
    needs("java", "xvfb-run")
    if not IGV_JAR.is_file():
        pytest.skip(f"IGV desktop not installed ({IGV_JAR}); `make test` installs it")
    out = tmp_path / "part"
    scan(colon_vcf, out, f"{BRACED}:{PART[0] + 1}-{PART[1]}")
    session = tmp_path / "session.xml"
    batch = tmp_path / "batch.txt"
    batch.write_text((out / "igv_batch.txt").read_text() + f"saveSession {session}\n")
    render_snapshot(batch, tmp_path / "shot.png", genome=out / "scan.chrom.sizes")
    locus = re.search(r'locus="([^"]*)"', session.read_text())[1]
    name, _, span = locus.rpartition(":")
    start, end = map(int, span.split("-"))
    # IGV saves one base before the start it was given
    assert name == NAME and abs(start - PART[0]) <= 1 and end == PART[1]
