"""Fuzzing what users feed popgen-hub (hypothesis): whatever the input, each reader returns a
valid result or raises ``PopgenHubError`` with one line; no other exception escapes and htslib
never takes the process down. Benign rewrites of a VCF (CRLF line endings, header lines in
another order, other ID/QUAL/FILTER/INFO values, extra FORMAT fields) give the very same windows.

Text formats are read in this process. Whatever goes through htslib (mutated VCFs, regions,
damaged compressed files) runs in a worker process that answers one example at a time and is
restarted after a crash or a hang, each of which fails its example; a few mutated VCFs also go
through the real command line. ``EXAMPLES`` gives each test's number of
generated inputs; ``POPGEN_HUB_FUZZ=10`` (``make fuzz``) multiplies them. The default run
(``make test``, CI) draws the same inputs every time; ``make fuzz`` draws new ones, keeps the
failing ones in ``.pytest_cache/hypothesis`` and replays them first on the next run.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import itertools
import json
import math
import os
import random
import select
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pysam
import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

import popgen_hub
import popgen_hub.cli
from conftest import BUNDLED_MODEL, ROOT, example_vcf_lines, run_cli
from popgen_hub.contract import ModelContract
from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes import parse_region
from popgen_hub.readers import SampleSelection, haplotype_columns, open_reader
from popgen_hub.readers.samples import read_samples
from popgen_hub.simulate.importers import read_ms

SCALE = max(1, int(os.environ.get("POPGEN_HUB_FUZZ") or 1))
#: generated inputs per test in the default run (x SCALE); >= 10,000 together
EXAMPLES = {
    "region_text": 2500,
    "region_round_trip": 1000,
    "region_in_vcf": 500,
    "vcf_round_trip": 200,
    "vcf_mutations": 2200,
    "vcf_compressed_bytes": 300,
    "vcf_cli": 12,
    "sample_table_round_trip": 300,
    "sample_table_mutations": 1500,
    "ms_round_trip": 300,
    "ms_mutations": 1500,
    "contract": 1000,
    "onnx_metadata": 80,
    "dataset": 400,
    "invariance": 15,  # per rewrite; each scores the VCF (~0.3 s)
}
DATABASE = DirectoryBasedExampleDatabase(ROOT / ".pytest_cache" / "hypothesis")
EXAMPLE_VCF = ROOT / "tests" / "data" / "example_sweep.vcf.gz"
CONFIG = ROOT / "hub" / "pretrained" / BUNDLED_MODEL / "config.json"


def fuzz(name: str, shrink: bool = True):
    """The settings of a test; ``shrink=False`` for tests whose examples take a second: a
    failure is reported as found, not shrunk for minutes."""
    phases = list(Phase) if shrink else [p for p in Phase if p != Phase.shrink]
    # `make test` (CI) draws the same inputs every run, so a pass is reproducible and CI cannot
    # fail on a new draw; `make fuzz` draws new ones each time, to find new cases
    deterministic = SCALE == 1
    return settings(max_examples=EXAMPLES[name] * SCALE, deadline=None,
                    derandomize=deterministic, database=None if deterministic else DATABASE,
                    print_blob=True, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.large_base_example])


def assert_one_line(exc: PopgenHubError) -> None:
    text = str(exc)
    assert text.strip(), f"an empty message ({type(exc).__name__})"
    assert "\n" not in text and "\r" not in text, f"a message of several lines: {text!r}"


@contextlib.contextmanager
def valid_or_refused() -> Iterator[None]:
    """The property: the block completes (its own asserts check the result), or it raises
    PopgenHubError with one line. Any other exception fails the test as it is."""
    try:
        yield
    except PopgenHubError as exc:
        note(f"refused: {exc}")
        assert_one_line(exc)


class Scratch:
    """A fresh folder per example (the previous example's files are removed)."""

    def __init__(self, root: Path) -> None:
        self.root, self.count = root, 0

    def new(self) -> Path:
        shutil.rmtree(self.root / str(self.count), ignore_errors=True)
        self.count += 1
        folder = self.root / str(self.count)
        folder.mkdir(parents=True)
        return folder


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Scratch:
    return Scratch(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module", autouse=True)
def crash_logs_here(tmp_path_factory) -> Iterator[None]:
    """The crash logs of exit 3 (in process, in the worker, in subprocesses) go to a temporary
    folder, not the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


# ------------------------------------------------------------------------- VCF text
SAMPLES = [f"s{i}" for i in range(6)]
CONTIGS = {"chr1": 100_000, "chr2": None}  # chr2's header line gives no length
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"
HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=chr1,length=100000>",
    "##contig=<ID=chr2>",
    '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
    '##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">',
    '##FILTER=<ID=q10,Description="Quality below 10">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
    "##source=popgen-hub tests",
]


def small_vcf_lines(seed: int = 7) -> list[str]:
    """2 contigs, 30 records (20 + 10), 6 diploid phased samples; a few non-SNPs."""
    rng = random.Random(seed)
    lines = HEADER + [COLUMNS + "\t" + "\t".join(SAMPLES)]
    for contig, n, span in (("chr1", 20, 100_000), ("chr2", 10, 60_000)):
        for position in sorted(rng.sample(range(1, span), n)):
            ref, alt = rng.sample("ACGT", 2)
            if rng.random() < 0.1:
                alt = rng.choice([ref + alt, f"{alt},{rng.choice('ACGT')}"])
            calls = [f"{rng.randint(0, 1)}|{rng.randint(0, 1)}" for _ in SAMPLES]
            lines.append(f"{contig}\t{position}\trs{position}\t{ref}\t{alt}\t50\tPASS\t"
                         f"AF=0.5\tGT\t" + "\t".join(calls))
    return lines


SMALL_VCF = small_vcf_lines()
N_HEADER = len(HEADER) + 1


def write_indexed(folder: Path, content: bytes, name: str = "input.vcf") -> Path:
    """bgzip ``content`` and index it with tabix when tabix can (a file it cannot index is
    left without an index, which the reader must report)."""
    plain = folder / name
    plain.write_bytes(content)
    compressed = folder / f"{name}.gz"
    pysam.tabix_compress(str(plain), str(compressed), force=True)
    plain.unlink()
    with contextlib.suppress(OSError, ValueError):
        pysam.tabix_index(str(compressed), preset="vcf", force=True)
    return compressed


def note_changes(base: list[str], content: bytes) -> None:
    """The changed lines of a mutated file, for the report of a failing example."""
    changed = difflib.unified_diff(base, content.decode(errors="backslashreplace").split("\n"),
                                   lineterm="", n=0)
    note("changes:\n" + "\n".join(line[:200] for line in itertools.islice(changed, 2, 40)))


def check_blocks(reader: Any, region: Any, selection: SampleSelection) -> np.ndarray:
    """Read a region; every block well formed; the positions read, in order."""
    stats = reader.new_stats()
    found = []
    for block in reader.blocks(region, selection, stats=stats):
        assert block.kind == "haplotypes"
        assert block.values.dtype == np.int8
        assert block.values.shape == (len(block.positions), len(selection.columns))
        assert np.isin(block.values, (-1, 0, 1)).all(), f"alleles {np.unique(block.values)}"
        found.append(np.asarray(block.positions))
    positions = np.concatenate(found) if found else np.zeros(0, np.int64)
    assert (np.diff(positions) > 0).all(), "positions out of order or repeated"
    assert ((positions >= region.start) & (positions < region.end)).all(), \
        f"positions {positions.min()}..{positions.max()} outside {region}"
    assert stats.kept == len(positions)
    return positions


def check_region(reader: Any, region: Any) -> None:
    assert region.contig in reader.contigs
    assert 0 <= region.start < region.end, region
    length = reader.contig_lengths.get(region.contig)
    assert length is None or region.end <= length, f"{region} beyond {length:,} bp"


def read_everything(path: Path) -> None:
    """What a scan reads: samples, ploidy, every contig's extent and all its sites."""
    reader = open_reader(path)
    assert reader.samples and len(set(reader.samples)) == len(reader.samples), reader.samples
    assert all(isinstance(s, str) and s for s in reader.samples)
    columns = haplotype_columns(reader)
    assert columns, "no haplotypes"
    selection = SampleSelection(tuple(columns))
    for contig in reader.contigs_with_records():
        region = reader.contig_region(contig)
        check_region(reader, region)
        check_blocks(reader, region, selection)


@st.composite
def vcf_field(draw) -> str:
    return draw(st.one_of(
        st.sampled_from([".", "", "0", "-1", "1", "2147483647", "2147483648", "99999999999",
                         "1e3", "nan", "A", "N", "AC", "A,G", "<DEL>", "*", "X", "0|1", "0/1",
                         "GT", "GT:DP", "DP", "PASS", "AF=x", "AF=0.5,0.2", ";", "=", ":",
                         "chr3", "chr1", "é", " ", "\t", "0|1\t1|0", "\x00"]),
        st.text(max_size=12)))


GENOTYPES = ["0|0", "0|1", "1|0", "1|1", "0/1", "1/1", ".|.", ".", "./.", "0|.", ".|1", "0",
             "1", "2|0", "0|2", "3|3", "0|0|1", "0|1|1|0", "-1|0", "01|1", "0||1", "|", "/",
             "0|1:12", "0|1:", ":", "a|b", "1|0|", "0\\1", "65536|0", "0|1 ", ""]


def _record_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if not line.startswith("#")] or [len(lines) - 1]


def mutate_field(draw, lines: list[str]) -> list[str]:
    i = draw(st.sampled_from(_record_lines(lines)))
    fields = lines[i].split("\t")
    k = draw(st.integers(0, len(fields) - 1))
    fields[k] = draw(vcf_field())
    lines[i] = "\t".join(fields)
    return lines


def mutate_genotype(draw, lines: list[str]) -> list[str]:
    i = draw(st.sampled_from(_record_lines(lines)))
    fields = lines[i].split("\t")
    if len(fields) > 9:
        k = draw(st.integers(9, len(fields) - 1))
        fields[k] = draw(st.one_of(st.sampled_from(GENOTYPES), st.text(max_size=6)))
    lines[i] = "\t".join(fields)
    return lines


def mutate_columns(draw, lines: list[str]) -> list[str]:
    """Fewer or more columns in a record (or in the #CHROM line)."""
    i = draw(st.sampled_from(_record_lines(lines) + [min(N_HEADER, len(lines)) - 1]))
    fields = lines[i].split("\t")
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(fields)))
        fields = fields[:cut]
    else:
        fields += draw(st.lists(st.sampled_from(["0|1", "s0", "s9", ".", "x"]), min_size=1,
                                max_size=3))
    lines[i] = "\t".join(fields)
    return lines


