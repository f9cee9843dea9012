"""The files of ``popgen-hub explain``: per window a figure, the arrays (.npz) and a table (TSV).

Image models: ``MODEL.CONTIG_START-END.png`` (the encoded image and the heat map of the
column blocks' attributions side by side, image columns labelled with the bp of their sites,
the row blocks' attributions beside them, and the attribution per kb along the window below),
``.npz`` and ``.tsv`` (attribution per column block with its bp span). Temporal models:
``.time_points.tsv`` and ``.time_points.png`` (a bar per time point) and ``.npz``. Models of
statistics beside their genome's background: ``.png`` (a bar per statistic, and the
attribution per kb of the sub-windows along the window), ``.tsv`` (attribution per sub-window
with its bp span), ``.statistics.tsv`` and ``.npz``. Figures need matplotlib (the ``explain``
extra); everything is published together or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .explain import Explanation, per_bp
from .files import Staging, staged_outputs
from .genotypes.region import braced


def write_explanations(explanations: list[Explanation], out_dir: str | os.PathLike,
                       model_name: str, fill: str, command: str = "") -> list[Path]:
    """Write every window's files into ``out_dir``; returns their final paths."""
    import matplotlib

    matplotlib.use("Agg")
    with staged_outputs(out_dir, command) as staging:
        for explanation in explanations:
            prefix = f"{model_name}.{explanation.name}"
            masked = ("replaced by the genome's background" if explanation.kind == "statistics"
                      else f"masked with the {fill}")
            header = (f"# {model_name}: occlusion attributions (drop of the log-odds of "
                      f"P({explanation.label}) when {masked}) in "
                      f"{braced(explanation.contig)}:{explanation.start + 1}-{explanation.end}; "
                      f"unmasked log-odds {explanation.score:.4f}; bp 0-based half-open\n")
            _write_npz(explanation, staging.path(f"{prefix}.npz"))
            if explanation.kind == "time_points":
                _write_time_points(explanation, staging, prefix, header)
            elif explanation.kind == "statistics":
                _write_statistics(explanation, staging, prefix, header, model_name)
            else:
                _write_columns(explanation, staging.path(f"{prefix}.tsv"), header)
                _image_figure(explanation, staging.path(f"{prefix}.png"), model_name)
        return [staging.final(name) for name in staging.names]


def _write_npz(explanation: Explanation, path: Path) -> None:
    arrays = {f"input_{name}": array for name, array in explanation.inputs.items()}
    if explanation.kind == "image":
        arrays["image"] = explanation.image
    np.savez_compressed(
        path, **arrays, contig=explanation.contig,
        window=np.array([explanation.start, explanation.end]), label=explanation.label,
        score=explanation.score, n_sites=explanation.n_sites,
        col_blocks=explanation.col_blocks, col_spans=explanation.col_spans,
        col_attribution=explanation.col_attribution, row_blocks=explanation.row_blocks,
        row_attribution=explanation.row_attribution,
        time_points=np.array(explanation.time_points, dtype=str),
        time_attribution=explanation.time_attribution,
        statistics=np.array(explanation.statistics, dtype=str),
        statistic_attribution=explanation.statistic_attribution)


def _write_columns(explanation: Explanation, path: Path, header: str) -> None:
    lines = [header, "contig\tstart\tend\tfirst_column\tend_column\tattribution\n"]
    for (first, stop), (start, end), value in zip(explanation.col_blocks, explanation.col_spans,
                                                  explanation.col_attribution, strict=True):
        where = f"{start}\t{end}" if start >= 0 else "NA\tNA"
        lines.append(f"{explanation.contig}\t{where}\t{first}\t{stop}\t{value:.6g}\n")
    path.write_text("".join(lines))


