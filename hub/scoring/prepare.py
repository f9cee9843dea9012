"""From an input file and a model to a :class:`~popgen_hub.result.ScanResult`, in memory."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import PopgenHubError
from ..genotypes import Region
from ..readers import Reader, open_reader
from ..readers.samples import read_sample_table
from ..result import ScanResult
from ..runtime import OnnxModel
from .score import score
from .selection import select_samples


def scan_regions(reader: Reader, region: str | None, step: int) -> list[Region]:
    """The region asked for, or every contig with records (from the first record, rounded
    down to a multiple of ``step``)."""
    regions = ([reader.region(region, grid=step)] if region else
               [reader.contig_region(c, grid=step) for c in reader.contigs_with_records()])
    if not regions:
        raise PopgenHubError(f"{reader.path} has no variant records")
    return regions


def check_window(window: int, step: int, batch_size: int, workers: int) -> None:
    if window < 1 or step < 1:
        raise PopgenHubError("--window-size and --step must be positive")
    if step > window:
        raise PopgenHubError(f"--step {step} is larger than --window-size {window}: windows "
                             f"would leave gaps; use a step of at most the window size")
    if batch_size < 1 or workers < 1:
        raise PopgenHubError("--batch-size and --workers must be positive")


def score_input(model: OnnxModel, path: str | os.PathLike, *, region: str | None = None,
                window: int | None = None, step: int | None = None, seed: int = 0,
                samples: str | os.PathLike | None = None, sample_column: str = "sample",
                age_column: str = "age_years", batch_size: int = 32, workers: int = 1,
                progress: bool = True) -> ScanResult:
    """Score ``path`` (a region, or every contig) with ``model`` and return the windows, as
    ``scan`` does before writing anything. ``samples`` is a table of sample ages for models
    that read ancient samples (see :mod:`popgen_hub.readers.samples`)."""
    contract = model.contract
    window = window or contract.input.window_bp
    step = step or max(window // 8, 1)
    check_window(window, step, batch_size, workers)
    reader = open_reader(path)
    if contract.input.data_kind not in reader.kinds:
        raise PopgenHubError(
            f"{contract.name} reads {contract.input.data_kind}; {reader.path.name} gives "
            f"{', '.join(reader.kinds)} ({type(reader).__name__}); choose a model that reads "
            f"those")
    regions = scan_regions(reader, region, step)
    ages = read_sample_table(samples, sample_column, age_column) if samples else None
    selection = select_samples(reader, model.encoder, contract, seed, ages,
                               Path(samples).name if samples else "")
    result = score(model, reader, regions, selection, window=window, step=step,
                   batch_size=batch_size, workers=workers, progress=progress)
    if not len(result.scored()):
        where = ", ".join(map(str, regions))
        if result.stats.kept == 0:
            raise PopgenHubError(
                f"no biallelic SNPs in {where} of {reader.path.name}; check the region and "
                f"that the file holds SNP genotypes")
        raise PopgenHubError(
            f"no window in {where} of {reader.path.name} has the {contract.input.min_sites} "
            f"informative sites {contract.name} needs ({result.stats.kept} SNPs kept)")
    return result
