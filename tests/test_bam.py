"""BAM/CRAM input: reads placed on a random reference from known genotypes, with errors, clips,
indels, low mapping qualities and duplicates (popgen_hub.simulate.reads), written, sorted and
indexed by pysam; read back by the BAM reader (htslib through pysam, no mocks): the SNPs it
finds are the true ones, its likelihoods call the true genotypes, its bulk counts are pysam's
column-by-column pileup, its likelihoods are bcftools mpileup's; every bad input is one line.
The contig is named like the silverside assembly's, with ':' in it."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools
import pytest
from test_ood import individual_model

import popgen_hub
from conftest import BUNDLED_MODEL, needs, run_cli
from popgen_hub.cli import main
from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes import GenotypeBlock, Region, Samples, concatenate, likelihoods
from popgen_hub.genotypes.likelihoods import (
    Pileup,
    SiteFilter,
    call_sites,
    genotype_likelihoods,
    lrt_threshold,
    snp_test,
)
from popgen_hub.readers import BamReader, SampleSelection, haplotype_columns, open_reader
from popgen_hub.readers.bam import bam_list
from popgen_hub.readers.pileup import SKIPPED_FLAGS, ReadFilter, read_bases
from popgen_hub.result import window_dtype
from popgen_hub.scan import PieceFiles, run_key
from popgen_hub.scoring import ScanJob
from popgen_hub.simulate.reads import (
    SimulatedReads,
    individual_depths,
    sequenced,
    simulate_pileup,
    write_bams,
    write_likelihood_vcf,
)

CONTIG = "Mme_chr24:2558528-4558528"
LENGTH = 60_000


def truth(n_individuals: int, n_sites: int, seed: int, length: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """SNP positions and genotypes (sites, individuals) at frequencies between 0.1 and 0.9."""
    rng = np.random.default_rng(seed)
    positions = np.sort(rng.choice(np.arange(300, length - 300), n_sites, replace=False))
    frequency = rng.uniform(0.1, 0.9, n_sites)[:, None]
    return positions, rng.binomial(2, frequency, (n_sites, n_individuals)).astype(np.int8)


@pytest.fixture(scope="module")
def at_10x(tmp_path_factory) -> SimulatedReads:
    positions, genotypes = truth(8, 150, seed=1, length=LENGTH)
    return write_bams(tmp_path_factory.mktemp("bam10x"), genotypes, positions, length=LENGTH,
                      depth=10, seed=1, contig=CONTIG)


@pytest.fixture(scope="module")
def at_30x(tmp_path_factory) -> SimulatedReads:
    positions, genotypes = truth(4, 60, seed=2, length=LENGTH // 3)
    return write_bams(tmp_path_factory.mktemp("bam30x"), genotypes, positions, length=LENGTH // 3,
                      depth=30, seed=2, contig=CONTIG)


@pytest.fixture(scope="module")
def cram(at_10x) -> Path:
    """The first individual's BAM as a CRAM (against the reference), indexed."""
    path = at_10x.bams[0].with_suffix(".cram")
    pysam.view("-C", "-T", str(at_10x.reference), "-o", str(path), str(at_10x.bams[0]),
               catch_stdout=False)
    pysam.index(str(path))
    return path


def read(reader: BamReader, text: str = CONTIG, samples: list[str] | None = None):
    region = reader.region(text)
    selection = SampleSelection(tuple((s, 0) for s in samples or reader.samples),
                                kind="likelihoods")
    stats = reader.new_stats()
    return concatenate(list(reader.blocks(region, selection, stats=stats))), stats


def segregating(sim: SimulatedReads) -> np.ndarray:
    alt = sim.genotypes.sum(axis=1)
    return sim.positions[(alt > 0) & (alt < 2 * sim.genotypes.shape[1])]


