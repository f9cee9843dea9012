"""Training curve, confusion matrix and predicted-against-true figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..contract import figure_text  # noqa: E402
from .history import EpochRecord, best_epoch  # noqa: E402


def plot_training_curve(history: list[EpochRecord], path: Path, title: str,
                        loss: str = "cross-entropy loss", quality: str = "accuracy") -> None:
    """Loss and quality (named ``loss`` and ``quality``) by epoch, the kept epoch marked."""
    epochs = [h.epoch for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [h.train_loss for h in history], "o-", label="training")
    ax_loss.plot(epochs, [h.validation_loss for h in history], "s-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel=loss)
    ax_acc.plot(epochs, [h.train_quality for h in history], "o-", label="training")
    ax_acc.plot(epochs, [h.validation_quality for h in history], "s-", label="validation")
    best = best_epoch(history)
    ax_acc.axvline(best.epoch, color="grey", ls=":", label=f"kept (epoch {best.epoch})")
    ax_acc.set(xlabel="epoch", ylabel=quality)
    for ax in (ax_loss, ax_acc):
        ax.legend(frameon=False)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_confusion_matrix(counts: np.ndarray, labels: list[str], path: Path, title: str) -> None:
    normalised = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.6 * len(labels) + 2, 1.4 * len(labels) + 1.6))
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{normalised[i, j]:.3f}\n({counts[i, j]})", ha="center", va="center",
                    color="white" if normalised[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_predicted_vs_true(test: dict, path: Path, title: str) -> None:
    """A regression's held-out figures: per bin of the true value, the median predicted value
    (bars: its 10th to 90th percentile) against the mean true value, on log axes when the
    target is learnt on a log10 scale (``test``: :func:`~popgen_hub.evaluate.
    regression_metrics`)."""
    bins = test["by_true_value"]
    true = np.array([b["mean_true"] for b in bins])
    predicted = np.array([b["median_predicted"] for b in bins])
    spread = np.array([[b["median_predicted"] - b["p10_predicted"],
                        b["p90_predicted"] - b["median_predicted"]] for b in bins]).T
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.errorbar(true, predicted, yerr=spread, fmt="o", capsize=3, label="median (10-90 %)")
    low, high = min(true.min(), predicted.min()), max(true.max(), predicted.max())
    ax.plot([low, high], [low, high], color="grey", ls=":", label="perfect")
    if test.get("log10"):
        ax.set(xscale="log", yscale="log")
    ax.set(xlabel=f"true {test['label']}", ylabel=f"predicted {test['label']}")
    scale = "log10 " if test.get("log10") else ""
    ax.set_title(f"{title}\nPearson r ({scale}values) {figure_text(test['pearson'])}, "
                 f"RMSE {test['rmse']:.3f}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_repeat_panels(panels: dict[str, dict], path: Path, title: str) -> None:
    """The review's Fig. 3: one row-normalised confusion matrix per panel, mean ± sd over
    repeats, with the panel's mean test accuracy. ``panels``: title -> repeats summary."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.9 * len(panels), 3.9), squeeze=False)
    for ax, (name, summary) in zip(axes[0], panels.items(), strict=True):
        mean, sd = np.asarray(summary["mean_normalised"]), np.asarray(summary["sd_normalised"])
        labels = [label.replace("_overdominance", "") for label in summary["labels"]]
        ax.imshow(mean, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, f"{mean[i, j]:.2f}\n± {sd[i, j]:.2f}", ha="center", va="center",
                        color="white" if mean[i, j] > 0.6 else "black", fontsize=9)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set(xlabel="predicted", ylabel="true")
        accuracy = summary["accuracy"]
        ax.set_title(f"{name}\ntest accuracy {accuracy['mean']:.3f} ± {accuracy['sd']:.3f} "
                     f"({summary['repeats']} repeats)", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(curves: dict[str, dict[str, list[float]]], path: Path, title: str) -> None:
    """A reliability diagram: per bin, the mean predicted probability against the observed
    frequency (top), and the number of windows in each bin (bottom), for each named curve
    (see :func:`popgen_hub.training.calibrate.reliability`)."""
    fig, (ax, ax_counts) = plt.subplots(2, 1, figsize=(4.8, 5.6), sharex=True,
                                        gridspec_kw={"height_ratios": (3, 1)})
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="perfectly calibrated")
    for (name, curve), marker in zip(curves.items(), "os^v", strict=False):
        ax.plot(curve["predicted"], curve["observed"], f"{marker}-", label=name)
        ax_counts.plot(curve["predicted"], curve["count"], f"{marker}-", label=name)
    ax.set(ylabel="observed frequency", xlim=(0, 1), ylim=(0, 1))
    ax.set_title(title, fontsize=9)
    ax_counts.set(xlabel="predicted probability", ylabel="windows")
    for axis in (ax, ax_counts):
        axis.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
