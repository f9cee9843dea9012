"""From an input file and a model to a scan ready to score (:class:`ScanJob`), and to a
:class:`~popgen_hub.result.ScanResult` in memory (:func:`score_input`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders import has_ancient_groups
from ..errors import PopgenHubError
from ..genotypes import Region
from ..readers import Reader, SampleSelection, input_name, open_reader
from ..readers.samples import SampleTable, read_samples
from ..result import ScanResult
from ..runtime import OnnxModel
from .background import genome_background
from .cluster import cluster_threads
from .options import check_values, scan_options
from .score import PieceStore, score
from .selection import select_samples
from .windows import window_starts
from .workers import cap_workers


def scan_regions(reader: Reader, region: str | None, step: int) -> list[Region]:
    """The region asked for, or every contig with records (from the first record, rounded
    down to a multiple of ``step``)."""
    regions = ([reader.region(region, grid=step)] if region else
               [reader.contig_region(c, grid=step) for c in reader.contigs_with_records()])
    if not regions:
        raise PopgenHubError(f"{input_name(reader)} has no variant records")
    return regions


@dataclass
class ScanJob:
    """A scan ready to score: the input opened and checked, the regions, windows and samples
    chosen."""

    model: OnnxModel
    reader: Reader
    regions: list[Region]
    selection: SampleSelection
    window: int
    step: int
    batch_size: int
    workers: int
    progress: bool
    samples: Path | None
    population: str | None = None
    #: a Dask scheduler's address: its workers score the pieces, planned for its threads
    #: (``workers``); not a parameter: the same plan gives the same windows anywhere
    scheduler: str | None = None
    #: the genome's background, for a model that reads one (:func:`genome_background`)
    background: np.ndarray | None = None

    def parameters(self) -> dict[str, Any]:
        """What decides the windows and their scores, for manifests and fingerprints."""
        return {"regions": [str(region) for region in self.regions], "window": self.window,
                "step": self.step, "seed": self.selection.seed, "batch_size": self.batch_size,
                "workers": self.workers, "samples": str(self.samples) if self.samples else None,
                "population": self.population}

    def score(self, store: PieceStore | None = None) -> ScanResult:
        """Every window scored (see :func:`~popgen_hub.scoring.score`); an error when none
        could be."""
        result = score(self.model, self.reader, self.regions, self.selection,
                       window=self.window, step=self.step, batch_size=self.batch_size,
                       workers=self.workers, scheduler=self.scheduler,
                       progress=self.progress, store=store, background=self.background)
        if not len(result.scored()):
            contract, name = self.model.contract, input_name(self.reader)
            where = ", ".join(map(str, self.regions))
            no_reads = result.stats.mean_depth() == 0
            raise PopgenHubError(
                f"no read of {name} in {where} passed the read filters (--min-mapq, "
                f"--min-baseq; unmapped, duplicate and improperly paired reads are skipped)"
                if no_reads else
                f"no biallelic SNPs in {where} of {name}; check the region and that the file "
                f"holds SNP genotypes" if result.stats.kept == 0 else
                f"no window in {where} of {name} has the {contract.input.min_sites} "
                f"informative sites {contract.name} needs ({result.stats.kept} SNPs kept)")
        return result


def prepare(model: OnnxModel, path: str | os.PathLike | Reader, *, region: str | None = None,
            window: int | None = None, step: int | None = None, seed: int = 0,
            samples: str | os.PathLike | SampleTable | None = None,
            sample_column: str = "sample",
            age_column: str = "age_years", population: str | None = None,
            population_column: str = "population", batch_size: int = 32, workers: int = 1,
            scheduler: str | None = None, progress: bool = True) -> ScanJob:
    """Open and check ``path`` (or take the reader given) for ``model``: options, data kind,
    regions (``region``, or every contig), the sample table (``samples``, see
    :mod:`popgen_hub.readers.samples`: the samples to read, of ``population`` when it names
    several; their ages for models that read ancient samples; or the table as
    :func:`sample_table` read it) and the haplotypes the model reads. With ``scheduler``
    (``tcp://HOST:PORT``), the Dask cluster there scores the pieces, planned for its threads."""
    contract = model.contract
    if contract.output_kind == "embedding":
        raise PopgenHubError(f"{contract.name} places samples, not windows: scans take "
                             f"classifiers and regressions; use `popgen-hub embed --model "
                             f"{contract.name}`")
    check_values(workers=workers, scheduler=scheduler)
    window, step = scan_options(contract, window, step, batch_size, workers, seed)
    threads = cluster_threads(scheduler) if scheduler else None  # reachable: before the work
    reader = open_reader(path)
    if contract.input.data_kind not in reader.kinds:
        raise PopgenHubError(
            f"{contract.name} reads {contract.input.data_kind}; {input_name(reader)} gives "
            f"{', '.join(reader.kinds)} ({type(reader).__name__}); choose a model that reads "
            f"those")
    table = sample_table(samples, sample_column, age_column, population, population_column,
                         need_ages=has_ancient_groups(model.encoder))
    regions = scan_regions(reader, region, step)
    selection = select_samples(reader, model.encoder, contract, seed, table)
    n_windows = sum(len(window_starts(r, window, step)) for r in regions)
    workers = max(1, min(threads, n_windows)) if threads else cap_workers(workers, n_windows)
    return ScanJob(model, reader, regions, selection, window, step, batch_size, workers,
                   progress, table.path if table else None, table.population if table else None,
                   scheduler or None,
                   genome_background(contract, model.encoder, reader, selection, window))


def sample_table(samples: str | os.PathLike | SampleTable | None,
                 sample_column: str = "sample", age_column: str = "age_years",
                 population: str | None = None, population_column: str = "population", *,
                 need_ages: bool = False) -> SampleTable | None:
    """The rows of the sample table to read, ``population`` picked (None: no table, every
    sample); ``need_ages``: the table must give ages (models with ancient groups). A table
    read already (``scan`` reads it once, for ``--model auto`` and the scan) is taken as it
    is, ``population`` picked if it is not yet: :func:`select_samples` refuses one without
    the ages a model needs."""
    if isinstance(samples, SampleTable):
        if population is None or samples.population == population:
            return samples
        return samples.pick(population, population_column)
    if not samples:
        if population is not None:
            raise PopgenHubError(f"--population {population} needs --samples TABLE, a table "
                                 f"of the samples with a {population_column!r} column")
        return None
    return read_samples(samples, sample_column, age_column, population_column,
                        need_ages=need_ages).pick(population, population_column)


def score_input(model: OnnxModel, path: str | os.PathLike, **options: Any) -> ScanResult:
    """Score ``path`` with ``model`` and return the windows, as ``scan`` does before writing
    anything; ``options`` are :func:`prepare`'s."""
    return prepare(model, path, **options).score()
