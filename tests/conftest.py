"""Shared fixtures: simulated VCFs with known truth, the bundled model, the CLI, shared data."""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from popgen_hub.genotypes import GenotypeBlock

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
BUNDLED_MODEL = "imagene_cnn.sweep_hsap_eur"
SWEEP_AT = 1_200_000


def run_cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run ``popgen-hub`` as a user would, in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-m", "popgen_hub", *map(str, args)],
                            capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"popgen-hub {' '.join(map(str, args))} failed "
                             f"({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def threshold_line(track: str) -> str:
    """The yLineMark of a score track ``MODEL.LABEL.bw`` in a UCSC hub: its model's stored
    decision threshold for the primary class, 0.5 otherwise."""
    from popgen_hub.registry import get_contract

    model, label = track.removesuffix(".bw").rsplit(".", 1)
    threshold = get_contract(model).decision_threshold()
    return f"{threshold.value if label == threshold.label else 0.5:g}"


def shared(path: str) -> Path:
    """A file under ../shared/data; the test is skipped when it is absent (a user's clone)."""
    full = SHARED_DATA / path
    if not full.exists():
        pytest.skip(f"{full} not present (reference data lives beside the repo, not in it)")
    return full


def encode(encoder, haplotypes, positions=None, window=None):
    """Encode a (haplotypes x sites) matrix, as simulators give it, with ``encoder``."""
    from popgen_hub.genotypes import GenotypeBlock

    return encoder.encode(GenotypeBlock.from_haplotypes(haplotypes, positions), window)


def random_haplotype_block(seed: int = 1, n_sites: int = 300, n_haplotypes: int = 40
                           ) -> GenotypeBlock:
    """Random haplotypes at ``n_sites`` sites over 40 kb (site frequencies skewed rare)."""
    import numpy as np

    from popgen_hub.genotypes import GenotypeBlock

    rng = np.random.default_rng(seed)
    frequencies = rng.beta(0.3, 1.5, n_sites)
    haplotypes = (rng.random((n_haplotypes, n_sites)) < frequencies).astype(np.int8)
    positions = np.sort(rng.choice(40_000, n_sites, replace=False))
    return GenotypeBlock.from_haplotypes(haplotypes, positions)


def train_tiny(base: Path, data: Path, architecture: str, epochs: int) -> tuple[Path, Path]:
    """Train ``architecture`` on ``data`` (seed 2, one thread) and export it as
    ``ARCHITECTURE.test``, as a user would: (run folder, model folder) under ``base``."""
    run, model = base / "run", base / "model"
    run_cli("train", architecture, "--data", data, "--epochs", str(epochs), "--threads", "1",
            "--seed", "2", "-q", "-o", run)
    run_cli("export", run, "--name", f"{architecture}.test", "-o", model)
    return run, model


def assert_torch_matches_onnx(run: Path, model, inputs: dict) -> None:
    """The run's network, rebuilt from its run.json and model.pt, and its exported ``model``
    give the same calibrated probabilities on ``inputs`` (the graph divides the logits by the
    fitted temperature before its softmax), and a window scores alone as in a batch (batch
    statistics frozen)."""
    import json

    import numpy as np
    import torch

    from popgen_hub.models import build_model

    record = json.loads((run / "run.json").read_text())
    network = build_model(record["architecture"], **record["model_config"])
    network.load_state_dict(torch.load(run / "model.pt", weights_only=True))
    network.eval()
    with torch.no_grad():
        logits = network(*(torch.from_numpy(inputs[name]) for name in model.contract.input.names))
    temperature = model.contract.metrics["calibration"]["temperature"]
    got = model.predict(inputs)
    assert np.abs(got - torch.softmax(logits / temperature, dim=1).numpy()).max() < 1e-5
    one = {name: array[3:4] for name, array in inputs.items()}
    assert np.abs(model.predict(one) - got[3:4]).max() < 1e-6


