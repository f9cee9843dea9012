"""``popgen-hub embed``: the bundled VAE encoder through onnxruntime, ``--fit`` (popvae's
recipe), the principal-axis scores the bundled encoder reads, and the one-line refusals.

Data: stdpopsim HomSap OutOfAfrica_3G09 (YRI, CEU, CHB; a model the bundled encoder never saw),
20 diploids each over 2 Mb, written as an indexed VCF by the package's writer and read back
through htslib."""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pysam
import pytest

from conftest import ROOT, run_cli
from popgen_hub.embed import DEFAULT_MODEL, knn_accuracy
from popgen_hub.embed.train import genotype_block, held_out_data
from popgen_hub.encoders import PcaScores
from popgen_hub.encoders.pca_scores import Gram

PER_POPULATION = 20
#: benchmarks/embed.py measures 5-NN recovery near 0.95-1.0 for 30 diploids per population
#: over 3 Mb; this smaller dataset (20 over 2 Mb, ~2,000 SNPs) stays above 0.9 on every seed
#: we tried, and a map that did not separate the populations would score near 1/3
MIN_ACCURACY = 0.85


@pytest.fixture(scope="module")
def three_populations(tmp_path_factory) -> tuple[Path, Path, list[str]]:
    """The VCF, its sample table (sample, population) and each sample's population."""
    from popgen_hub.simulate.genome import write_indexed_vcf

    ts, origin = held_out_data("OutOfAfrica_3G09", 7, n=PER_POPULATION, length=2e6)
    base = tmp_path_factory.mktemp("embed")
    vcf = write_indexed_vcf(ts, base / "three.vcf.gz", contig="chr1")
    table = base / "pops.tsv"
    table.write_text("sample\tpopulation\n"
                     + "".join(f"sample{i}\t{p}\n" for i, p in enumerate(origin)))
    return vcf, table, origin


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = [line.rstrip("\n").split("\t") for line in path.read_text().splitlines()
             if not line.startswith("#")]
    return lines[0], lines[1:]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def check_outputs(out: Path, origin: list[str]) -> np.ndarray:
    """The TSV's columns and rows and the PNG; returns the latent means."""
    header, rows = read_table(out / "embedding.tsv")
    assert header == ["sample", "population", "z1", "z2", "z1_sd", "z2_sd"]
    assert [r[0] for r in rows] == [f"sample{i}" for i in range(len(origin))]
    assert [r[1] for r in rows] == origin
    values = np.array([[float(v) for v in r[2:]] for r in rows])
    assert np.isfinite(values).all() and (values[:, 2:] > 0).all()  # sds are positive
    width, height = png_size(out / "embedding.png")
    assert width > 300 and height > 300
    return values[:, :2]


def test_bundled_encoder_separates_three_populations_it_never_saw(three_populations, tmp_path):
    vcf, table, origin = three_populations
    result = run_cli("embed", "--vcf", vcf, "--samples", table, "-o", tmp_path / "out")
    assert "embedded 60 samples" in result.stdout
    z = check_outputs(tmp_path / "out", origin)
    assert knn_accuracy(z, origin) >= MIN_ACCURACY
    assert knn_accuracy(z, np.random.default_rng(0).permutation(origin)) < 0.6  # the control


def test_evaluate_judges_an_embedding_by_the_populations_its_neighbours_recover(
        three_populations, tmp_path):
    vcf, table, origin = three_populations
    out = tmp_path / "figures.json"
    run = run_cli("evaluate", DEFAULT_MODEL, vcf, "--samples", table, "--json", out)
    figures = json.loads(out.read_text())
    assert figures["n"] == len(origin) and figures["counts"] == {"YRI": PER_POPULATION,
                                                                 "CEU": PER_POPULATION,
                                                                 "CHB": PER_POPULATION}
    assert figures["accuracy"] >= MIN_ACCURACY
    assert f"population of {figures['accuracy']:.1%} of samples" in run.stdout
    # the same samples with their populations shuffled: the map no longer predicts them
    shuffled = tmp_path / "shuffled.tsv"
    labels = np.random.default_rng(0).permutation(origin)
    shuffled.write_text("sample\tpopulation\n" + "".join(
        f"sample{i}\t{p}\n" for i, p in enumerate(labels)))
    run_cli("evaluate", DEFAULT_MODEL, vcf, "--samples", shuffled, "--json", out)
    assert json.loads(out.read_text())["accuracy"] < 0.6
    refused = run_cli("evaluate", DEFAULT_MODEL, vcf, check=False)
    assert refused.returncode != 0 and "give --samples TABLE with a population column" in (
        refused.stderr) and "Traceback" not in refused.stderr


def test_bundled_model_reproduces_its_test_data_and_reads_the_scores_it_is_given():
    import popgen_hub
    from popgen_hub.publish.test_data import check_test_data
    from popgen_hub.registry import model_dir

    model = popgen_hub.load(DEFAULT_MODEL, device="cpu")
    assert model.contract.output_kind == "embedding"
    assert model.contract.labels == ["z1", "z2", "z1_sd", "z2_sd"]
    assert check_test_data(model, model_dir(DEFAULT_MODEL) / "test_data_set_0") <= 1e-5
    ts, origin = held_out_data("island_3", 3, n=15, length=1e6)
    scores = model.encoder.encode(genotype_block(ts)).inputs["pc_scores"]
    out = model.predict(scores)
    assert out.shape == (45, 4) and (out[:, 2:] > 0).all()


