"""Scan an input with a model and write its tracks: :func:`scan_vcf` is
:func:`popgen_hub.scoring.score_input` followed by the writers, all-or-nothing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import PopgenHubError
from .files import staged_outputs
from .result import ScanResult
from .runtime import OnnxModel
from .scoring import score_input
from .writers import BUILTIN_WRITERS, WRITERS, IgvBatch, Writer, snapshot_tools


def scan_vcf(model: OnnxModel, vcf: str | os.PathLike, out_dir: str | os.PathLike, *,
             genome: str | None = None, snapshot: bool = False, writers: Sequence[str] = (),
             **options: Any) -> ScanResult:
    """Scan ``vcf`` and write BigWig track(s), a window table, chrom.sizes and an IGV batch.

    ``options`` are :func:`popgen_hub.scoring.score_input`'s (region, window, step, seed,
    samples, sample_column, age_column, batch_size, workers, progress). ``genome`` goes into
    the IGV batch script (``hg38``, a FASTA or chrom.sizes path; default: the chrom.sizes
    written beside the tracks, which works offline); ``snapshot`` also renders its view with
    IGV desktop to ``igv_snapshot.png``. ``writers`` names extra writers from plugins.
    """
    if snapshot:
        snapshot_tools()  # fail before the work, not after
    chosen = [(name, WRITERS.get(name)) for name in BUILTIN_WRITERS]
    chosen.append(("igv", IgvBatch(genome, snapshot)))
    chosen += [(name, WRITERS.get(name)) for name in dict.fromkeys(writers)
               if name not in BUILTIN_WRITERS]
    with staged_outputs(Path(out_dir)) as staging:
        result = score_input(model, vcf, **options)
        for name, write in chosen:
            _run_writer(name, write, result, staging)
            result.outputs = {file: staging.final(file) for file in staging.names}
    return result


def _run_writer(name: str, write: Writer, result: ScanResult, staging: Any) -> None:
    if name in BUILTIN_WRITERS or isinstance(write, IgvBatch):
        write(result, staging)
        return
    try:
        write(result, staging)
    except PopgenHubError:
        raise
    except Exception as exc:  # someone else's code: name it, publish nothing
        raise PopgenHubError(f"writer {name!r} (a plugin) failed: "
                             f"{type(exc).__name__}: {exc}") from exc
