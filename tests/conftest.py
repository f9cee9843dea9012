"""Shared fixtures: simulated VCFs with known truth, the bundled model, the CLI, shared data."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def shared(path: str) -> Path:
    """A file under ../shared/data; the test is skipped when it is absent (a user's clone)."""
    full = SHARED_DATA / path
    if not full.exists():
        pytest.skip(f"{full} not present (reference data lives beside the repo, not in it)")
    return full


def needs(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (installed by `make test`)")


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
def bundled_model():
    import popgen_hub

    return popgen_hub.load(BUNDLED_MODEL, device="cpu")