# ------------------------------------------------------------------ what the reader finds
def test_discovered_snps_are_the_true_ones_at_10x(at_10x):
    reader = BamReader(at_10x.bams, reference=at_10x.reference)
    assert reader.samples == [f"ind{i}" for i in range(8)]  # the read groups' SM
    block, stats = read(reader)
    assert block.kind == "likelihoods" and block.likelihood_scale == "log10"
    assert block.values.shape == (block.n_sites, 8, 3) and block.samples.ploidy == (2,) * 8
    found, true = set(block.positions.tolist()), set(segregating(at_10x).tolist())
    hits = len(found & true)
    assert hits / len(true) >= 0.95 and hits / len(found) >= 0.97, (hits, len(true), len(found))
    counts = stats.to_dict()
    assert counts["kept_snps"] == block.n_sites
    assert counts["skipped_monomorphic"] > 40_000 and counts["skipped_snp_p_value"] > 0


def test_likelihoods_call_the_true_genotypes_at_30x(at_30x):
    block, _ = read(BamReader(at_30x.bams))  # no reference: REF is the most counted base
    index = np.searchsorted(at_30x.positions, block.positions)
    assert (at_30x.positions[index] == block.positions).all()
    true, calls = at_30x.genotypes[index], block.values.argmax(axis=2)
    agree = np.maximum((calls == true).mean(axis=1), (2 - calls == true).mean(axis=1))
    assert agree.mean() >= 0.99


def test_reference_alleles_polarise_the_likelihoods(at_30x):
    block, _ = read(BamReader(at_30x.bams, reference=at_30x.reference))
    index = np.searchsorted(at_30x.positions, block.positions)
    calls = block.values.argmax(axis=2)  # ALT copies against the reference base
    assert (calls == at_30x.genotypes[index]).mean() >= 0.99


def test_a_cram_reads_as_its_bam(at_10x, cram):
    from_cram, _ = read(BamReader([cram], reference=at_10x.reference), f"{CONTIG}:1-20000")
    from_bam, _ = read(BamReader(at_10x.bams[:1], reference=at_10x.reference),
                       f"{CONTIG}:1-20000")
    assert from_cram.samples.names == ("ind0",) and from_cram.n_sites > 0
    assert np.array_equal(from_cram.positions, from_bam.positions)
    assert np.array_equal(from_cram.values, from_bam.values)


def test_bulk_counts_equal_a_column_by_column_pileup(at_10x):
    start, end = 20_000, 23_000
    read_filter = ReadFilter()
    for path in at_10x.bams[:3]:
        with pysam.AlignmentFile(str(path)) as alignments:
            bulk = read_bases(alignments, CONTIG, start, end, read_filter)
            slow = []
            for column in alignments.pileup(
                    CONTIG, start, end, truncate=True, stepper="samtools", compute_baq=False,
                    flag_filter=SKIPPED_FLAGS, min_mapping_quality=read_filter.min_mapq,
                    min_base_quality=read_filter.min_baseq, ignore_overlaps=False):
                for entry in column.pileups:
                    if entry.is_del or entry.is_refskip:
                        continue
                    segment, at = entry.alignment, entry.query_position
                    slow.append((column.reference_pos, "ACGT".index(segment.query_sequence[at]),
                                 min(segment.query_qualities[at], segment.mapping_quality),
                                 segment.is_reverse))
        fast = sorted(zip(bulk.position.tolist(), bulk.base.tolist(), bulk.quality.tolist(),
                          bulk.reverse.tolist(), strict=True))
        assert len(fast) > 1000 and fast == sorted(slow)


def test_likelihoods_are_bcftools_mpileups(at_10x, tmp_path):
    """The samtools model as htslib computes it: PL of 0/0, 0/1, 1/1 at bcftools' first ALT,
    each normalised to its best, agree within PL's rounding (below bcftools' cap of 255)."""
    needs("bcftools")
    regions = tmp_path / "regions.tsv"  # bcftools' -r does not take braced names
    regions.write_text(f"{CONTIG}\t5001\t15000\n")
    text = pysam.bcftools.mpileup("-f", str(at_10x.reference), "-B", "-x", "-I", "-q", "20", "-Q",
                                  "20", "-d", "100000", "-R", str(regions),
                                  *map(str, at_10x.bams[:4]))
    sites, theirs = [], []
    for line in text.splitlines():
        fields = line.split("\t")
        if line.startswith("#") or fields[4].startswith("<"):
            continue
        sites.append((int(fields[1]) - 1, "ACGT".index(fields[3]), "ACGT".index(fields[4][0])))
        where = fields[8].split(":").index("PL")
        theirs.append([[int(v) for v in s.split(":")[where].split(",")[:3]] for s in fields[9:]])
    positions, ref, alt = np.array(sites).T
    pileup = _pileup(at_10x.bams[:4], 5000, 15000).take(
        np.isin(np.arange(5000, 15000), positions))
    ours = -10 * genotype_likelihoods(pileup, np.stack([ref, alt], axis=1)).astype(float)
    theirs = np.array(theirs, dtype=float)
    ours -= ours.min(axis=2, keepdims=True)
    theirs -= theirs.min(axis=2, keepdims=True)
    below_cap = theirs.max(axis=2) < 255
    assert len(sites) > 100 and below_cap.mean() > 0.5
    assert np.abs(ours - theirs)[below_cap].max() <= 0.51


