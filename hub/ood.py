"""Out-of-distribution flags: is a window like the data a model was trained on?

A model only knows the windows it was trained on. Per window, a handful of cheap statistics of
the raw sites (before encoding) are compared with their distribution over the model's training
data, stored with the model as ``contract.references["training_stats"]``
(:func:`training_statistics` makes it). The statistics, chosen to be cheap (one pass over the
window's sites) and to catch what most often differs between real data and simulations:

=====================  =====================================================================
``snp_density``        segregating sites per kb: mutation rate x diversity, and the filtering
                       of the calls (a strict mask or low coverage lowers it)
``missingness``        share of missing calls; simulations have none, and an encoder fills
                       missing calls with a rule, not data
``informative_sites``  sites the encoder keeps (its ``n_informative``, e.g. above its minor
                       allele frequency): what the model actually sees
``h12``                Garud's haplotype homozygosity H12: haplotype structure (a bottleneck,
                       inbreeding or a sweep beyond the training range raise it)
``tajimas_d``          Tajima's D: the shape of the frequency spectrum, the classic summary
                       of demography (growth lowers it, a bottleneck or structure raise it)
=====================  =====================================================================

π/θW is left out: with D and the SNP density it adds nothing. Rules (:func:`flag_bits`): a
window is flagged for a statistic outside the training ``[0.001, 0.999]`` quantiles (about
0.2 % of training-like windows per statistic, so ~1 % of windows overall by chance: rare
enough to be read, common enough to catch a shifted input), and always when more than 20 % of
its calls are missing (simulated calls have none; the quantile rule would flag one missing
call), or more than the training windows' top quantile where that is higher (likelihood models
trained on reads: at low depth an individual without a read at a SNP is a missing call). NaN
statistics (no segregating site, no complete haplotype) flag nothing themselves.

The statistics of a model of individuals move with the number of individuals read and their
read depth (fewer individuals or reads, fewer segregating and informative sites), so calibrate
stores them per condition too, beside each conditioned null
(:data:`popgen_hub.calibration.CONDITIONS`), leaving out G12 (:data:`SIZE_BOUND`); a scan
flags against the condition nearest the individuals it reads and their mean depth over the
whole scan (:func:`scan_reference`), as its p-values: each window's statistics are kept with it
(the window dtype's ``statistics``) and flagged once the scan is merged, so that the flags do
not depend on how the scan was split into pieces.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import CONDITIONS, nearest_condition
from .genotypes import GenotypeBlock
from .stats import window_statistics

#: The statistics, in the column order of :func:`window_values`.
STATISTICS = ("snp_density", "missingness", "informative_sites", "h12", "tajimas_d")
QUANTILES = (0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999)
#: A window outside these training quantiles of a statistic is flagged.
FLAG_RANGE = (0.001, 0.999)
#: A window with more missing calls than this is flagged, whatever the training data hold.
MAX_MISSINGNESS = 0.2
#: The quantiles a stored reference must give: the flag range, and the quartiles that
#: ``scan --model auto`` compares (:mod:`popgen_hub.auto`).
NEEDED = (*FLAG_RANGE, 0.25, 0.5, 0.75)
#: Flag reasons, bit ``i`` of a window's ``flags`` being ``REASONS[i]``.
REASONS = ("missing_calls", *(f"{name}_{side}" for name in STATISTICS if name != "missingness"
                              for side in ("low", "high")))
REFERENCE = "training_stats"
#: The training statistics of each training history (:mod:`popgen_hub.history_statistics`).
BY_HISTORY = "training_stats_by_history"


def as_seen(encoder: Any, block: GenotypeBlock) -> GenotypeBlock:
    """``block`` as a model's training statistics describe it: models of individuals (an
    encoder with ``as_individuals``) were described on unphased individuals (G12, not H12),
    whether a scan's VCF is phased or not."""
    to_individuals = getattr(encoder, "as_individuals", None)
    return to_individuals(block) if to_individuals is not None else block