HEADER_LINES = [
    "##contig=<ID=chr1,length=10>", "##contig=<ID=chr1,length=0>", "##contig=<ID=chr1,length=-5>",
    "##contig=<ID=chr1,length=abc>", "##contig=<ID=chr1,length=99999999999999>",
    "##contig=<ID=,length=5>", "##contig=<ID=chr1:2-3,length=5>", "##contig=<>", "##contig=",
    '##FORMAT=<ID=GT,Number=1,Type=Integer,Description="Genotype">',
    '##FORMAT=<ID=GT,Number=2,Type=Float,Description="x">', '##INFO=<ID=AF,Number=A,Type=Flag>',
    "##fileformat=VCFv9.9", "##fileformat=", "#", "##", "##INFO=<ID=AF", "## free text",
    "##FORMAT=<>", "##FILTER=<ID=PASS,Description=\"All\">", "#CHROM\tPOS",
]


def mutate_header(draw, lines: list[str]) -> list[str]:
    i = draw(st.integers(0, min(N_HEADER, len(lines)) - 1))
    action = draw(st.sampled_from(["delete", "replace", "insert", "samples"]))
    if action == "delete":
        del lines[i]
    elif action == "replace":
        lines[i] = draw(st.one_of(st.sampled_from(HEADER_LINES), st.text(max_size=30)))
    elif action == "insert":
        lines.insert(i, draw(st.one_of(st.sampled_from(HEADER_LINES), st.text(max_size=30))))
    else:  # the sample names: a duplicate, an empty one, odd characters
        chrom = next((k for k, line in enumerate(lines) if line.startswith("#CHROM")), None)
        if chrom is not None:
            fields = lines[chrom].split("\t")
            if len(fields) > 9:
                k = draw(st.integers(9, len(fields) - 1))
                fields[k] = draw(st.one_of(st.sampled_from(["s0", "s1", "", " ", "a b", "ä",
                                                            "s0\r", "#", "0"]),
                                           st.text(max_size=5)))
            lines[chrom] = "\t".join(fields)
    return lines


