"""The VCF reader's three data kinds on real indexed VCF.gz and BCF files: unphased genotypes
(phase dropped), genotype likelihoods from GL or PL, and what `list --json` says models read."""

from __future__ import annotations

import gzip
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pysam
import pytest

from conftest import BUNDLED_MODEL, ROOT, needs, run_cli
from popgen_hub.errors import PopgenHubError
from popgen_hub.readers import SampleSelection, VcfReader, haplotype_columns

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
HEADER = {"GT": '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
          "GL": '##FORMAT=<ID=GL,Number=G,Type=Float,Description="log10 likelihoods">',
          "PL": '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred likelihoods">'}


def indexed(plain: Path, suffix: str) -> Path:
    """``plain`` (a text VCF) as an indexed .vcf.gz (bgzip + tabix) or .bcf (bcftools)."""
    if suffix == ".vcf.gz":
        return Path(pysam.tabix_index(str(plain), preset="vcf", force=True,
                                      keep_original=True))
    needs("bcftools")
    bcf = plain.with_suffix(".bcf")
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(plain)], check=True)
    subprocess.run(["bcftools", "index", str(bcf)], check=True)
    return bcf


def write_vcf(path: Path, fields: tuple[str, ...], records: list[dict[str, dict]],
              samples: tuple[str, ...] = ("a", "b", "c")) -> Path:
    """A VCF written with pysam: record i at position 100 (i + 1), A>C, each sample's FORMAT
    values as given (absent ones left out: ``.``)."""
    header = pysam.VariantHeader()
    header.add_line("##contig=<ID=1,length=100000>")
    for field in ("GT", *fields):
        header.add_line(HEADER[field])
    for sample in samples:
        header.add_sample(sample)
    with pysam.VariantFile(str(path), "w", header=header) as out:
        for i, calls in enumerate(records):
            record = header.new_record(contig="1", start=100 * (i + 1) - 1, alleles=("A", "C"))
            for sample, values in calls.items():
                for field, value in values.items():
                    record.samples[sample][field] = value
            out.write(record)
    return path


def read_kind(reader: VcfReader, kind: str, region: str | None = None):
    """Every block of ``region`` (default: the first contig) as one block of ``kind``."""
    selection = SampleSelection(tuple(haplotype_columns(reader)), phased=kind == "haplotypes",
                                kind=kind)
    region = reader.region(region or reader.contigs[0])
    blocks = list(reader.blocks(region, selection, stats=reader.new_stats(), block_size=500))
    assert blocks and all(block.kind == kind for block in blocks)
    first = blocks[0]
    return first.with_sites(np.concatenate([b.positions for b in blocks]),
                            np.concatenate([b.values for b in blocks]))


@pytest.fixture(scope="module")
def unphased_text(tmp_path_factory) -> Path:
    """The example VCF with its phase removed and two calls made missing (./. and 0/.)."""
    lines = gzip.open(EXAMPLE_VCF, "rt").read().splitlines()
    body = [i for i, line in enumerate(lines) if not line.startswith("#")]
    lines[body[0]:] = [line.replace("|", "/") for line in lines[body[0]:]]
    for row, sample, call in ((0, 0, "./."), (1, 1, "0/.")):
        fields = lines[body[row]].split("\t")
        fields[9 + sample] = call
        lines[body[row]] = "\t".join(fields)
    plain = tmp_path_factory.mktemp("unphased") / "unphased.vcf"
    plain.write_text("\n".join(lines) + "\n")
    return plain