def test_fit_trains_tiny_and_saves_an_encoder_that_onnxruntime_runs_as_torch_did(
        three_populations, tmp_path):
    import onnxruntime as ort

    vcf, table, origin = three_populations
    run_cli("embed", "--vcf", vcf, "--samples", table, "--fit", "--max-snps", "400",
            "--seed", "3", "--save-model", tmp_path / "vae", "-o", tmp_path / "out")
    z = check_outputs(tmp_path / "out", origin)
    assert knn_accuracy(z, origin) > 0.6  # 400 SNPs, a few seconds of training
    sites = [line.split("\t") for line in (tmp_path / "vae" / "sites.tsv").read_text()
             .splitlines()[1:]]
    assert len(sites) == 400
    # the saved encoder on the dosages of its sites, read again from the VCF, gives the TSV
    wanted = {int(position) for _, position in sites}
    with pysam.VariantFile(str(vcf)) as handle:
        dosages = np.array([[sum(s["GT"]) / 2 for s in record.samples.values()]
                            for record in handle if record.pos in wanted], np.float32).T
    session = ort.InferenceSession(str(tmp_path / "vae" / "model.onnx"))
    got = session.run(["embedding"], {"genotypes": dosages})[0]
    np.testing.assert_allclose(got[:, :2], z, rtol=1e-4, atol=1e-5)


def test_scores_do_not_depend_on_how_the_sites_are_split_or_repeated():
    ts, _ = held_out_data("island_3", 5, n=8, length=5e5)
    block = genotype_block(ts)
    encoder = PcaScores()
    whole = encoder.encode(block).inputs["pc_scores"]
    gram = Gram(encoder)
    half = block.n_sites // 2
    gram.add(block.take_sites(slice(0, half)))
    gram.add(block.take_sites(slice(half, None)))
    np.testing.assert_allclose(gram.scores(), whole, atol=1e-5)
    twice = block.with_sites(np.repeat(block.positions, 2), np.repeat(block.values, 2, axis=0))
    np.testing.assert_allclose(encoder.encode(twice).inputs["pc_scores"], whole, atol=1e-5)
    assert ((whole ** 3).sum(axis=0) > 0).all()  # the sign convention


def run_blocking(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter where importing ``blocked`` fails, as if absent."""
    blocker = textwrap.dedent(f"""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {blocked!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Block())
    """)
    return subprocess.run([sys.executable, "-c", blocker + textwrap.dedent(code)],
                          capture_output=True, text=True)


def test_embed_runs_without_torch_and_names_the_extras_it_lacks(three_populations, tmp_path):
    vcf, table, _ = three_populations
    training = ("torch", "onnx", "onnxscript", "msprime", "tskit", "stdpopsim")
    result = run_blocking(training, f"""
        import sys
        from popgen_hub.cli import main
        assert main(["embed", "--vcf", "{vcf}", "-q", "-o", "{tmp_path / 'out'}"]) == 0
        assert main(["embed", "--vcf", "{vcf}", "--fit", "-o", "{tmp_path / 'fit'}"]) == 1
        assert not [m for m in {training!r} if m in sys.modules]
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "needs the training extra: pip install 'popgen-hub[train]'" in result.stderr
    assert (tmp_path / "out" / "embedding.tsv").is_file()
    result = run_blocking(("matplotlib",), f"""
        from popgen_hub.cli import main
        raise SystemExit(main(["embed", "--vcf", "{vcf}", "-o", "{tmp_path / 'plot'}"]))
    """)
    assert result.returncode == 1 and "pip install 'popgen-hub[explain]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("case, options, message", [
    ("unknown sample", ["--samples", "{extra}"], "names 1 sample(s) that three.vcf.gz lacks "
                                                 "(ghost)"),
    ("too few samples", ["--samples", "{few}"], "needs at least 10 individuals"),
    ("too few SNPs", ["--region", "chr1:1-20000"], "embed needs at least 200"),
    ("unknown region", ["--region", "chr9:1-1000"], "contig 'chr9' is not in three.vcf.gz"),
    ("save without fit", ["--save-model", "{tmp}/m"], "add --fit"),
    ("no samples", ["--vcf", "{sites_only}"], "has no samples"),
])
def test_bad_input_is_refused_in_one_line(three_populations, tmp_path, case, options, message):
    vcf, table, _ = three_populations
    rows = table.read_text().splitlines()
    (tmp_path / "extra.tsv").write_text("\n".join(rows + ["ghost\tYRI"]) + "\n")
    (tmp_path / "few.tsv").write_text("\n".join(rows[:6]) + "\n")
    sites_only = tmp_path / "sites.vcf"  # the fixture's first records, without genotypes
    text = [line for line in gzip.open(vcf, "rt").read().splitlines()[:400]
            if not line.startswith("##source")]
    sites_only.write_text("\n".join("\t".join(line.split("\t")[:8]) for line in text) + "\n")
    sites_only = pysam.tabix_index(str(sites_only), preset="vcf", force=True)
    filled = [o.format(extra=tmp_path / "extra.tsv", few=tmp_path / "few.tsv", tmp=tmp_path,
                       sites_only=sites_only) for o in options]
    result = run_cli("embed", "--vcf", vcf, *filled, "-o", tmp_path / "out", check=False)
    assert result.returncode == 1, (case, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], (case, result.stderr)
    assert not (tmp_path / "out").exists()


def test_the_benchmark_runs_and_prints_its_table():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "embed.py"), "--smoke"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")
            and "|---" not in line and "method" not in line]
    assert [row.split("|")[2].strip() for row in rows] == ["pretrained", "fit"] * 2
    for row in rows:
        accuracy = float(row.split("|")[3].split("±")[0])
        assert 0 <= accuracy <= 1
