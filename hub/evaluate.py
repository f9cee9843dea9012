"""``popgen-hub evaluate MODEL DATA``: accuracy and row-normalised confusion matrix of any
classifier on any labelled data, errors and correlations of a regression by true value, through
onnxruntime (no torch).

DATA is a dataset (``popgen-hub simulate`` / ``import``) or a folder of ms files laid out like
the review's (``CLASS/1..5/*.txt``: class folders, time-point subfolders, replicates paired by
file name), read with the ms importer into a temporary dataset. Each replicate is encoded from
its raw haplotypes with the model's own encoder, so one dataset serves every model.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .contract import figure_text
from .datasets import MANIFEST, encode_dataset, load_manifest, target_values
from .encoders.inputs import take
from .errors import PopgenHubError
from .files import write_text_atomic
from .runtime import OnnxModel

log = logging.getLogger("popgen_hub")

#: The fewest replicates of a class that held-out figures are meaningful on: a rate (a cell of
#: the row-normalised confusion matrix, or a class's accuracy) measured on n replicates has a
#: standard error of sqrt(p (1 - p) / n), up to 0.05 at n = 100; below that its 95 % interval
#: is wider than +-0.1, too wide to tell two models, or two settings, apart.
MIN_PER_CLASS = 100
#: Bins of the true value a regression's errors are given by (equal numbers of replicates).
VALUE_BINS = 8


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts; rows = true class, columns = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def warn_if_few(labels: np.ndarray, label_names: list[str], what: str) -> None:
    """Warn when a class has fewer than :data:`MIN_PER_CLASS` replicates: ``what`` (figures
    measured on ``labels``) then say little."""
    counts = np.bincount(labels, minlength=len(label_names))
    fewest = int(counts.argmin())
    if counts[fewest] < MIN_PER_CLASS:
        log.warning(
            f"warning: {what} rest on {len(labels)} replicates ({counts[fewest]} of class "
            f"{label_names[fewest]!r}): below {MIN_PER_CLASS} per class a rate's standard error "
            f"can exceed 0.05, so they are not meaningful; hold out more replicates")


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray,
                           label_names: list[str], what: str = "these figures"
                           ) -> dict[str, Any]:
    """Accuracy and confusion matrix (counts and row-normalised) of predicted probabilities;
    a warning when they rest on too few replicates (``what`` names them in it)."""
    warn_if_few(labels, label_names, what)
    predicted = probabilities.argmax(1)
    counts = confusion_matrix(labels, predicted, len(label_names))
    rows = counts.sum(1, keepdims=True)
    return {
        "n": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "labels": list(label_names),
        "confusion_matrix": counts.tolist(),
        "confusion_matrix_normalised": np.round(counts / np.maximum(rows, 1), 4).tolist(),
    }


def regression_metrics(truth: np.ndarray, predicted: np.ndarray, label: str, *,
                       log10: bool) -> dict[str, Any]:
    """A regression's figures: Pearson and Spearman correlation, RMSE, mean absolute error
    and bias (predicted - true), on log10 values when ``log10`` (the scale the target is
    learnt on; non-positive predictions count as the smallest true value), and by bins of the
    true value (equal numbers of replicates): its range, the mean true value and the median,
    10th and 90th percentile of the predictions, on the natural scale, and the RMSE on the
    metrics' scale."""
    if log10:
        truth, predicted = np.log10(truth), np.log10(np.where(predicted > 0, predicted,
                                                              truth.min()))
    error = predicted - truth
    edges = np.quantile(truth, np.linspace(0, 1, VALUE_BINS + 1))
    which = np.clip(np.searchsorted(edges, truth, side="right") - 1, 0, VALUE_BINS - 1)
    natural = (lambda x: 10.0 ** x) if log10 else (lambda x: x)
    bins = []
    for b in range(VALUE_BINS):
        inside = which == b
        if inside.any():
            shown = natural(predicted[inside])
            bins.append({"low": float(natural(edges[b])), "high": float(natural(edges[b + 1])),
                         "n": int(inside.sum()),
                         "mean_true": float(natural(truth[inside]).mean()),
                         "median_predicted": float(np.median(shown)),
                         "p10_predicted": float(np.quantile(shown, 0.1)),
                         "p90_predicted": float(np.quantile(shown, 0.9)),
                         "rmse": float(np.sqrt((error[inside] ** 2).mean()))})

    # correlations need three values and spread on both sides (None: undefined)
    spread = len(truth) >= 3 and np.ptp(truth) > 0 and np.ptp(predicted) > 0
    return {"n": int(len(truth)), "label": label, "log10": log10,
            "pearson": float(np.corrcoef(truth, predicted)[0, 1]) if spread else None,
            "spearman": float(np.corrcoef(average_ranks(truth), average_ranks(predicted))[
                0, 1]) if spread else None,
            "rmse": float(np.sqrt((error ** 2).mean())), "mae": float(np.abs(error).mean()),
            "bias": float(error.mean()), "by_true_value": bins}


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 0, tied values sharing their mean rank (Spearman's correlation; windows of
    one cold region share a true rate)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts
    return (first + (counts - 1) / 2)[inverse]