@pytest.mark.parametrize("suffix", [".vcf.gz", ".bcf"])
def test_unphased_genotypes_are_the_sums_of_the_phased_haplotype_pairs(unphased_text, suffix):
    haplotypes = read_kind(VcfReader(EXAMPLE_VCF), "haplotypes")
    expected = haplotypes.values[:, 0::2] + haplotypes.values[:, 1::2]
    expected[0, 0] = expected[1, 1] = -1
    reader = VcfReader(indexed(unphased_text, suffix))
    genotypes = read_kind(reader, "genotypes")
    assert genotypes.values.dtype == np.int8 and genotypes.samples.names == tuple(
        reader.samples)
    assert np.array_equal(genotypes.positions, haplotypes.positions)
    assert np.array_equal(genotypes.values, expected)
    phase_dropped = read_kind(VcfReader(EXAMPLE_VCF), "genotypes")  # phased input is fine
    assert np.array_equal(phase_dropped.values, haplotypes.values[:, 0::2] +
                          haplotypes.values[:, 1::2])
    with pytest.raises(PopgenHubError, match=r"sample1 has an unphased heterozygous genotype"):
        read_kind(reader, "haplotypes")


# the same calls of three samples in two records, as GL (log10, one sample not normalised)
# and as PL (phred); b's field is missing at the first record, and the second record has no
# likelihood field at all
GL_RECORDS = [{"a": {"GT": (0, 1), "GL": (-1.0, 0.0, -2.5)},
               "b": {"GT": (1, 1)},
               "c": {"GT": (0, 0), "GL": (-1.5, -3.0, -7.5)}},
              {"a": {"GT": (0, 1)}, "b": {"GT": (0, 0)}, "c": {"GT": (1, 1)}}]
PL_RECORDS = [{"a": {"GT": (0, 1), "PL": (10, 0, 25)},
               "b": {"GT": (1, 1)},
               "c": {"GT": (0, 0), "PL": (0, 15, 60)}},
              {"a": {"GT": (0, 1)}, "b": {"GT": (0, 0)}, "c": {"GT": (1, 1)}}]
LOG10 = [[[-1.0, 0.0, -2.5], [0.0, 0.0, 0.0], [0.0, -1.5, -6.0]], np.zeros((3, 3))]


@pytest.mark.parametrize("suffix", [".vcf.gz", "decoded by bcftools", ".bcf"])
@pytest.mark.parametrize(("fields", "records"), [(("GL",), GL_RECORDS), (("PL",), PL_RECORDS),
                                                 (("GL", "PL"), GL_RECORDS)])
def test_gl_and_pl_read_as_log10_likelihoods_and_a_missing_field_is_flat(
        tmp_path, monkeypatch, suffix, fields, records):
    if suffix == "decoded by bcftools":  # as a long region of a VCF.gz is read
        needs("bcftools")
        monkeypatch.setattr("popgen_hub.readers.decoded.PIPED_MIN_BP", 0)
        suffix = ".vcf.gz"
    reader = VcfReader(indexed(write_vcf(tmp_path / "calls.vcf", fields, records), suffix))
    block = read_kind(reader, "likelihoods")
    assert block.likelihood_scale == "log10" and block.values.dtype == np.float32
    assert block.values.shape == (2, 3, 3) and block.positions.tolist() == [99, 199]
    assert np.allclose(block.values, LOG10, atol=1e-6)
    posteriors, informative = block.called_posteriors()
    assert informative.tolist() == [[True, False, True], [False, False, False]]
    likelihoods = np.array([0.1, 1, 10 ** -2.5])
    assert np.allclose(posteriors[0, 0], likelihoods / likelihoods.sum())


def test_gl_is_preferred_to_pl_and_a_haploid_sample_cannot_have_two_alts(tmp_path):
    records = [{"a": {"GT": (0, 1), "GL": (-1.0, 0.0, -2.5), "PL": (60, 0, 60)},
                "b": {"GT": (1, 1), "PL": (40, 20, 0)},
                "c": {"GT": (1,), "GL": (-0.5, 0.0)}}]
    reader = VcfReader(indexed(write_vcf(tmp_path / "both.vcf", ("GL", "PL"), records),
                               ".vcf.gz"))
    values = read_kind(reader, "likelihoods").values[0]
    # the record has GL, so GL is read for every sample: b's is missing (flat), not its PL
    assert values[:2].tolist() == [[-1.0, 0.0, -2.5], [0.0, 0.0, 0.0]]
    assert values[2].tolist() == [-0.5, 0.0, -np.inf]
    genotypes = read_kind(reader, "genotypes")
    assert genotypes.values.tolist() == [[1, 2, 1]] and genotypes.samples.ploidy == (2, 2, 1)