def mutate_lines(draw, lines: list[str]) -> list[str]:
    """Delete, duplicate or swap whole lines (header or records)."""
    i = draw(st.integers(0, len(lines) - 1))
    action = draw(st.sampled_from(["delete", "duplicate", "swap"]))
    if action == "delete" and len(lines) > 1:
        del lines[i]
    elif action == "duplicate":
        lines.insert(i, lines[i])
    else:
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    return lines


LINE_MUTATIONS = [mutate_field, mutate_genotype, mutate_columns, mutate_header, mutate_lines]


@st.composite
def mutated_vcf(draw, base: list[str] = SMALL_VCF) -> bytes:
    lines = list(base)
    for _ in range(draw(st.integers(1, 3))):
        lines = draw(st.sampled_from(LINE_MUTATIONS))(draw, lines)
    return damaged_text(draw, lines)


def damaged_text(draw, lines: list[str]) -> bytes:
    """The lines as UTF-8 text, left whole or damaged: cut short, with up to 8 bytes
    overwritten by random ones, or in another encoding (UTF-16)."""
    data = ("\n".join(lines) + "\n").encode()
    damage = draw(st.sampled_from(["none", "none", "truncate", "bytes", "utf-16"]))
    if damage == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif damage == "bytes":
        at = draw(st.integers(0, len(data)))
        junk = draw(st.binary(min_size=1, max_size=8))
        data = data[:at] + junk + data[at + draw(st.integers(0, 8)):]
    elif damage == "utf-16":
        data = data.decode().encode("utf-16")
    return data


# ------------------------------------------------------------------------- the worker
WORKER = r"""
import json, sys, traceback
sys.path.insert(0, sys.argv[1])
import test_fuzz
from popgen_hub.errors import PopgenHubError

print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    try:
        answer = {"ok": getattr(test_fuzz, "worker_" + request["call"])(*request["args"])}
    except PopgenHubError as exc:
        answer = {"refused": str(exc)}
    except BaseException:
        answer = {"bug": traceback.format_exc()}
    print(json.dumps(answer), flush=True)
"""


class Worker:
    """A process that runs this module's ``worker_*`` functions one request at a time, so that
    a crash or a hang in htslib fails one example, not the test run; restarted after either."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.process, self.starts = folder, None, 0

    def start(self) -> None:
        self.starts += 1
        self.log = self.folder / f"worker-{self.starts}.stderr"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", WORKER, str(Path(__file__).parent)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.process.stdout.readline().strip() == "ready", self.log.read_text()

    def call(self, name: str, *args: Any, timeout: float = 30) -> dict[str, Any]:
        """{"ok": result}, {"refused": message}, or what went wrong: "bug" (another
        exception, with its traceback), "crash" or "hang"."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        self.process.stdin.write(json.dumps({"call": name, "args": args}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.process.kill()
            self.process.wait()
            self.process = None
            return {"hang": f"{name}{tuple(args)} did not return in {timeout:g} s"}
        answer = self.process.stdout.readline()
        if not answer:
            code = self.process.wait()
            self.process = None
            tail = self.log.read_text(errors="replace")[-2000:]
            return {"crash": f"the process died (exit {code}) in {name}{tuple(args)}; "
                             f"stderr:\n{tail}"}
        return json.loads(answer)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


def assert_valid_or_refused(answer: dict[str, Any]) -> None:
    for problem in ("crash", "hang", "bug"):
        assert problem not in answer, answer[problem]
    if "refused" in answer:
        assert_one_line(PopgenHubError(answer["refused"]))


@pytest.fixture(scope="module")
def worker(tmp_path_factory) -> Iterator[Worker]:
    process = Worker(tmp_path_factory.mktemp("worker"))
    yield process
    process.stop()


def worker_read(path: str) -> None:
    read_everything(Path(path))


def worker_region(path: str, text: str, grid: int) -> None:
    reader = open_reader(path)
    region = reader.region(text, grid=grid)
    check_region(reader, region)
    check_blocks(reader, region, SampleSelection(tuple(haplotype_columns(reader))))


_MODELS: dict[str, Any] = {}


def worker_score(path: str, region: str | None) -> int:
    if "model" not in _MODELS:
        _MODELS["model"] = popgen_hub.load(BUNDLED_MODEL, device="cpu", threads=1)
    return len(_MODELS["model"].score(path, region=region, progress=False).windows)


# ------------------------------------------------------------------------- regions
REGION_PARTS = st.fixed_dictionaries({
    "contig": st.one_of(st.sampled_from(["chr1", "chr2", "1", "2", "chr3", "CHR1", "chr1 ",
                                         "", " ", "chr", "chr1:1", "*", "."]),
                        st.text(max_size=6)),
    "start": st.one_of(st.none(), st.integers(-5, 3 * 10**5), st.integers(0, 10**25),
                       st.sampled_from(["", "0", "1", "1,000", ",", "1,,0", "-1", "x", " 1",
                                        "1e3", "１", "2147483648", "4294967297"])),
    "end": st.one_of(st.none(), st.integers(-5, 3 * 10**5), st.integers(0, 10**25),
                     st.sampled_from(["", "0", "100,000", "-", "x", "2147483647",
                                      "9223372036854775808"])),
    "separators": st.sampled_from([(":", "-"), (":", ""), ("", "-"), ("-", ":"), (":", ".."),
                                   (":", "_"), (": ", " - "), ("::", "-")]),
})


def region_text(parts: dict[str, Any]) -> str:
    colon, dash = parts["separators"]
    text = parts["contig"]
    if parts["start"] is not None or parts["end"] is not None:
        text += colon + ("" if parts["start"] is None else str(parts["start"]))
        if parts["end"] is not None:
            text += dash + str(parts["end"])
    return text


REGIONS = st.one_of(REGION_PARTS.map(region_text), st.text(max_size=20))