def evaluate_model(model: OnnxModel, data: str | Path, *, classes: dict[str, str] | None = None,
                   time_points: list[float] | None = None, length: float | None = None,
                   indices: np.ndarray | None = None, batch_size: int = 256,
                   progress: bool = True) -> dict[str, Any]:
    """Metrics of ``model`` on ``data`` (see the module doc); ``indices`` picks replicates.

    For an ms folder, ``classes`` maps the model's labels to class subfolders (default: folders
    named like the labels), ``time_points`` gives the subfolders' ages in years and ``length``
    the locus length (default: the model's window).
    """
    data = Path(data)
    if not data.exists():
        raise PopgenHubError(f"{data} does not exist")
    if (data / MANIFEST).is_file():
        return _evaluate_dataset(model, data, indices, batch_size, progress)
    if model.contract.output_kind == "regression":
        raise PopgenHubError(f"{data} is not a dataset: {model.contract.name} regresses a "
                             f"value, which ms folders do not record; simulate a dataset "
                             f"(`popgen-hub simulate {model.contract.training.get('scenario')} "
                             f"--n N -o DIR`)")
    with tempfile.TemporaryDirectory(prefix="popgen-hub-evaluate-") as scratch:
        imported = _import_ms_folder(model, data, classes, time_points, length,
                                     Path(scratch) / "data", progress)
        result = _evaluate_dataset(model, imported, indices, batch_size, progress)
    return {**result, "data": str(data)}


def evaluate_embedding(model: OnnxModel, vcf: str | Path, samples: str | Path | None,
                       region: str | None = None, k: int = 5) -> dict[str, Any]:
    """How well an embedding model's map separates known populations: the share of the
    samples of ``vcf`` whose population (the ``population`` column of the ``samples``
    table) the leave-one-out vote of their ``k`` nearest neighbours in the latent space
    recovers, overall and by population."""
    from .embed import (
        check_embedding_model,
        embed_pretrained,
        knn_votes,
        open_input,
        read_genotypes,
    )
    from .readers.samples import read_samples

    name = model.contract.name
    check_embedding_model(model, name)
    if samples is None:
        raise PopgenHubError(f"{name} gives an embedding: it is judged by how well it "
                             f"separates known populations; give --samples TABLE with a "
                             f"population column")
    table = read_samples(samples)
    if not table.populations:
        raise PopgenHubError(f"--samples {table.name} has no population column: an embedding "
                             f"is judged by the populations it recovers; add one")
    reader, regions, selection = open_input(vcf, table, region)
    embedding = embed_pretrained(model, read_genotypes(reader, regions, selection,
                                                       model.encoder), {})
    populations = np.array([table.populations[sample] for sample in embedding.samples])
    right = knn_votes(embedding.mean, populations, k) == populations
    labels = list(dict.fromkeys(populations))
    return {"model": name, "data": str(vcf), "n": len(populations), "k": k,
            "accuracy": float(right.mean()), "labels": labels,
            "recall": {label: float(right[populations == label].mean()) for label in labels},
            "counts": {label: int((populations == label).sum()) for label in labels}}