def test_a_vcf_without_gl_or_pl_is_refused_for_likelihoods(tmp_path):
    reader = VcfReader(indexed(write_vcf(tmp_path / "gt.vcf", (), [
        {"a": {"GT": (0, 1)}, "b": {"GT": (1, 1)}, "c": {"GT": (0, 0)}}]), ".vcf.gz"))
    assert read_kind(reader, "genotypes").values.tolist() == [[1, 2, 0]]
    with pytest.raises(PopgenHubError, match=r"^gt\.vcf\.gz has neither a GL nor a PL FORMAT "
                                             r"field .* reads genotype likelihoods; call"):
        read_kind(reader, "likelihoods")


def test_models_of_genotypes_read_whole_individuals_within_their_sample_size():
    from popgen_hub.encoders import build_encoder
    from popgen_hub.registry import get_contract
    from popgen_hub.scoring.selection import select_samples

    bundled = get_contract(BUNDLED_MODEL)
    encoder = build_encoder(bundled.encoder)
    reader = VcfReader(EXAMPLE_VCF)  # 64 diploid samples

    def contract(low: int, high: int | None):
        return replace(bundled, input=replace(bundled.input, phased=False,
                                              data_kind="genotypes", sample_size=[low, high]))

    selection = select_samples(reader, encoder, contract(5, 20), seed=1)
    assert selection.kind == "genotypes" and not selection.phased
    assert selection.n_available == 64 and len(selection.samples) == 20
    assert selection.columns == tuple((s, slot) for s in selection.samples for slot in (0, 1))
    assert select_samples(reader, encoder, contract(5, 20), seed=1) == selection
    assert len(select_samples(reader, encoder, contract(5, None), seed=1).samples) == 64
    with pytest.raises(PopgenHubError, match=r"example_sweep\.vcf\.gz has 64 samples but "
                                             r".* at least 100 individuals"):
        select_samples(reader, encoder, contract(100, None), seed=1)


def test_list_json_describes_every_bundled_model_as_its_contract_does():
    from popgen_hub.registry import get_contract, list_models

    result = run_cli("list", "--json")
    models = json.loads(result.stdout)
    assert [m["name"] for m in models] == list_models()
    for entry in models:
        contract = get_contract(entry["name"])
        spec = contract.input
        assert entry["architecture"] == contract.architecture
        assert entry["labels"] == contract.labels and entry["data"] == spec.data_kind
        assert (entry["sample_size"], entry["ploidy"], entry["depth"]) == (
            spec.sample_size, spec.ploidy, spec.depth)
        assert entry["window_bp"] == spec.window_bp
        assert entry["null"] == ("null_score" in contract.references)
        stored = contract.references.get("decision_threshold", {})
        classes = contract.output_kind == "classes"
        assert entry["decision_threshold"] == (stored.get("value", 0.5) if classes else None)
        assert entry["decision_smoothing_bp"] == (stored.get("smoothing_bp", 0) if classes
                                                  else None)
        by_size = stored.get("by_individuals")
        assert entry["decision_threshold_by_individuals"] == (by_size and {
            str(stored["individuals"]): stored["value"],
            **{str(other["individuals"]): other["value"] for other in by_size}})
        power = stored.get("power")
        assert entry["decision_power"] == (power and {"found": power["found"],
                                                      "of": power["of"]})
        assert entry["decision_power_by_individuals"] == (by_size and {
            str(chosen["individuals"]): {"found": chosen["power"]["found"],
                                         "of": chosen["power"]["of"]}
            for chosen in [stored, *by_size] if "power" in chosen} or None)
    assert json.loads(run_cli("list", "--json", "nothing*").stdout) == []