@fuzz("region_text")
@given(text=REGIONS)
def test_region_text_parses_or_is_refused(text):
    with valid_or_refused():
        contig, start, end = parse_region(text)
        assert isinstance(contig, str) and contig.strip(), repr(contig)
        assert start is None or (isinstance(start, int) and start >= 0)
        assert end is None or (isinstance(end, int) and end >= 1)
        assert start is None or end is None or start < end


@fuzz("region_round_trip")
@given(contig=st.sampled_from(["chr1", "chr2", "X", "scaffold_12.1", "HLA-A"]),
       start=st.integers(1, 10**12), length=st.integers(1, 10**6), commas=st.booleans())
def test_a_well_written_region_parses_to_its_interval(contig, start, length, commas):
    end = start + length - 1
    text = f"{contig}:{start:,}-{end:,}" if commas else f"{contig}:{start}-{end}"
    assert parse_region(text) == (contig, start - 1, end)


@pytest.fixture(scope="module")
def small_vcf(tmp_path_factory) -> Path:
    return write_indexed(tmp_path_factory.mktemp("small"), ("\n".join(SMALL_VCF) + "\n").encode())


@fuzz("region_in_vcf", shrink=False)
@given(text=REGIONS, grid=st.sampled_from([1, 1, 7, 1000, 10**6]))
def test_any_region_of_a_vcf_reads_or_is_refused(worker, small_vcf, text, grid):
    assert_valid_or_refused(worker.call("region", str(small_vcf), text, grid, timeout=10))


# ------------------------------------------------------------------------- VCFs
def test_the_small_vcf_is_valid(small_vcf):
    read_everything(small_vcf)
    reader = open_reader(small_vcf)
    assert reader.contigs_with_records() == ["chr1", "chr2"]


@st.composite
def vcf_records(draw) -> tuple[list[str], dict[str, Any]]:
    """A valid VCF (6 diploid samples on chr1) and what the reader must give for it."""
    positions = draw(st.lists(st.integers(1, 99_999), min_size=1, max_size=25, unique=True))
    positions.sort()
    calls = {"0|0": (0, 0), "0|1": (0, 1), "1|0": (1, 0), "1|1": (1, 1), ".|.": (-1, -1),
             ".": (-1, -1), "0|.": (0, -1), ".|1": (-1, 1), "0/0": (0, 0), "1/1": (1, 1)}
    lines = HEADER + [COLUMNS + "\t" + "\t".join(SAMPLES)]
    kept, haplotypes, skipped = [], [], {"not_snp": 0, "multiallelic": 0,
                                         "duplicate_position": 0}
    last = None
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    for position in positions:
        for _ in range(rng.choice([1, 1, 1, 2])):  # sometimes two records at one position
            ref, alt, other = rng.sample("ACGT", 3)
            kind = rng.choice(["snp"] * 6 + ["indel", "multiallelic", "symbolic"])
            alt = {"snp": alt, "indel": ref + alt, "multiallelic": f"{alt},{other}",
                   "symbolic": "<DEL>"}[kind]
            first = len(lines) == N_HEADER  # diploid calls first: ploidy is read from them
            choices = sorted(c for c in calls if c != "." or not first)
            genotypes = [rng.choice(choices) for _ in SAMPLES]
            lines.append(f"chr1\t{position}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t"
                         + "\t".join(genotypes))
            if kind != "snp":
                skipped["multiallelic" if kind == "multiallelic" else "not_snp"] += 1
            elif last == position:
                skipped["duplicate_position"] += 1
            else:
                kept.append(position - 1)
                haplotypes.append([a for g in genotypes for a in calls[g]])
                last = position
    return lines, {"positions": kept, "haplotypes": haplotypes, "skipped": skipped}


@fuzz("vcf_round_trip")
@given(vcf=vcf_records())
def test_a_valid_vcf_reads_back_exactly(scratch, vcf):
    lines, expected = vcf
    path = write_indexed(scratch.new(), ("\n".join(lines) + "\n").encode())
    reader = open_reader(path)
    assert reader.ploidies.tolist() == [2] * len(SAMPLES)
    if not expected["positions"]:
        assume(False)
    region = reader.region("chr1")
    stats = reader.new_stats()
    blocks = list(reader.blocks(region, SampleSelection(tuple(haplotype_columns(reader))),
                                stats=stats))
    positions = np.concatenate([b.positions for b in blocks])
    values = np.concatenate([b.values for b in blocks])
    assert positions.tolist() == expected["positions"]
    assert values.tolist() == expected["haplotypes"]
    assert stats.kept == len(expected["positions"])
    assert {k: v for k, v in stats.skipped.items() if v} == \
        {k: v for k, v in expected["skipped"].items() if v}


def small_vcf_with(edit: Callable[[list[str]], None]) -> bytes:
    lines = list(SMALL_VCF)
    edit(lines)
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogateescape")


#: mutated VCFs that failed once, kept as tests of their own
FOUND = {
    "absurd contig length": small_vcf_with(
        lambda lines: lines.insert(1, "##contig=<ID=chr1,length=99999999999999>")),
    "sample name not UTF-8": small_vcf_with(
        lambda lines: lines.__setitem__(N_HEADER - 1, lines[N_HEADER - 1].replace(
            "\ts0\t", "\ts\udce9\t"))),
    "FORMAT '.'": small_vcf_with(
        lambda lines: lines.__setitem__(N_HEADER, lines[N_HEADER].replace("\tGT\t", "\t.\t"))),
}


@fuzz("vcf_mutations", shrink=False)
@given(content=mutated_vcf())
def test_a_mutated_vcf_reads_or_is_refused(worker, scratch, content):
    note_changes(SMALL_VCF, content)
    path = write_indexed(scratch.new(), content)
    note(f"files: {sorted(p.name for p in path.parent.iterdir())}")
    assert_valid_or_refused(worker.call("read", str(path), timeout=10))


@pytest.mark.parametrize("found", sorted(FOUND))
def test_mutated_vcfs_found_before_read_or_are_refused(worker, tmp_path, found):
    path = write_indexed(tmp_path, FOUND[found])
    assert_valid_or_refused(worker.call("read", str(path), timeout=10))