def format_embedding_metrics(result: dict[str, Any]) -> str:
    """The neighbour vote's accuracy, overall and by population."""
    lines = [f"{result['model']} on {result['data']} ({result['n']} samples): population of "
             f"{result['accuracy']:.1%} of samples recovered by the vote of their "
             f"{result['k']} nearest neighbours in the latent space (leave-one-out)"]
    lines += [f"  {label}: {result['recall'][label]:.1%} of {result['counts'][label]}"
              for label in result["labels"]]
    return "\n".join(lines)


def _import_ms_folder(model: OnnxModel, folder: Path, classes: dict[str, str] | None,
                      time_points: list[float] | None, length: float | None, out: Path,
                      progress: bool) -> Path:
    from .simulate.importers import class_sources, import_dataset

    labels = model.contract.labels
    classes = classes or {label: label for label in labels}
    missing = [label for label in labels if label not in classes]
    if missing:
        raise PopgenHubError(
            f"{folder}: say which folder holds each of {model.contract.name}'s classes "
            f"({', '.join(labels)}) with --class LABEL=FOLDER; missing: {', '.join(missing)}")
    unknown = [label for label in classes if label not in labels]
    if unknown:
        raise PopgenHubError(f"--class {unknown[0]}: {model.contract.name} has no such class; "
                             f"its classes: {', '.join(labels)}")
    paths = {label: folder / classes[label] for label in labels}
    for label, path in paths.items():
        if not path.is_dir():
            raise PopgenHubError(f"{path} (class {label}) is not a folder")
    files = {label: class_sources(str(path), "ms", time_points)
             for label, path in paths.items()}
    return import_dataset("ms", files, out,
                          length=model.contract.input.window_bp if length is None else length,
                          time_points=time_points, simulator=f"ms files from {folder}",
                          progress=progress)


def _evaluate_dataset(model: OnnxModel, path: Path, indices: np.ndarray | None,
                      batch_size: int, progress: bool) -> dict[str, Any]:
    manifest = load_manifest(path)
    if model.contract.output_kind == "regression":
        return _evaluate_regression(model, path, manifest, indices, batch_size, progress)
    labels = model.contract.labels
    unknown = [label for label in manifest["labels"] if label not in labels]
    if unknown:
        raise PopgenHubError(
            f"{path} has class {unknown[0]!r}, which {model.contract.name} does not know (its "
            f"classes: {', '.join(labels)}); import the data with the model's class names")
    inputs, data_labels = encode_dataset(path, model.encoder, progress=progress,
                                         manifest=manifest)
    as_model = np.array([labels.index(name) for name in manifest["labels"]])[data_labels]
    chosen = np.arange(len(as_model)) if indices is None else np.asarray(indices)
    metrics = classification_metrics(
        as_model[chosen], _predict(model, inputs, chosen, batch_size, progress), labels,
        what=f"the figures of {model.contract.name}")
    return {"model": model.contract.name, "data": str(path),
            "scenario": manifest.get("scenario"), **metrics}