def test_a_haploid_samples_flat_call_in_a_file_of_diploids_is_uncalled(tmp_path):
    """c is haploid: its missing GL is flat over the two genotypes it can have, [0, 0, -inf],
    and carries no information, as a diploid's flat [0, 0, 0] does not."""
    records = [{"a": {"GT": (0, 1), "GL": (-1.0, 0.0, -2.5)}, "b": {"GT": (1, 1)},
                "c": {"GT": (1,)}},
               {"a": {"GT": (0, 1)}, "b": {"GT": (0, 0)}, "c": {"GT": (0,), "GL": (0.0, -2.0)}}]
    reader = VcfReader(indexed(write_vcf(tmp_path / "haploid.vcf", ("GL",), records),
                               ".vcf.gz"))
    block = read_kind(reader, "likelihoods")
    assert block.samples.ploidy == (2, 2, 1)
    assert block.values[:, 2].tolist() == [[0.0, 0.0, -np.inf], [0.0, -2.0, -np.inf]]
    _, informative = block.called_posteriors()
    assert informative.tolist() == [[True, False, False], [False, False, True]]
    assert block.alt_counts()[1].tolist() == [2, 1]  # called alleles: a's two, then c's one


def test_the_header_counts_what_the_model_reads_individuals_or_haplotypes():
    """A genotype model's n_available counts individuals (its sample_size's unit): the window
    table's header and the scan's summary say so, and keep haplotypes for haplotype models."""
    from popgen_hub.encoders import build_encoder
    from popgen_hub.registry import get_contract
    from popgen_hub.result import ScanResult, window_dtype
    from popgen_hub.scoring.selection import select_samples

    bundled = get_contract(BUNDLED_MODEL)
    reader = VcfReader(EXAMPLE_VCF)  # 64 diploid samples
    genotypes = replace(bundled, input=replace(bundled.input, phased=False,
                                               data_kind="genotypes", sample_size=[5, 20]))

    def scanned(contract):
        selection = select_samples(reader, build_encoder(contract.encoder), contract, seed=1)
        return ScanResult(contract=contract, vcf=EXAMPLE_VCF, regions=[], window=80_000,
                          step=40_000, seed=1, n_available=selection.n_available,
                          haplotypes=list(selection.columns), provider="cpu",
                          contig_lengths={}, windows=np.zeros(0, window_dtype(3)),
                          stats=reader.new_stats())

    individuals = scanned(genotypes)
    header = individuals.header()
    assert "haplotypes" not in header
    assert header["individuals"] == "20 of 64 (seed 1), from the whole input"
    assert individuals.samples_read() == "20 of 64 individuals"
    haplotypes = scanned(bundled)
    assert haplotypes.header()["haplotypes"] == "128 of 128 (rule subsample, seed 1)"
    assert haplotypes.header()["individuals"] == "64, from the whole input"
    assert haplotypes.samples_read() == "128 of 128 haplotypes of 64 individuals"


def test_an_individual_of_another_ploidy_is_refused_before_any_window(tmp_path):
    """A genotype model of diploids given a file with a haploid sample: one line naming it,
    from the sample selection (the scan has read nothing yet)."""
    from popgen_hub.encoders import build_encoder
    from popgen_hub.registry import get_contract
    from popgen_hub.scoring.selection import select_samples

    records = [{"a": {"GT": (0, 1)}, "b": {"GT": (1, 1)}, "c": {"GT": (1,)}}] * 2
    reader = VcfReader(indexed(write_vcf(tmp_path / "haploid.vcf", (), records), ".vcf.gz"))
    bundled = get_contract(BUNDLED_MODEL)
    diploids = replace(bundled, input=replace(bundled.input, phased=False, ploidy=[2, 2],
                                              data_kind="genotypes", sample_size=[2, 20]))
    with pytest.raises(PopgenHubError, match=r"haploid.vcf.gz: c has ploidy 1, but .* reads "
                                             r"individuals of ploidy 2-2; leave them out"):
        select_samples(reader, build_encoder(diploids.encoder), diploids, seed=0)