def _write_time_points(explanation: Explanation, staging: Staging, prefix: str,
                       header: str) -> None:
    import matplotlib.pyplot as plt

    lines = [header, "time_point\tattribution\n"]
    lines += [f"{name}\t{value:.6g}\n" for name, value in
              zip(explanation.time_points, explanation.time_attribution, strict=True)]
    staging.path(f"{prefix}.time_points.tsv").write_text("".join(lines))
    values = explanation.time_attribution
    fig, ax = plt.subplots(figsize=(1.1 * len(values) + 2.5, 3.6))
    ax.bar(range(len(values)), values, color=np.where(values >= 0, "tab:red", "tab:blue"))
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(values)), explanation.time_points, rotation=20)
    ax.set(xlabel="time point masked", ylabel="drop of the log-odds")
    ax.set_title(f"{_where(explanation)}: log-odds P({explanation.label}) "
                 f"{explanation.score:.2f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(staging.path(f"{prefix}.time_points.png"), dpi=120)
    plt.close(fig)


def _write_statistics(explanation: Explanation, staging: Staging, prefix: str, header: str,
                      model_name: str) -> None:
    """The sub-windows' and the statistics' attributions: two tables and one figure."""
    import matplotlib.pyplot as plt

    lines = [header, "contig\tstart\tend\tattribution\n"]
    lines += [f"{explanation.contig}\t{start}\t{end}\t{value:.6g}\n" for (start, end), value
              in zip(explanation.col_spans, explanation.col_attribution, strict=True)]
    staging.path(f"{prefix}.tsv").write_text("".join(lines))
    names, values = explanation.statistics, explanation.statistic_attribution
    lines = [header, "statistic\tattribution\n"]
    lines += [f"{name}\t{value:.6g}\n" for name, value in zip(names, values, strict=True)]
    staging.path(f"{prefix}.statistics.tsv").write_text("".join(lines))
    fig, (ax_stats, ax_bp) = plt.subplots(2, 1, figsize=(9, 0.32 * len(names) + 4.2),
                                          height_ratios=[0.32 * len(names) + 0.6, 2.2],
                                          layout="constrained")
    ax_stats.barh(range(len(values)), values,
                  color=np.where(values >= 0, "tab:red", "tab:blue"))
    ax_stats.axvline(0, color="black", lw=0.8)
    ax_stats.set_yticks(range(len(names)), names, fontsize=8)
    ax_stats.set(ylim=(len(names) - 0.5, -0.5), xlabel="drop of the log-odds when the "
                 "statistic is replaced by the genome's background")
    _per_kb(ax_bp, explanation)
    ax_bp.set_title("each sub-window's statistics replaced by the genome's background",
                    fontsize=9)
    fig.suptitle(f"{model_name} on {_where(explanation)}: log-odds P({explanation.label}) "
                 f"{explanation.score:.2f}", fontsize=10)
    fig.savefig(staging.path(f"{prefix}.png"), dpi=110)
    plt.close(fig)


def _where(explanation: Explanation) -> str:
    return f"{braced(explanation.contig)}:{explanation.start + 1:,}-{explanation.end:,}"


def _image_figure(explanation: Explanation, path: Path, model_name: str) -> None:
    """Image | column heat map | row bars, and the attribution per kb along the window."""
    import matplotlib.pyplot as plt

    image = explanation.image
    n_rows, n_cols = image.shape
    limit = max(np.abs(explanation.col_attribution).max(initial=0), 1e-9)
    fig = plt.figure(figsize=(12, 6.5), layout="constrained")
    grid = fig.add_gridspec(2, 3, width_ratios=[1, 1, 0.25], height_ratios=[3, 1.3])
    ax_image, ax_heat = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    ax_rows, ax_bp = fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[1, :2])
    ax_image.imshow(image, cmap="Greys", aspect="auto", interpolation="nearest")
    ax_image.set(ylabel="haplotypes (most frequent first)", title="encoded image")
    per_column = np.zeros(n_cols)
    for (first, stop), value in zip(explanation.col_blocks, explanation.col_attribution,
                                    strict=True):
        per_column[first:stop] = value
    heat = ax_heat.imshow(np.broadcast_to(per_column, (n_rows, n_cols)), aspect="auto",
                          interpolation="nearest", cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax_heat.imshow(np.ma.masked_equal(image, 0), cmap="Greys", vmin=0, vmax=1.5, alpha=0.35,
                   aspect="auto", interpolation="nearest")
    ax_heat.set(title="column blocks masked", yticks=[])
    rows = explanation.row_blocks
    ax_rows.barh((rows[:, 0] + rows[:, 1] - 1) / 2, explanation.row_attribution,
                 height=rows[:, 1] - rows[:, 0], color="tab:red")
    ax_rows.axvline(0, color="black", lw=0.6)
    ax_rows.set(ylim=(n_rows - 0.5, -0.5), yticks=[], title="rows masked",
                xlabel="drop")
    for ax in (ax_image, ax_heat):
        _bp_ticks(ax, explanation)
    _per_kb(ax_bp, explanation)
    fig.colorbar(heat, ax=ax_bp, location="right", fraction=0.05,
                 label="drop (column blocks)")
    fig.suptitle(f"{model_name} on {_where(explanation)}: log-odds P({explanation.label}) "
                 f"{explanation.score:.2f}; drop of the log-odds when a block is masked",
                 fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bp_ticks(ax: Any, explanation: Explanation) -> None:
    """Image columns labelled with the bp (kb) of the first site of every few column blocks."""
    firsts = explanation.col_blocks[:, 0]
    every = max(1, len(firsts) // 6)
    ticks = [(first, start) for first, start in zip(firsts[::every],
                                                    explanation.col_spans[::every, 0],
                                                    strict=True) if start >= 0]
    ax.set_xticks([first - 0.5 for first, _ in ticks], [f"{start / 1e3:,.1f}"
                                                         for _, start in ticks], rotation=30)
    ax.set_xlabel(f"{explanation.contig} kb (the column's first site)")


def _per_kb(ax: Any, explanation: Explanation) -> None:
    """The column blocks' attributions spread over their bp spans, along the window."""
    edges, density = per_bp(explanation)
    ax.stairs(density * 1e3, edges / 1e3, fill=True, color="tab:red", alpha=0.7)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlim(explanation.start / 1e3, explanation.end / 1e3)
    ax.set(xlabel=f"{explanation.contig} position (kb)", ylabel="attribution per kb")
