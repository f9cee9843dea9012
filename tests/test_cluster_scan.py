"""`scan --scheduler`: pieces of a scan scored on a Dask distributed cluster (a real
LocalCluster of two worker processes) give the windows of a local scan, are kept for
--resume as they finish, and an unreachable scheduler is one line."""

from __future__ import annotations

import logging
import shutil
import socket
import time

import pytest

from conftest import BUNDLED_MODEL, ROOT
from popgen_hub import cli, cluster
from popgen_hub import scan as scan_module
from popgen_hub.errors import PopgenHubError, Terminated
from popgen_hub.scoring import prepare

distributed = pytest.importorskip("distributed")

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
REGION = "chr1:1-1000000"  # 93 windows of the example: 8 pieces for the cluster's 2 threads
SCAN = ["scan", "--vcf", str(EXAMPLE_VCF), "--model", BUNDLED_MODEL, "--device", "cpu",
        "--region", REGION]


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local_cluster:
        yield local_cluster.scheduler_address


@pytest.fixture(scope="module")
def local_scan(bundled_model, tmp_path_factory):
    return bundled_model.scan(EXAMPLE_VCF, tmp_path_factory.mktemp("local") / "scan",
                              region=REGION, progress=False)


def test_a_scan_on_the_cluster_gives_the_windows_of_a_local_scan(bundled_model, local_scan,
                                                                 scheduler, tmp_path):
    began = time.perf_counter()
    on_cluster = bundled_model.scan(EXAMPLE_VCF, tmp_path / "scan", region=REGION,
                                    scheduler=scheduler, progress=False)
    took = time.perf_counter() - began
    # the workers score on one onnxruntime thread each, this process on two: for this model
    # the sums come out the same, to the bit
    assert on_cluster.windows.tobytes() == local_scan.windows.tobytes()
    assert on_cluster.stats == local_scan.stats and len(on_cluster.windows) == 93
    assert took < 30, f"the cluster scan took {took:.1f} s"


def test_an_unreachable_scheduler_is_one_line_naming_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    assert cli.main([*SCAN, "--scheduler", address, "-o", str(tmp_path / "out")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"popgen-hub scan: error: cannot connect to the Dask scheduler at "
                           f"{address}: ") and line.endswith("or check the address "
                                                             "(tcp://HOST:PORT)")
    assert not (tmp_path / "out").exists()


def test_a_workers_error_is_raised_as_it_is(bundled_model, scheduler, tmp_path):
    """The workers open the input at the path this process opened: one they cannot find is
    the reader's own one-line error, not the cluster's."""
    vcf = tmp_path / EXAMPLE_VCF.name
    for suffix in ("", ".tbi"):
        shutil.copy(f"{EXAMPLE_VCF}{suffix}", f"{vcf}{suffix}")
    job = prepare(bundled_model, vcf, region=REGION, scheduler=scheduler, progress=False)
    assert job.workers == 2 and "scheduler" not in job.parameters()  # the cluster's threads
    vcf.unlink()
    with pytest.raises(PopgenHubError, match=f"^{vcf}: no such file$"):
        job.score()


def test_workers_with_a_scheduler_and_no_dask_are_refused_in_one_line(monkeypatch, capsys,
                                                                       tmp_path):
    argv = [*SCAN, "--scheduler", "tcp://127.0.0.1:1", "-o", str(tmp_path / "out")]
    assert cli.main([*argv, "--workers", "2"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "popgen-hub scan: error: --workers 2 with --scheduler: the Dask cluster's workers "
        "score the pieces; leave out --workers"]
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [
        "popgen-hub scan: error: --scheduler needs Dask: pip install 'popgen-hub[cluster]'"]


def test_a_scan_on_the_cluster_interrupted_resumes_with_its_pieces(bundled_model, local_scan,
                                                                   scheduler, tmp_path,
                                                                   monkeypatch, caplog):
    save, saved = scan_module.PieceFiles.save, []

    def save_then_stop_after(count: int):
        def saving(self, index, windows, stats):
            save(self, index, windows, stats)  # kept as soon as the cluster returns it
            saved.append(index)
            if len(saved) == count:
                raise Terminated
        monkeypatch.setattr(scan_module.PieceFiles, "save", saving)

    save_then_stop_after(2)
    with pytest.raises(Terminated):
        bundled_model.scan(EXAMPLE_VCF, tmp_path / "scan", region=REGION, scheduler=scheduler,
                           progress=False)
    (partial,) = tmp_path.glob(".scan.popgen-hub-partial-*")
    assert len(list((partial / ".pieces").glob("piece-*.npz"))) == 2
    first, saved[:] = list(saved), []
    save_then_stop_after(99)
    monkeypatch.setattr(logging.getLogger("popgen_hub"), "propagate", True)
    with caplog.at_level(logging.INFO, logger="popgen_hub"):
        resumed = bundled_model.scan(EXAMPLE_VCF, tmp_path / "scan", region=REGION,
                                     scheduler=scheduler, resume=True, progress=False)
    assert "resuming: 2 of 8 pieces of the scan already scored" in caplog.text
    assert sorted(first + saved) == list(range(8)) and not partial.exists()
    assert resumed.windows.tobytes() == local_scan.windows.tobytes()
    assert resumed.stats == local_scan.stats