def _evaluate_regression(model: OnnxModel, path: Path, manifest: dict[str, Any],
                         indices: np.ndarray | None, batch_size: int, progress: bool
                         ) -> dict[str, Any]:
    """A regression model on a dataset of the same target."""
    target = model.contract.training.get("target")
    if manifest.get("target") != target:
        raise PopgenHubError(
            f"{path} holds {manifest.get('target') or 'classes'}, not the target "
            f"{model.contract.name} regresses ({target}); simulate its scenario "
            f"({model.contract.training.get('scenario')}) with the parameters to test")
    truth = target_values(path, manifest)
    # read as a scan reads it: a fixed seeded subset of the model's number of haplotypes
    wanted, simulated = model.contract.input.n_haplotypes, manifest["parameters"]["n_haplotypes"]
    if simulated < wanted:
        raise PopgenHubError(f"{path} has {simulated} haplotypes per replicate and "
                             f"{model.contract.name} reads {wanted}; simulate at least {wanted} "
                             f"(--param n_haplotypes={wanted})")
    subset = np.sort(np.random.default_rng(0).choice(simulated, wanted, replace=False))
    inputs, _ = encode_dataset(path, model.encoder, progress=progress, manifest=manifest,
                               encode=lambda block, window: model.encoder.encode(
                                   block.take_columns(subset), window))
    chosen = np.arange(len(truth)) if indices is None else np.asarray(indices)
    predicted = _predict(model, inputs, chosen, batch_size, progress)[:, 0]
    metrics = regression_metrics(truth[chosen], predicted.astype(np.float64),
                                 model.contract.labels[0], log10=bool(target["log10"]))
    return {"model": model.contract.name, "data": str(path),
            "scenario": manifest.get("scenario"), **metrics}


def _predict(model: OnnxModel, inputs: dict[str, np.ndarray], chosen: np.ndarray,
             batch_size: int, progress: bool) -> np.ndarray:
    outputs = []
    for start in tqdm(range(0, len(chosen), batch_size), desc="predicting", unit="batch",
                      disable=not progress):
        outputs.append(model.predict(take(inputs, chosen[start:start + batch_size])))
    return np.concatenate(outputs)


def format_metrics(result: dict[str, Any]) -> str:
    """A classifier's accuracy and row-normalised confusion matrix, or a regression's
    figures by bin of the true value, as a small text table."""
    if "by_true_value" in result:
        return _format_regression(result)
    labels = result["labels"]
    width = max(12, *map(len, labels))
    lines = [f"{result['model']} on {result['data']} ({result['n']} replicates): accuracy "
             f"{result['accuracy']:.4f}",
             "row-normalised confusion matrix (rows: true class, columns: predicted)",
             " " * (width + 2) + "  ".join(f"{label[:10]:>10}" for label in labels)]
    for label, row, counts in zip(labels, result["confusion_matrix_normalised"],
                                  result["confusion_matrix"], strict=True):
        lines.append(f"{label:>{width}}  " + "  ".join(f"{v:>10.3f}" for v in row) +
                     f"   (n = {sum(counts)})")
    return "\n".join(lines)


def _format_regression(result: dict[str, Any]) -> str:
    scale = "log10 " if result["log10"] else ""
    pearson, spearman = (figure_text(result[key]) for key in ("pearson", "spearman"))
    lines = [f"{result['model']} on {result['data']} ({result['n']} replicates): "
             f"{result['label']}: Pearson r {pearson}, Spearman "
             f"{spearman} ({scale}values); RMSE {result['rmse']:.3f}, MAE "
             f"{result['mae']:.3f}, bias {result['bias']:+.3f} ({scale}units)",
             f"by true value:          n   mean true   median predicted (10-90 %)   "
             f"RMSE ({scale}units)"]
    lines += [f"  {b['low']:>8.3g}-{b['high']:<8.3g} {b['n']:>6}  {b['mean_true']:>10.3g}   "
              f"{b['median_predicted']:>8.3g} ({b['p10_predicted']:.3g}-"
              f"{b['p90_predicted']:.3g}){'':>6}{b['rmse']:.3f}"
              for b in result["by_true_value"]]
    return "\n".join(lines)


def check_json_path(path: str | Path) -> None:
    """Refuse, before the work, a ``--json`` path that cannot be written."""
    path = Path(path)
    if path.is_dir() or not path.parent.is_dir():
        problem = "is a folder" if path.is_dir() else "its folder does not exist"
        raise PopgenHubError(f"--json {path}: {problem}; give a file name in an existing folder")


def write_json(result: dict[str, Any], path: str | Path) -> None:
    write_text_atomic(path, json.dumps(result, indent=2) + "\n")