# ------------------------------------------------------------------------- risky bytes
@pytest.fixture(scope="module")
def scan_inputs(tmp_path_factory) -> dict[str, Path]:
    """A VCF.gz (two BGZF blocks' worth) with its index, and the same as an indexed BCF."""
    folder = tmp_path_factory.mktemp("scan_inputs")
    vcf = write_indexed(folder, ("\n".join(example_vcf_lines(500)) + "\n").encode())
    bcf = folder / "input.bcf"
    with pysam.VariantFile(str(vcf)) as source, \
            pysam.VariantFile(str(bcf), "wb", header=source.header) as target:
        for record in source:
            target.write(record)
    from pysam import bcftools

    bcftools.index(str(bcf))  # a .csi beside it
    return {"vcf": vcf, "bcf": bcf}


@st.composite
def damaged_copy(draw, inputs: dict[str, Path]) -> dict[str, Any]:
    """Which file (the VCF or the BCF, or its index) is damaged, and how."""
    kind = draw(st.sampled_from(["vcf", "vcf", "bcf"]))
    target = draw(st.sampled_from(["data", "data", "data", "index"]))
    action = draw(st.sampled_from(["flip", "overwrite", "truncate", "delete", "duplicate"]))
    return {"kind": kind, "target": target, "action": action,
            "at": draw(st.floats(0, 1)), "size": draw(st.integers(1, 64)),
            "junk": draw(st.binary(min_size=1, max_size=64)),
            "region": draw(st.sampled_from([None, "chr1:1-100000", "chr1:40000-200000"]))}


def damage(data: bytes, spec: dict[str, Any]) -> bytes:
    at = min(int(spec["at"] * len(data)), max(len(data) - 1, 0))
    size, junk = spec["size"], spec["junk"]
    if spec["action"] == "flip":
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:] if data else data
    if spec["action"] == "overwrite":
        return data[:at] + junk + data[at + len(junk):]
    if spec["action"] == "truncate":
        return data[:at]
    if spec["action"] == "delete":
        return data[:at] + data[at + size:]
    return data[:at] + data[at:at + size] * 2 + data[at + size:]


def copy_with_damage(inputs: dict[str, Path], spec: dict[str, Any], folder: Path) -> Path:
    source = inputs[spec["kind"]]
    index = next(source.parent.glob(source.name + ".[ct][sb]i"))
    copy, index_copy = folder / source.name, folder / index.name
    data, index_data = source.read_bytes(), index.read_bytes()
    if spec["target"] == "data":
        data = damage(data, spec)
    else:
        index_data = damage(index_data, spec)
    copy.write_bytes(data)
    index_copy.write_bytes(index_data)
    return copy


def test_the_scan_inputs_score(worker, scan_inputs):
    for path in scan_inputs.values():
        answer = worker.call("score", str(path), "chr1:1-100000")
        assert answer.get("ok", 0) > 0, answer


@fuzz("vcf_compressed_bytes", shrink=False)
@given(data=st.data())
def test_damaged_compressed_files_are_refused_without_a_crash(worker, scan_inputs, scratch,
                                                               data):
    spec = data.draw(damaged_copy(scan_inputs))
    path = copy_with_damage(scan_inputs, spec, scratch.new())
    note(f"{spec['kind']} {spec['target']} {spec['action']}")
    answer = worker.call("score", str(path), spec["region"], timeout=60)
    event(f"{spec['kind']} {spec['target']}: {'scored' if 'ok' in answer else 'refused'}")
    assert_valid_or_refused(answer)


HTSLIB_LINE = ("[E::", "[W::")


def our_lines(stderr: str) -> list[str]:
    """The lines popgen-hub printed: htslib's own diagnostics (``[E::...]``, and the lines
    it indents under one, e.g. the header line it could not parse) left out."""
    lines, in_htslib = [], False
    for line in stderr.splitlines():
        in_htslib = line.startswith(HTSLIB_LINE) or (in_htslib and line[:1] in ("\t", " "))
        if line.strip() and not in_htslib:
            lines.append(line)
    return lines


CLI_BASE = example_vcf_lines(300)


@fuzz("vcf_cli", shrink=False)
@given(content=mutated_vcf(base=CLI_BASE))
def test_mutated_vcfs_through_the_command_line(scratch, content):
    note_changes(CLI_BASE, content)
    folder = scratch.new()
    path = write_indexed(folder, content)
    out = folder / "out"
    result = run_cli("scan", "--vcf", path, "--model", BUNDLED_MODEL, "-o", out, "-q",
                     "--region", "chr1:1-100000", check=False, timeout=120)
    note(result.stderr)
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1), f"exit {result.returncode}: {result.stderr}"
    if result.returncode == 1:
        lines = our_lines(result.stderr)
        assert len(lines) == 1 and lines[0].startswith("popgen-hub scan: error: "), \
            result.stderr
        assert not out.exists(), "output left behind"


# ------------------------------------------------------------------------- sample tables
NAME_CHARS = "abcxyzABCXYZ0129_-.:;,/|()[]'\"=+*?!@$%&~^`<>éüßΩжअ中🙂"
VALID_TABLES = st.dictionaries(
    st.text(NAME_CHARS, min_size=1, max_size=8),
    st.one_of(st.integers(0, 50_000).map(float),
              st.floats(0, 1e6, allow_nan=False, allow_infinity=False)),
    min_size=1, max_size=12)


def format_table(ages: dict[str, float], columns: tuple[str, str], sep: str,
                 extra: bool, eol: str) -> str:
    header = [*columns, "group"] if extra else list(columns)
    lines = [sep.join(header)]
    for sample, age in ages.items():
        row = {"sample": sample, "age_years": repr(age)}
        lines.append(sep.join([*(row[c] for c in columns), "x"] if extra else
                              [row[c] for c in columns]))
    return eol.join(lines) + eol


@fuzz("sample_table_round_trip")
@given(ages=VALID_TABLES, sep=st.sampled_from(["\t", " ", "  "]), extra=st.booleans(),
       eol=st.sampled_from(["\n", "\r\n"]), swap=st.booleans())
def test_a_valid_sample_table_reads_back(scratch, ages, sep, extra, eol, swap):
    columns = ("age_years", "sample") if swap else ("sample", "age_years")
    path = scratch.new() / "ages.tsv"
    path.write_bytes(format_table(ages, columns, sep, extra, eol).encode())
    table = read_samples(path, need_ages=True)
    assert table.samples == tuple(ages) and table.ages == ages