def window_values(block: GenotypeBlock, start: int, end: int, n_informative: int
                  ) -> np.ndarray:
    """The :data:`STATISTICS` of the sites of ``block`` in ``[start, end)`` (the window, clipped
    to the contig), ``n_informative`` of them kept by the encoder."""
    row = window_statistics(block, start, end)
    alleles = (block.values.shape[1] if block.kind == "haplotypes"
               else int(np.sum(block.samples.ploidy)))
    called = row["called_alleles"] if row["n_sites"] else float(alleles)
    return np.array([1000 * row["segregating_sites"] / max(end - start, 1),
                     1 - called / max(alleles, 1), n_informative, row["h12"],
                     row["tajimas_d"]], dtype=np.float64)


def training_statistics(source: str | os.PathLike | Iterable[GenotypeBlock], *,
                        encoder: Any = None, window_bp: int | None = None,
                        progress: bool = False) -> dict[str, Any]:
    """The reference to store as ``contract.references["training_stats"]``: quantiles
    (:data:`QUANTILES`), mean and sd of each of the :data:`STATISTICS` over the windows of
    ``source``, a dataset folder (its raw replicates, every one a window of the scenario's
    length) or :class:`GenotypeBlock` s of ``window_bp`` each, starting at 0.

    ``encoder`` (an :class:`~popgen_hub.encoders.Encoder`, e.g. ``model.encoder``) counts the
    informative sites and picks the rows it reads; default: a dataset's own encoder (without
    one, for bare blocks, ``informative_sites`` is left out).
    """
    blocks, window_bp, encoder = _training_blocks(source, encoder, window_bp)
    from tqdm.auto import tqdm

    seen = (as_seen(encoder, block) for block in tqdm(
        blocks, desc="training statistics", unit="win", disable=not progress))
    values = [window_values(block, 0, window_bp, encoder.encode(block, (0, window_bp)).n_sites
                            if encoder is not None else -1) for block in seen]
    if not values:
        raise ValueError("training_statistics needs at least one window")
    return statistics_reference(np.vstack(values), window_bp, informative=encoder is not None)


#: Statistics a stored sample size cannot judge another by: G12 of n unphased individuals
#: sits at its floor of about 1 / n in most windows, so 64 individuals read against the
#: condition of 50 would all be "h12_low". ``calibrate`` leaves them out of the conditions.
SIZE_BOUND = ("h12",)