def example_vcf_lines(n_records: int) -> list[str]:
    """The bundled example VCF's header and first ``n_records`` records (64 samples, 128
    haplotypes: what the bundled model needs to score)."""
    lines = []
    with gzip.open(ROOT / "hub" / "data" / "example_sweep.vcf.gz", "rt") as handle:
        for line in handle:
            if not line.startswith("#"):
                n_records -= 1
                if n_records < 0:
                    break
            lines.append(line.rstrip("\n"))
    return lines


def vcf_copy(vcf: Path, out: Path, *, region: tuple[str, int, int] | None = None,
             unphased: bool = False) -> Path:
    """``vcf``'s records (of ``region``, contig and 0-based half-open bounds, if given), with
    every genotype's phase removed if ``unphased`` (as many callers write GT), indexed."""
    import pysam

    with pysam.VariantFile(str(vcf)) as source, \
            pysam.VariantFile(str(out), "wz", header=source.header) as sink:
        for record in source.fetch(*region) if region else source:
            for call in record.samples.values() if unphased else ():
                call.phased = False
            sink.write(record)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def window_table(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A scan's window table: its header lines (key: text) and its rows (column: cell)."""
    lines = path.read_text().splitlines()
    header = dict(line[2:].partition(": ")[::2] for line in lines if line.startswith("# "))
    body = [line.split("\t") for line in lines if not line.startswith("#")]
    return header, [dict(zip(body[0], row, strict=True)) for row in body[1:]]


def needs(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (installed by `make test`)")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a complete PNG file, read from its header; fails on anything else
    (a missing signature or IHDR chunk, no IEND chunk at the end: a truncated file) and, where
    Pillow is installed, on an image that does not decode or is one flat colour."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path}: no IHDR chunk first"
    assert data[-8:-4] == b"IEND", f"{path}: no IEND chunk at the end (truncated?)"
    width, height = struct.unpack(">II", data[16:24])
    try:
        from PIL import Image
    except ImportError:
        return width, height
    with Image.open(path) as image:
        assert image.size == (width, height)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert len(colours) > 2, f"{path}: a blank picture ({len(colours)} colours)"
    return width, height


def keep(png: Path, name: str) -> None:
    """Copy ``png`` to ``$POPGEN_HUB_SCREENSHOTS/name`` when that variable names a folder: the
    README's pictures are the browser tests' own renderings (`make screenshots`)."""
    folder = os.environ.get("POPGEN_HUB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, Path(folder) / name)


@pytest.fixture(scope="session")
def simulate_vcf(tmp_path_factory):
    """Factory: a simulated, indexed VCF (cached per argument set for the session)."""
    from popgen_hub.simulate.genome import simulate_vcf as simulate
    from popgen_hub.simulate.scenarios import get_scenario

    cache: dict[tuple, Path] = {}
    base = tmp_path_factory.mktemp("vcfs")

    def make(*, length: int = 2_000_000, sweep_at: int | None = SWEEP_AT, seed: int = 3,
             contig: str = "chr1", n_haplotypes: int = 128, end_frequency: float = 0.9) -> Path:
        key = (length, sweep_at, seed, contig, n_haplotypes, end_frequency)
        if key not in cache:
            path = base / f"sim_{len(cache)}.vcf.gz"
            simulate(path, get_scenario("imagene_sweep", n_haplotypes=n_haplotypes),
                     length=length, seed=seed, sweep_at=sweep_at, end_frequency=end_frequency,
                     contig=contig)
            cache[key] = path
        return cache[key]

    return make


@pytest.fixture(scope="session")
def sweep_vcf(simulate_vcf) -> Path:
    """2 Mb, 128 haplotypes, a hard sweep (2Ns = 300, now at 90 %) at 1.2 Mb."""
    return simulate_vcf()


@pytest.fixture(scope="session")
def tiny_sweep_data(tmp_path_factory) -> Path:
    """80 replicates of imagene_sweep over 20 kb, simulated as a user would: data for tiny
    models."""
    data = tmp_path_factory.mktemp("tiny_sweep") / "data"
    run_cli("simulate", "imagene_sweep", "--param", "length=20000", "--n", "80", "--seed", "1",
            "-q", "-o", data)
    return data


@pytest.fixture(scope="session")
def bundled_model():
    import popgen_hub

    return popgen_hub.load(BUNDLED_MODEL, device="cpu")