AGES = st.one_of(st.floats().map(repr), st.integers().map(str), st.sampled_from(
    ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-0", "", "NA", "1,5", "0x10",
     "١٢", "½", "1_000", " 5 ", "5years", "None", "-1"]))


@st.composite
def mutated_table(draw) -> bytes:
    ages = draw(VALID_TABLES)
    lines = format_table(ages, ("sample", "age_years"), "\t", False, "\n").splitlines()
    for _ in range(draw(st.integers(1, 3))):
        lines = lines or [""]
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["age", "name", "duplicate", "delete", "columns",
                                       "comment", "header", "text"]))
        fields = lines[i].split("\t")
        if action == "age" and len(fields) > 1:
            fields[1] = draw(AGES)
        elif action == "name":
            fields[0] = draw(st.one_of(st.sampled_from(["", " ", "#x", "a b", "\ufeffs"]),
                                       st.text(max_size=6)))
        elif action == "duplicate":
            lines.append(lines[draw(st.integers(1, len(lines) - 1))] if len(lines) > 1
                         else lines[0])
        elif action == "delete":
            del lines[i]
            continue
        elif action == "columns":
            fields = fields[:draw(st.integers(0, len(fields)))] + draw(
                st.lists(st.sampled_from(["1", "x", "", "age_years"]), max_size=2))
        elif action == "comment":
            lines.insert(i, draw(st.sampled_from(["", "# note", "   ", "#sample\tage_years"])))
            continue
        elif action == "header":
            lines[0] = draw(st.sampled_from(["sample age_years", "sample,age_years",
                                             "Sample\tAge_years", "sample\tage_years\tage_years",
                                             "sample\tsample\tage_years", "\tage_years", ""]))
            continue
        else:
            lines[i] = draw(st.text(max_size=20))
            continue
        lines[i] = "\t".join(fields)
    text = "\n".join(lines) + "\n"
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "latin-1",
                                                     "bytes"]))
    if encoding == "bytes":
        return text.encode() + draw(st.binary(min_size=1, max_size=16))
    return text.encode(encoding, errors="replace")


def check_ages(ages: Any) -> None:
    assert isinstance(ages, dict) and ages
    for sample, age in ages.items():
        assert isinstance(sample, str) and sample == sample.strip() and sample, repr(sample)
        assert isinstance(age, float) and math.isfinite(age) and age >= 0, \
            f"{sample}: age {age!r}"


@fuzz("sample_table_mutations")
@given(content=mutated_table(), columns=st.sampled_from([("sample", "age_years"),
                                                         ("Sample", "age_years")]))
def test_a_mutated_sample_table_reads_or_is_refused(scratch, content, columns):
    path = scratch.new() / "ages.tsv"
    path.write_bytes(content)
    with valid_or_refused():
        check_ages(read_samples(path, *columns, need_ages=True).ages)


# ------------------------------------------------------------------------- ms files
@st.composite
def ms_replicates(draw) -> list[tuple[np.ndarray, np.ndarray]]:
    """1-3 replicates of 1-8 haplotypes at 1-12 sites (positions in [0, 1], 4 decimals)."""
    n_haplotypes, n_replicates = draw(st.integers(1, 8)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    replicates = []
    for _ in range(n_replicates):
        n_sites = int(rng.integers(1, 13))
        positions = np.sort(rng.integers(0, 10_001, n_sites)) / 10_000
        matrix = rng.integers(0, 2, (n_haplotypes, n_sites)).astype(np.uint8)
        replicates.append((matrix, positions))
    return replicates


def format_ms(replicates: list[tuple[np.ndarray, np.ndarray]], header: bool = True) -> str:
    lines = ["ms 8 2 -t 5 -s 4", "1 2 3", ""] if header else []
    for matrix, positions in replicates:
        lines += ["//", f"segsites: {matrix.shape[1]}",
                  "positions: " + " ".join(f"{p:.4f}" for p in positions)]
        lines += ["".join(map(str, row)) for row in matrix] + [""]
    return "\n".join(lines) + "\n"


@fuzz("ms_round_trip")
@given(replicates=ms_replicates(), length=st.sampled_from([1.0, 80_000.0, 1e6]),
       header=st.booleans())
def test_a_valid_ms_file_reads_back(scratch, replicates, length, header):
    path = scratch.new() / "sims.ms"
    path.write_text(format_ms(replicates, header))
    back = list(read_ms(path, length))
    assert len(back) == len(replicates)
    for (matrix, positions), replicate in zip(replicates, back, strict=True):
        assert replicate.haplotypes.tolist() == matrix.tolist()
        assert np.allclose(replicate.positions, np.round(positions, 4) * length)


MS_TOKENS = ["//", "segsites: 0", "segsites: 3", "segsites: -1", "segsites: x", "segsites:",
             "positions:", "positions: 0.1 0.2 0.3", "positions: a b c", "positions: nan 0.2 0.3",
             "positions: 0.3 0.2 0.1", "positions: 1.5 2 3", "positions: -0.1 0.5 0.9",
             "positions: inf 0.5 0.6", "positions: 0.1,0.2,0.3", "010", "0101", "01", "0a1", "",
             "012", "segsites: 99999999999999999999", "prob: 0.5", "time: 1 2"]


@st.composite
def mutated_ms(draw) -> bytes:
    lines = format_ms(draw(ms_replicates())).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        lines = lines or [""]
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["replace", "insert", "delete", "duplicate", "token"]))
        token = draw(st.one_of(st.sampled_from(MS_TOKENS), st.text(max_size=12)))
        if action == "replace":
            lines[i] = token
        elif action == "insert":
            lines.insert(i, token)
        elif action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        else:  # one word of a line
            words = lines[i].split(" ")
            words[draw(st.integers(0, len(words) - 1))] = draw(st.sampled_from(
                ["nan", "inf", "-1", "2", "x", "", "1e-400", "0.5.5", "３"]))
            lines[i] = " ".join(words)
    return damaged_text(draw, lines)