def _pileup(paths: list[Path], start: int, end: int) -> Pileup:
    parts = [read_bases(pysam.AlignmentFile(str(p)), CONTIG, start, end, ReadFilter())
             for p in paths]
    return Pileup(np.arange(start, end), len(parts),
                  np.concatenate([p.position for p in parts]) - start,
                  np.repeat(np.arange(len(parts)), [len(p.position) for p in parts]),
                  *(np.concatenate([getattr(p, a) for p in parts])
                    for a in ("base", "quality", "reverse")))


def test_simulated_reads_pass_through_the_same_code(monkeypatch):
    """What training will do: reads drawn from stored genotypes, then the reader's discovery;
    the likelihoods are the same computed in batches of sites."""
    rng = np.random.default_rng(3)
    genotypes = np.zeros((3000, 10), dtype=np.int8)  # monomorphic sites, and 150 SNPs
    snps = np.sort(rng.choice(3000, 150, replace=False))
    genotypes[snps] = rng.binomial(2, rng.uniform(0.1, 0.9, (150, 1)), (150, 10))
    alleles = np.stack([rng.integers(0, 4, 3000), np.zeros(3000, dtype=int)], axis=1)
    alleles[:, 1] = (alleles[:, 0] + rng.integers(1, 4, 3000)) % 4
    pileup = simulate_pileup(genotypes, 20.0, rng, alleles=alleles, qualities=np.arange(20, 41))
    assert abs(len(pileup.site) / genotypes.size - 20) < 0.5
    calls = call_sites(pileup, SiteFilter(), reference=alleles[:, 0])
    variable = snps[(genotypes[snps].sum(axis=1) > 0) & (genotypes[snps].sum(axis=1) < 20)]
    assert set(calls.positions.tolist()) == set(variable.tolist())
    assert (calls.alleles == alleles[calls.positions]).all()
    assert (calls.likelihoods.argmax(axis=2) == genotypes[calls.positions]).mean() >= 0.99
    at_once = genotype_likelihoods(pileup, alleles)
    monkeypatch.setattr(likelihoods, "LIKELIHOOD_BATCH", len(pileup.site) // 7)
    assert np.array_equal(genotype_likelihoods(pileup, alleles), at_once)


def test_sequenced_calls_written_as_pl_read_back_as_the_same_likelihoods(tmp_path):
    """write_likelihood_vcf (what benchmarks/calibration.py --depth scans the likelihood model
    on): 20 individuals' genotypes sequenced at 20x, written as a VCF of PL and read back by
    the VCF reader (htslib) as likelihoods: the same sites, each sample's likelihoods those
    computed to PL's whole-phred precision, calling the true genotype at >= 99 % of sites."""
    rng = np.random.default_rng(5)
    positions = np.sort(rng.choice(200_000, 400, replace=False))
    truth = rng.binomial(2, rng.uniform(0.2, 0.8, (400, 1)), (400, 20)).astype(np.int8)
    calls = GenotypeBlock(positions, truth, "genotypes", Samples.anonymous(20, ploidy=2))
    reads = sequenced(calls, individual_depths(20.0, 20, rng), rng)
    vcf = write_likelihood_vcf(reads, tmp_path / "calls.vcf.gz", contig="chr2", length=200_000)
    reader = open_reader(vcf)
    selection = SampleSelection(tuple(haplotype_columns(reader)), phased=False,
                                kind="likelihoods")
    back = concatenate(list(reader.blocks(reader.region("chr2"), selection,
                                          stats=reader.new_stats())))
    assert np.array_equal(back.positions, reads.positions) and back.samples == reads.samples
    expected = reads.values - reads.values.max(axis=2, keepdims=True)
    assert np.abs(back.values - expected).max() <= 0.05 + 1e-9  # PL rounds to 0.5 phred
    true = truth[np.searchsorted(positions, back.positions)]
    assert (back.values.argmax(axis=2) == true).mean() >= 0.99
    # what a VCF of PL cannot hold as written (an impossible genotype) is refused, unwritten
    impossible = reads.values.copy()
    impossible[0, 0, 2] = -np.inf
    with pytest.raises(ValueError, match="finite log10 likelihoods of diploid samples"):
        write_likelihood_vcf(reads.with_sites(reads.positions, impossible),
                             tmp_path / "bad.vcf.gz", contig="chr2", length=200_000)
    assert not (tmp_path / "bad.vcf.gz").exists()


def test_the_snp_test_is_the_maximum_likelihood_one():
    """The grid and EM steps reach the likelihood-ratio statistic of a long EM; its threshold
    is the chi-square (1 df) quantile."""
    assert lrt_threshold(1e-6) == pytest.approx(23.928, abs=1e-3)
    assert lrt_threshold(0.05) == pytest.approx(3.8415, abs=1e-4)
    rng = np.random.default_rng(4)
    likelihoods = -rng.exponential(2.0, (400, 12, 3)).astype(np.float32)
    lrt = snp_test(likelihoods)[1]
    long_lrt = snp_test(likelihoods, grid_points=41, em_steps=3000)[1]
    assert np.allclose(lrt, long_lrt, atol=0.05)  # (random likelihoods: flat surfaces)
    assert (lrt <= long_lrt + 1e-9).all()  # EM never overshoots the maximum


# ------------------------------------------------------------------ sites, names, regions
def test_sites_from_a_vcf(at_10x, tmp_path):
    records = [f"{CONTIG}\t{p + 1}\t.\t{'ACGT'[r]}\t{'ACGT'[a]}\t.\t.\t."
               for p, (r, a) in zip(at_10x.positions[:50], at_10x.alleles[:50], strict=True)]
    records += [f"{CONTIG}\t{at_10x.positions[60] + 1}\t.\tA\tC,G\t.\t.\t.",
                f"{CONTIG}\t{at_10x.positions[61] + 1}\t.\tAC\tA\t.\t.\t."]
    sites = _vcf(tmp_path / "sites.vcf", sorted(records, key=lambda r: int(r.split("\t")[1])))
    reader = BamReader(at_10x.bams, reference=at_10x.reference, sites=sites)
    block, stats = read(reader, f"{{{CONTIG}}}:1-{LENGTH}")
    assert block.positions.tolist() == at_10x.positions[:50].tolist()
    counts = stats.to_dict()
    assert counts["kept_sites"] == 50 and counts["skipped_multiallelic"] == 1
    assert counts["skipped_not_snp"] == 1
    wrong = _vcf(tmp_path / "wrong.vcf", [records[0].replace(
        f"\t{'ACGT'[at_10x.alleles[0, 0]]}\t", f"\t{'ACGT'[at_10x.alleles[0, 1]]}\t", 1)])
    with pytest.raises(PopgenHubError, match="REF .* but ref.fa has"):
        read(BamReader(at_10x.bams, reference=at_10x.reference, sites=wrong))


def _vcf(path: Path, records: list[str]) -> Path:
    path.write_text(f"##fileformat=VCFv4.2\n##contig=<ID={CONTIG},length={LENGTH}>\n"
                    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "\n".join(records) + "\n")
    return Path(pysam.tabix_index(str(path), preset="vcf", force=True))


def test_a_contig_with_colons_and_regions_of_it(at_10x):
    reader = open_reader(at_10x.bams[0])  # one BAM: claimed by its ending
    assert isinstance(reader, BamReader) and reader.kinds == ("likelihoods",)
    assert reader.region(CONTIG).contig == CONTIG
    for text in (f"{{{CONTIG}}}:1001-5000", f"{CONTIG}:1001-5000"):
        region = reader.region(text)
        assert (region.contig, region.start, region.end) == (CONTIG, 1000, 5000)
    with pytest.raises(PopgenHubError, match="is not in ind0.bam"):
        reader.region("chr1:1-100")


def test_samples_are_named_by_sm_or_by_the_tables_stems(at_10x, tmp_path):
    copies = []
    for index in range(2):  # another SM, and files named after the individuals' field ids
        header = pysam.AlignmentFile(str(at_10x.bams[index])).header.to_dict()
        header["RG"][0]["SM"] = f"JekyllIs_{index}_Lane1"
        (tmp_path / "header.sam").write_text(str(pysam.AlignmentHeader.from_dict(header)))
        copy = tmp_path / f"JIGA_0{index}.bam"
        pysam.reheader(str(tmp_path / "header.sam"), str(at_10x.bams[index]),
                       save_stdout=str(copy))
        pysam.index(str(copy))
        copies.append(copy)
    assert BamReader(copies).samples == ["JekyllIs_0_Lane1", "JekyllIs_1_Lane1"]
    named = BamReader(copies, names=["JIGA_00", "JekyllIs_1_Lane1"])
    assert named.samples == ["JIGA_00", "JekyllIs_1_Lane1"]
    listing = tmp_path / "bams.txt"
    listing.write_text(f"# two fish\n{copies[0]}\n\n{copies[1]}\n")
    assert bam_list(listing) == copies
    listing.write_text(f"{copies[0]}\n{tmp_path / 'gone.bam'}\n")
    with pytest.raises(PopgenHubError, match=r"bams.txt, line 2: .*gone.bam: no such file"):
        bam_list(listing)


def test_the_reader_pickles_and_counts_overlapping_pieces_once(at_10x):
    """As a scan's workers read it: pickled, in pieces that overlap, each counting the sites
    before the next piece's start."""
    reader = pickle.loads(pickle.dumps(BamReader(at_10x.bams, reference=at_10x.reference)))
    whole, whole_stats = read(reader, f"{CONTIG}:1-30000")
    selection = SampleSelection(tuple((s, 0) for s in reader.samples), kind="likelihoods")
    stats, found = reader.new_stats(), []
    for start, end, count_before in ((0, 20_000, 15_000), (15_000, 30_000, 30_000)):
        piece = reader.region(f"{CONTIG}:{start + 1}-{end}")
        found += [b.positions for b in reader.blocks(piece, selection, stats=stats,
                                                     count_before=count_before)]
    assert set(np.concatenate(found).tolist()) == set(whole.positions.tolist())
    assert stats.to_dict() == whole_stats.to_dict() and stats.kept == whole.n_sites > 0


def test_a_scans_run_key_covers_every_bam_the_reference_and_the_filters(at_10x, bundled_model,
                                                                       tmp_path):
    """--resume reuses the pieces of the same scan only: its key (the staging folder's name)
    changes with any BAM of the list, the reference or a read or site filter."""
    for source in (*at_10x.bams[:2], at_10x.reference):
        for file in source.parent.glob(f"{source.name}*"):  # with its .bai or .fai
            shutil.copy(file, tmp_path)
    bams, reference = [tmp_path / bam.name for bam in at_10x.bams[:2]], tmp_path / "ref.fa"

    def key(**options) -> str:
        reader = BamReader(bams, reference=reference, **options)
        selection = SampleSelection(tuple((s, 0) for s in reader.samples), kind="likelihoods")
        return run_key(ScanJob(bundled_model, reader, [Region(CONTIG, 0, LENGTH)], selection,
                               window=10_000, step=5_000, batch_size=32, workers=1,
                               progress=False, samples=None))

    first = key()
    assert key() == first  # the same call: the same key
    assert key(read_filter=ReadFilter(min_mapq=30)) != first
    assert key(site_filter=SiteFilter(max_depth=200)) != first
    for changed in (bams[1], reference):  # rewritten since
        stat = changed.stat()
        os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        assert key() != first
        os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert key() == first


# ------------------------------------------------------------------ read depth
@pytest.fixture(scope="module")
def trained_at_1_to_4x(tmp_path_factory) -> str:
    """A likelihood model trained (1 epoch) on reads at 1-4x, as test_exchangeable trains one:
    20 kb windows of 5 to 20 diploids."""
    pytest.importorskip("torch")
    base = tmp_path_factory.mktemp("likelihood_model")
    data, run, model = base / "data", base / "run", base / "model"
    run_cli("simulate", "imagene_sweep", "--param", "n_haplotypes=40", "--param",
            "length=20000", "--n", "40", "--seed", "1", "-q", "-o", data)
    run_cli("train", "exchangeable_cnn_gl", "--data", data, "--encoder", "n_sites=32",
            "--encoder", "depth_min=1", "--encoder", "depth_max=4", "--epochs", "1",
            "--no-calibrate", "--threads", "1", "--seed", "2", "-q", "-o", run)
    run_cli("export", run, "--name", "exchangeable_cnn_gl.test", "-o", model)
    return f"local-dir:{model}"


def test_a_scan_at_a_depth_the_model_was_not_trained_on_warns_and_says_so(
        at_10x, trained_at_1_to_4x, capsys, tmp_path):
    """The header gives the reads' mean depth per individual: 10x of reads less those the
    filters leave out (duplicates 2 %, low mapping quality 5 %, soft clips about 2.5 %); 9x is
    outside the model's 1-4x, which the scan warns of in one line and the header records.
    The input is every BAM, not the first."""
    out = tmp_path / "out"
    assert main(["scan", "--bam", *map(str, at_10x.bams), "--reference", str(at_10x.reference),
                 "--model", trained_at_1_to_4x, "-q", "-o", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "depth" in line]
    header = {key: value for key, _, value in (
        line[2:].partition(": ") for line in
        (out / "exchangeable_cnn_gl.test.windows.tsv").read_text().splitlines()
        if line.startswith("# "))}
    depth = json.loads(header["sites"])["mean_depth"]
    assert 8.6 < depth < 9.6, depth
    outside = (f"mean read depth {depth:.1f}x per individual, outside the 1-4x "
               f"exchangeable_cnn_gl.test was trained on: its scores describe reads unlike its "
               f"training data")
    assert warnings == [f"popgen-hub: warning: {outside}"], warnings
    assert header["read_depth"] == outside
    assert header["input"] == ", ".join(str(bam.resolve()) for bam in at_10x.bams)  # all 8
    manifest = json.loads((out / "popgen-hub.scans.json").read_text())
    assert manifest["scans"]["exchangeable_cnn_gl.test"]["input"] == header["input"]


def test_auto_skips_a_model_trained_at_other_depths(at_10x, tmp_path):
    """--model auto measures the depth on the windows it samples: a model of 20-60x is
    skipped with the reason, as are models of more individuals or another ploidy."""
    def model(name: str, **spec) -> str:
        source = individual_model(tmp_path, name, "likelihoods", [5, None])
        config = Path(source.removeprefix("local-dir:")) / "config.json"
        contract = json.loads(config.read_text())
        contract["input"].update(spec)
        config.write_text(json.dumps(contract))
        return source

    deep = model("deep", depth=[20, 60])
    shallow = model("shallow", depth=[2, 30])
    many = model("many", sample_size=[20, None])
    haploid = model("haploid", ploidy=[1, 1])
    reader = BamReader(at_10x.bams, reference=at_10x.reference)
    choice = popgen_hub.choose_model(reader, candidates=[deep, many, haploid, shallow],
                                     n_windows=2)
    assert choice.name == shallow, choice.candidates
    reasons = {c.name: c.refused for c in choice.candidates}
    assert re.fullmatch(r"mean read depth 9\.\dx per individual, outside the 20-60x "
                        r"exchangeable_cnn\.deep was trained on \(in the sampled windows\)",
                        reasons[deep]), reasons[deep]
    assert "at least 20 individuals" in reasons[many]
    assert "ploidy 2, but exchangeable_cnn.haploid reads individuals of ploidy 1-1" in \
        reasons[haploid]
    assert f"; skipped {deep}: mean read depth" in choice.message()


def test_a_resumed_scan_keeps_the_depth_of_the_pieces_it_kept(at_10x, tmp_path):
    reader = BamReader(at_10x.bams[:2])
    _, stats = read(reader, f"{CONTIG}:1-5000")
    pieces = PieceFiles(tmp_path, reader)
    pieces.save(0, np.zeros(0, dtype=window_dtype(2)), stats)
    _, again = pieces.load(0)
    assert again.to_dict() == stats.to_dict() and again.mean_depth() == stats.mean_depth() > 5


# ------------------------------------------------------------------ bad input: one line
def scan_fails(capsys, tmp_path, *argv: str, match: str) -> None:
    out = tmp_path / "out"
    code = main(["scan", "--model", BUNDLED_MODEL, "-o", str(out), "-q", *map(str, argv)])
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[")]
    assert code == 1 and len(err) == 1 and err[0].startswith("popgen-hub scan: error: "), err
    assert match in err[0], err[0]
    assert not out.is_dir() or not any(out.iterdir()), "partial output left behind"


def test_a_haplotype_model_refuses_likelihoods(at_10x, capsys, tmp_path):
    scan_fails(capsys, tmp_path, "--bam", *at_10x.bams, "--reference", at_10x.reference,
               match=f"{BUNDLED_MODEL} reads haplotypes; 8 BAM/CRAM files (ind0.bam, ind1.bam, "
                     f"ind2.bam, ind3.bam, ind4.bam, ...) gives likelihoods")
    scan_fails(capsys, tmp_path, "--vcf", "x.vcf.gz", "--min-mapq", "30",
               match="--min-mapq is for BAM/CRAM input")
    scan_fails(capsys, tmp_path, "--bam", at_10x.bams[0], "--snp-pval", "2",
               match="--snp-pval 2.0 must be a p-value")


def test_bad_bams_are_one_line(at_10x, at_30x, cram, capsys, tmp_path):
    bams = at_10x.bams
    unindexed = tmp_path / "unindexed.bam"
    shutil.copy(bams[0], unindexed)
    scan_fails(capsys, tmp_path, "--bam", unindexed, bams[1], match="has no index")
    scan_fails(capsys, tmp_path, "--bam", bams[0], at_30x.bams[0],
               match="were aligned to different references")
    twin = tmp_path / "twin.bam"
    shutil.copy(bams[0], twin)
    shutil.copy(f"{bams[0]}.bai", f"{twin}.bai")
    scan_fails(capsys, tmp_path, "--bam", bams[0], twin, match="both hold sample ind0")
    truncated = tmp_path / "truncated.bam"
    truncated.write_bytes(bams[1].read_bytes()[:-5000])
    scan_fails(capsys, tmp_path, "--bam", truncated, match="is truncated")
    garbage = tmp_path / "garbage.bam"
    garbage.write_bytes(gzip.compress(b"not a bam") + bams[0].read_bytes()[-28:])
    scan_fails(capsys, tmp_path, "--bam", garbage, match="is not a BAM or CRAM file")
    scan_fails(capsys, tmp_path, "--bam", cram, match="is a CRAM file: give the FASTA")


def test_no_reads_and_damaged_files_are_named(at_10x, tmp_path):
    reader = BamReader(at_10x.bams)
    with pytest.raises(PopgenHubError, match="no reads in .* in any of the 8 BAM/CRAM files"):
        reader.region(f"{CONTIG}:60000-60000")  # past the last read's end
    with pytest.raises(PopgenHubError, match=r"'chr1' is not in 8 BAM/CRAM files \(ind0"):
        reader.region("chr1:1-100")  # every file named, not the first
    damaged = tmp_path / "damaged.bam"
    data = bytearray(at_10x.bams[2].read_bytes())
    middle = len(data) // 2
    data[middle:middle + 3000] = bytes(3000)
    damaged.write_bytes(bytes(data))
    shutil.copy(f"{at_10x.bams[2]}.bai", f"{damaged}.bai")
    with pytest.raises(PopgenHubError, match="damaged.bam: its reads in .* cannot be read"):
        read(BamReader([at_10x.bams[0], damaged]))