def statistics_reference(table: np.ndarray, window_bp: int, informative: bool = True,
                         leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """A ``training_stats`` reference of a table of :func:`window_values` rows (one per window
    of ``window_bp``); ``informative``: whether its informative-site counts are known;
    ``leave_out``: statistics not to flag on."""
    statistics = {}
    for column, name in enumerate(STATISTICS):
        finite = table[:, column][np.isfinite(table[:, column])]
        if len(finite) and (informative or name != "informative_sites") and \
                name not in leave_out:
            statistics[name] = {
                "quantiles": {f"{q:g}": float(v) for q, v in
                              zip(QUANTILES, np.quantile(finite, QUANTILES), strict=True)},
                "mean": float(finite.mean()), "sd": float(finite.std()), "n": len(finite)}
    return {"statistics": statistics, "n_windows": len(table), "window_bp": int(window_bp)}


def _training_blocks(source: str | os.PathLike | Iterable[GenotypeBlock], encoder: Any,
                     window_bp: int | None) -> tuple[Iterator[GenotypeBlock], int, Any]:
    """The windows of a dataset (the rows ``encoder`` reads) or of bare blocks."""
    if not isinstance(source, (str, os.PathLike)):
        blocks = list(source)
        if window_bp is None:
            window_bp = max(int(block.positions[-1]) + 1 for block in blocks if block.n_sites)
        return iter(blocks), window_bp, encoder
    from .datasets import iter_replicates, load_manifest, time_points
    from .encoders import build_encoder, rows_for

    manifest = load_manifest(Path(source))
    encoder = encoder or build_encoder(manifest["encoder"])
    rows = rows_for(encoder, time_points(manifest), source=str(source))
    length = window_bp or int(manifest["parameters"]["length"])
    return (block.take_columns(rows) for _, block in iter_replicates(source, manifest)), \
        length, encoder


def missing_limit(reference: dict[str, Any]) -> float:
    """The share of missing calls above which a window is flagged: :data:`MAX_MISSINGNESS`,
    or the training windows' top quantile where they had more (models trained on reads at
    low depth, where an individual without a read at a SNP is a missing call)."""
    summary = reference["statistics"].get("missingness")
    high = summary["quantiles"][f"{FLAG_RANGE[1]:g}"] if summary else None
    return max(MAX_MISSINGNESS, high) if high is not None else MAX_MISSINGNESS


def flag_bits(values: np.ndarray, reference: dict[str, Any]) -> np.ndarray:
    """Per window (a row of :func:`window_values`), the bitmask of its :data:`REASONS`."""
    values = np.atleast_2d(values)
    bits = np.zeros(len(values), dtype=np.uint16)
    with np.errstate(invalid="ignore"):
        bits[values[:, STATISTICS.index("missingness")] > missing_limit(reference)] |= 1
        for name, summary in reference["statistics"].items():
            if name == "missingness":
                continue
            column = values[:, STATISTICS.index(name)]
            low, high = (summary["quantiles"][f"{q:g}"] for q in FLAG_RANGE)
            bits[column < low] |= 1 << REASONS.index(f"{name}_low")
            bits[column > high] |= 1 << REASONS.index(f"{name}_high")
    return bits


def scan_reference(references: dict[str, Any], individuals: int | None,
                   depth: float | None = None) -> dict[str, Any] | None:
    """The training statistics windows are compared with: for a model of individuals that
    stores them by condition, those of the condition nearest the ``individuals`` read and
    their mean read ``depth`` (None: unknown, the training depths pooled)
    (:func:`popgen_hub.calibration.nearest_condition`), since both move with them; else the
    pooled ones (None: no flags)."""
    condition = nearest_condition(references, individuals, depth)
    return condition[REFERENCE] if condition else references.get(REFERENCE)


def match_references(references: dict[str, Any], individuals: int | None,
                     depth: float | None = None) -> dict[str, dict[str, Any]]:
    """What ``scan --model auto`` compares an input with: the scan's reference
    (:func:`scan_reference`) keyed "", and where stored, each training history's, keyed by the
    history."""
    pooled = scan_reference(references, individuals, depth)
    by_history = references.get(BY_HISTORY, {}).get("histories", {})
    return {**({"": pooled} if pooled else {}), **by_history}


def by_history_problems(record: Any, trained_on: list[str] | None = None,
                        window_bp: int | None = None) -> list[str]:
    """What is wrong with stored training statistics by history (empty: nothing), of a model
    trained on the histories ``trained_on`` (None: not recorded) with windows of ``window_bp``
    (None: any)."""
    where = f"references.{BY_HISTORY}"
    if not isinstance(record, dict) or not isinstance(record.get("histories"), dict) or \
            not record["histories"] or not isinstance(record.get("source"), str):
        return [f"{where} must be an object with a 'source' text and a non-empty 'histories' "
                f"object"]
    foreign = [history for history in record["histories"]
               if trained_on is not None and history not in trained_on]
    if foreign:
        return [f"{where} describes {foreign[0]!r}, a history the model was not trained on"]
    return [problem for history, reference in record["histories"].items()
            for problem in reference_problems(reference, f"{where}.histories[{history!r}]",
                                              window_bp)]


def history_summary(record: dict[str, Any]) -> str:
    """Stored statistics by history in one line: how many, and the range of median SNP
    density over the histories (what most often sets one apart)."""
    histories = record["histories"]
    text = f"training statistics by history, {len(histories)} histories: {record['source']}"
    density = {history: reference["statistics"]["snp_density"]["quantiles"]["0.5"]
               for history, reference in histories.items()
               if "snp_density" in reference["statistics"]}
    if not density:
        return text
    low, high = min(density, key=density.get), max(density, key=density.get)
    return (f"{text}; median SNPs per kb from {density[low]:.2f} ({low}) to "
            f"{density[high]:.2f} ({high})")


def reasons(bits: int) -> list[str]:
    """The names of the reasons set in a window's ``flags``."""
    return [name for i, name in enumerate(REASONS) if int(bits) >> i & 1]


def flag_text(bits: int) -> str:
    """A window's reasons joined by ',' (empty when it is not flagged)."""
    return ",".join(reasons(bits))


def reason_counts(flags: np.ndarray) -> dict[str, int]:
    """Flagged windows per reason, most frequent first (a window may count for several)."""
    counts = {name: int(np.count_nonzero(flags >> i & 1)) for i, name in enumerate(REASONS)}
    return dict(sorted(((n, c) for n, c in counts.items() if c), key=lambda item: -item[1]))


def flag_note(model: str, references: dict[str, Any]) -> str:
    """What a window table's ``flag`` column means, or why it is empty."""
    reference = references.get(REFERENCE)
    if reference is None:
        return f"empty: {model} stores no training statistics, so no window is flagged"
    conditioned = CONDITIONS in references
    data = (f"training data ({reference['n_windows']} windows)" if not conditioned
            else "training data drawn at the stored condition nearest the individuals read "
                 "and their mean read depth")
    flagged = [name for name in STATISTICS if not (conditioned and name in SIZE_BOUND)]
    return (f"reasons the window's input is unlike {model}'s {data}: a statistic outside the "
            f"training [{FLAG_RANGE[0]:g}, {FLAG_RANGE[1]:g}] quantiles ({', '.join(flagged)}), "
            f"missing_calls above {MAX_MISSINGNESS:.0%} (or above the training windows' top "
            f"quantile where higher); empty: none")


def flag_summary(model: str, flags: np.ndarray) -> str | None:
    """One line on the flagged windows of a scan (None when none is flagged)."""
    counts = reason_counts(flags)
    if not counts:
        return None
    reasons_text = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    return (f"{np.count_nonzero(flags):,} of {len(flags):,} windows outside {model}'s "
            f"training data: {reasons_text}; see the flag column")


def reference_problems(reference: Any, where: str = f"references.{REFERENCE}",
                       window_bp: int | None = None) -> list[str]:
    """What is wrong with a stored ``training_stats`` reference at ``where`` in the contract of
    a model of windows of ``window_bp`` (None: any) (empty: nothing)."""
    if not isinstance(reference, dict) or not isinstance(reference.get("statistics"), dict):
        return [f"{where} must be an object with a 'statistics' object"]
    window = reference.get("window_bp")
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        return [f"{where}.window_bp is {window!r}, not a positive number"]
    if window_bp is not None and window != window_bp:
        # statistics of other windows (H12, informative sites) do not describe this model's
        return [f"{where}.window_bp is {window}, not the model's window ({window_bp} bp)"]
    for name, summary in reference["statistics"].items():
        statistic = f"{where}.statistics.{name}"
        if name not in STATISTICS:
            return [f"{statistic} is not a known statistic ({', '.join(STATISTICS)})"]
        quantiles = summary.get("quantiles") if isinstance(summary, dict) else None
        if not isinstance(quantiles, dict) or not all(f"{q:g}" in quantiles for q in NEEDED):
            return [f"{statistic} needs quantiles {', '.join(f'{q:g}' for q in NEEDED)}"]
        try:
            numbers = [quantiles[key] for key in sorted(quantiles, key=float)]
        except ValueError:
            return [f"{statistic}.quantiles must be keyed by quantile, e.g. '0.5'"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
                   for v in numbers) or numbers != sorted(numbers):
            return [f"{statistic}.quantiles must be finite numbers, increasing"]
    return []