@fuzz("ms_mutations")
@given(content=mutated_ms(), length=st.sampled_from([1.0, 50_000.0]))
def test_a_mutated_ms_file_reads_or_is_refused(scratch, content, length):
    path = scratch.new() / "sims.txt"
    path.write_bytes(content)
    with valid_or_refused():
        replicates = list(read_ms(path, length))
        assert replicates
        for replicate in replicates:
            matrix, positions = replicate.haplotypes, replicate.positions
            assert matrix.ndim == 2 and np.isin(matrix, (0, 1)).all()
            assert matrix.shape[1] == len(positions)
            assert np.isfinite(positions).all(), f"positions {positions}"
            assert ((positions >= 0) & (positions <= length)).all(), f"positions {positions}"
            assert (np.diff(positions) >= 0).all(), f"positions out of order: {positions}"


# ------------------------------------------------------------------------- contracts
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
              st.sampled_from([0, -1, 1, 0.5, "", "128", "imagene_cnn.x", "haplotypes",
                               "classes", "subsample"])),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text(max_size=6), children, max_size=3)),
    max_leaves=4)


def paths_of(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) into a JSON value."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += paths_of(child, (*prefix, i))
    return found


@st.composite
def mutated_json(draw, original: dict[str, Any]) -> Any:
    data = json.loads(json.dumps(original))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths_of(data)))
        if not path:
            data = draw(st.one_of(JSON_VALUES, st.just(data)))
            continue
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "rename", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = parent.pop(path[-1])
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(JSON_VALUES)
        else:
            parent.append(draw(JSON_VALUES))
    return data


def check_contract(contract: ModelContract) -> None:
    """What a contract that loads must be: the fields a scan computes with, of their types."""
    from popgen_hub.encoders import build_encoder, input_shapes

    spec = contract.input
    assert isinstance(contract.name, str) and isinstance(contract.description, str)
    for field in ("n_haplotypes", "window_bp", "min_sites"):
        value = getattr(spec, field)
        assert isinstance(value, int) and not isinstance(value, bool), f"{field} = {value!r}"
    assert spec.n_haplotypes >= 1 and spec.window_bp >= 1 and spec.min_sites >= 0
    assert isinstance(spec.phased, bool), f"phased = {spec.phased!r}"
    assert isinstance(spec.tensor_name, str) and all(isinstance(n, str) for n in spec.names)
    assert isinstance(contract.labels, list) and all(isinstance(x, str) for x in contract.labels)
    assert isinstance(contract.output_name, str) and isinstance(contract.encoder, dict)
    for section in ("training", "metrics", "references", "weights"):
        assert isinstance(getattr(contract, section), dict), f"{section} is not an object"
    again = ModelContract.from_dict(json.loads(contract.to_json()))
    assert again.to_json() == contract.to_json()
    with valid_or_refused():  # an encoder section that cannot be built is refused
        input_shapes(build_encoder(contract.encoder), spec.names)


def fuzzed_contract() -> dict[str, Any]:
    """The bundled contract with its stored null cut to 5 of its values: mutations then land
    on the contract's structure, not mostly on thousands of list entries."""
    config = json.loads(CONFIG.read_text())
    null = config.get("references", {}).get("null_score")
    if null:
        null["values"] = null["values"][::max(1, len(null["values"]) // 5)][:5]
        null["n"] = len(null["values"])
    return config


@fuzz("contract")
@given(data=mutated_json(fuzzed_contract()))
def test_a_mutated_contract_loads_or_is_refused(scratch, data):
    folder = scratch.new()
    with valid_or_refused():
        check_contract(ModelContract.from_dict(data, source="config.json"))
    # as a user meets it: `popgen-hub info local-dir:...` on the edited config.json
    (folder / "config.json").write_text(json.dumps(data))
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = popgen_hub.cli.main(["info", f"local-dir:{folder}"])
    assert code in (0, 1), stderr.getvalue()
    if code == 1:
        lines = stderr.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("popgen-hub info: error: "), lines


@pytest.fixture(scope="module")
def onnx_model() -> Any:
    import onnx

    return onnx.load(str(ROOT / "hub" / "pretrained" / BUNDLED_MODEL / "model.onnx"))


@fuzz("onnx_metadata", shrink=False)
@given(data=st.data())
def test_a_model_with_mutated_onnx_metadata_scores_or_is_refused(scratch, onnx_model,
                                                                scan_inputs, data):
    from popgen_hub.contract import ONNX_METADATA_KEY

    stored = next(p for p in onnx_model.metadata_props if p.key == ONNX_METADATA_KEY)
    original = stored.value
    text = data.draw(st.one_of(
        mutated_json(json.loads(original)).map(json.dumps),
        st.sampled_from(["", "{", "null", "[]", '{"input": {}}', original[:100]]),
        st.text(max_size=20)))
    path = scratch.new() / "model.onnx"
    try:
        stored.value = text
        path.write_bytes(onnx_model.SerializeToString())
    finally:
        stored.value = original
    with valid_or_refused():
        model = popgen_hub.load(str(path), device="cpu", threads=1)
        check_contract(model.contract)
        result = model.score(scan_inputs["vcf"], region="chr1:1-100000", progress=False)
        assert len(result.windows)


# ------------------------------------------------------------------------- datasets
@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    from popgen_hub.encoders import build_encoder
    from popgen_hub.simulate.importers import import_dataset

    folder = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(3)
    classes = {}
    for label in ("neutral", "sweep"):
        replicates = [((rng.random((8, 10)) < 0.4).astype(np.uint8), np.sort(rng.random(10)))
                      for _ in range(3)]
        (folder / f"{label}.ms").write_text(format_ms(replicates))
        classes[label] = [folder / f"{label}.ms"]
    encoder = build_encoder({"name": "haplotype_image", "n_rows": 8, "n_cols": 8})
    return import_dataset("ms", classes, folder / "data", length=10_000.0, encoder=encoder,
                          shard_size=4, progress=False)


@st.composite
def damaged_dataset(draw, dataset: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in sorted(dataset.iterdir())}
    for _ in range(draw(st.integers(1, 2))):
        name = draw(st.sampled_from(sorted(files)))
        if name == "manifest.json" and draw(st.booleans()):
            with contextlib.suppress(ValueError):  # not JSON after a first damage
                files[name] = json.dumps(draw(mutated_json(json.loads(files[name])))).encode()
                continue
        action = draw(st.sampled_from(["truncate", "flip", "empty", "delete", "swap"]))
        content = files[name]
        at = draw(st.integers(0, max(len(content) - 1, 0)))
        if action == "truncate":
            files[name] = content[:at]
        elif action == "flip" and content:
            files[name] = content[:at] + bytes([content[at] ^ 0xFF]) + content[at + 1:]
        elif action == "empty":
            files[name] = b""
        elif action == "delete":
            del files[name]
        else:
            other = draw(st.sampled_from(sorted(files)))
            files[name], files[other] = files[other], files[name]
    return files


@fuzz("dataset")
@given(data=st.data())
def test_a_damaged_dataset_loads_or_is_refused(scratch, dataset, data):
    from popgen_hub.datasets import encode_dataset, iter_replicates, load_dataset
    from popgen_hub.encoders import build_encoder

    folder = scratch.new() / "data"
    folder.mkdir()
    for name, content in data.draw(damaged_dataset(dataset)).items():
        (folder / name).write_bytes(content)
    with valid_or_refused():
        loaded = load_dataset(folder)
        n, labels = loaded.manifest["n"], loaded.manifest["labels"]
        assert len(loaded.images) == len(loaded.labels) == n, "manifest and shards disagree"
        assert set(loaded.labels.tolist()) <= set(range(len(labels)))
        replicates = list(iter_replicates(folder))
        assert len(replicates) == n
        encoder = build_encoder({"name": "haplotype_image", "n_rows": 8, "n_cols": 8})
        inputs, encoded_labels = encode_dataset(folder, encoder, progress=False)
        assert len(encoded_labels) == n


# ------------------------------------------------------------------------- invariance
@pytest.fixture(scope="module")
def invariance_base(tmp_path_factory, bundled_model) -> tuple[list[str], Any]:
    """The example VCF's first 2,000 records (64 samples) and its windows."""
    lines = example_vcf_lines(2000)
    path = write_indexed(tmp_path_factory.mktemp("invariance"), ("\n".join(lines) + "\n").encode())
    return lines, bundled_model.score(path, region=INVARIANCE_REGION, progress=False).windows


INVARIANCE_REGION = "chr1:1-400000"


def same_windows(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and len(a) == len(b), f"{len(a)} windows, then {len(b)}"
    for name in a.dtype.names:
        assert np.array_equal(a[name], b[name], equal_nan=a[name].dtype.kind == "f"), name


def split(lines: list[str]) -> tuple[list[str], str, list[str]]:
    meta = [line for line in lines if line.startswith("##")]
    chrom = next(line for line in lines if line.startswith("#CHROM"))
    return meta, chrom, [line for line in lines if not line.startswith("#")]


def crlf(draw, lines: list[str]) -> bytes:
    everywhere = draw(st.booleans())
    chosen = set(draw(st.lists(st.integers(0, len(lines) - 1), max_size=50)))
    return b"".join((line + ("\r\n" if everywhere or i in chosen else "\n")).encode()
                    for i, line in enumerate(lines))


def reorder_header(draw, lines: list[str]) -> bytes:
    meta, chrom, records = split(lines)
    rest = draw(st.permutations(meta[1:]))
    extra = draw(st.lists(st.sampled_from([
        "##reference=file:///ref.fa", "##phasing=partial", '##ALT=<ID=DEL,Description="x">',
        "##bcftools_viewCommand=view -Oz", '##INFO=<ID=XX,Number=1,Type=String,Description="">']),
        max_size=3))
    return "\n".join([meta[0], *rest, *extra, chrom, *records, ""]).encode()


INFO_DEFS = ['##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
             '##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">',
             '##INFO=<ID=NOTE,Number=1,Type=String,Description="A note">',
             '##FILTER=<ID=q10,Description="Quality below 10">',
             '##FILTER=<ID=lowDP,Description="Low depth">']


def annotations(draw, lines: list[str]) -> bytes:
    meta, chrom, records = split(lines)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(seed)
    out = []
    for record in records:
        fields = record.split("\t")
        fields[2] = rng.choice([".", f"rs{rng.randint(1, 10**9)}", f"id{fields[1]};x"])
        fields[5] = rng.choice([".", "0", "50", "3.25", "1e3", "999"])
        fields[6] = rng.choice([".", "PASS", "q10", "q10;lowDP"])
        fields[7] = rng.choice([".", "AF=0.25", "DB", "AF=0.5;DB", "NOTE=a_note", "DB;NOTE=x"])
        out.append("\t".join(fields))
    return "\n".join([meta[0], *meta[1:], *INFO_DEFS, chrom, *out, ""]).encode()


def format_fields(draw, lines: list[str]) -> bytes:
    meta, chrom, records = split(lines)
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    extra = draw(st.sampled_from([["DP"], ["DP", "GQ"], ["AD", "DP"], ["GQ"]]))
    defs = {"DP": '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
            "GQ": '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
            "AD": '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">'}
    values = {"DP": lambda: rng.choice([".", str(rng.randint(0, 500))]),
              "GQ": lambda: str(rng.randint(0, 99)),
              "AD": lambda: f"{rng.randint(0, 50)},{rng.randint(0, 50)}"}
    out = []
    for record in records:
        fields = record.split("\t")
        fields[8] = ":".join(["GT", *extra])
        fields[9:] = [":".join([gt, *(values[f]() for f in extra)]) for gt in fields[9:]]
        out.append("\t".join(fields))
    return "\n".join([*meta, *(defs[f] for f in extra), chrom, *out, ""]).encode()


REWRITES: dict[str, Callable] = {"crlf": crlf, "header_order": reorder_header,
                                 "annotations": annotations, "format_fields": format_fields}


@pytest.mark.parametrize("rewrite", sorted(REWRITES))
def test_benign_rewrites_give_the_very_same_windows(scratch, bundled_model, invariance_base,
                                                    rewrite):
    lines, expected = invariance_base
    assert len(expected) > 10

    @fuzz("invariance", shrink=False)
    @given(data=st.data())
    def check(data):
        content = REWRITES[rewrite](data.draw, lines)
        path = write_indexed(scratch.new(), content)
        windows = bundled_model.score(path, region=INVARIANCE_REGION, progress=False).windows
        same_windows(expected, windows)

    check()
