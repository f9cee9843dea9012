"""What a fit writes (the ``train`` extra): ``fit.json``, ``trajectory.png``, the
discriminator as a training run (``discriminator_run/``: model.pt, run.json, parity inputs,
figures, its card source) and that run exported through
:func:`popgen_hub.training.export.export_run` (``discriminator/``: model.onnx, config.json,
README.md, test data), so that ``popgen-hub scan --model local-dir:OUT/discriminator`` reads
a VCF as it reads any ``exchangeable_cnn`` classifier: its score is P(unlike_fitted), windows
that do not look like the fitted neutral model.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ..evaluate import classification_metrics  # noqa: E402
from ..files import RunFolder, Staging  # noqa: E402
from ..training.export import export_run  # noqa: E402
from ..training.plots import plot_confusion_matrix  # noqa: E402
from . import (  # noqa: E402
    DISCRIMINATOR,
    DISCRIMINATOR_RUN,
    FIT_RECORD,
    LABELS,
    MUTATION_RATE,
    RECOMBINATION_RATE,
    TRAJECTORY,
    WANG_2021,
    DemographicModel,
    FitSettings,  # noqa: E402
)
from .fit import FAKE, REAL, Gan  # noqa: E402
from .windows import MIN_SITES, RealWindows  # noqa: E402

CARD_SOURCE = "card.yaml"
PARITY_WINDOWS = 16


def test_figures(gan: Gan, values: dict[str, float]) -> tuple[dict[str, Any], np.ndarray]:
    """The final discriminator on the held-out VCF windows and as many fresh windows of the
    fitted model (both with at least MIN_SITES sites): classification figures, and the
    windows (for the export's parity check). A few hundred windows: the accuracy's standard
    error is about 0.5 / sqrt(n), 0.04 at n = 160."""
    fake = gan.simulate(values, len(gan.test_real))
    windows = np.concatenate([gan.test_real, fake])
    labels = np.array([REAL] * len(gan.test_real) + [FAKE] * len(fake))
    probabilities = torch.softmax(gan.logits(windows), dim=1).numpy()
    metrics = classification_metrics(labels, probabilities, list(LABELS),
                                     what="the discriminator's held-out figures")
    return metrics, windows


def plot_trajectory(trajectory: list[dict[str, Any]], model: DemographicModel, path: Path, *,
                    truth: dict[str, float] | None = None, title: str = "") -> None:
    """One panel per parameter (log scale, its bounds dashed, the truth dotted when known)
    and one of the losses and the discriminator's accuracies, by iteration."""
    panels = len(model.parameters) + 1
    fig, axes = plt.subplots(1, panels, figsize=(3.3 * panels, 3.2))
    steps = [row["iteration"] for row in trajectory]
    for ax, parameter in zip(axes, model.parameters, strict=False):
        ax.plot(steps, [row[parameter.name] for row in trajectory], "o-", ms=3)
        for bound in (parameter.low, parameter.high):
            ax.axhline(bound, color="grey", ls="--", lw=0.8)
        if truth:
            ax.axhline(truth[parameter.name], color="black", ls=":", label="true")
            ax.legend(frameon=False, fontsize=8)
        ax.set(yscale="log", xlabel="iteration", title=parameter.name)
    ax = axes[-1]
    ax.plot(steps, [row["generator_loss"] for row in trajectory], "o-", ms=3,
            label="generator loss")
    for key in ("real_accuracy", "fake_accuracy"):
        kept = [(row["iteration"], row[key]) for row in trajectory if key in row]
        if kept:
            ax.plot(*zip(*kept, strict=True), "s", ms=3, label=f"discriminator {key[:4]} acc.")
    ax.set(xlabel="iteration", title="losses")
    ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _card_source(model: DemographicModel, values: dict[str, float], data: dict[str, Any]
                 ) -> dict[str, Any]:
    fitted = ", ".join(f"{k} = {v:.4g}" for k, v in values.items())
    return {
        "task_name": "Windows unlike a fitted neutral demographic model (GAN discriminator)",
        "tags": ["population-genetics", "demography", "gan", "onnx"],
        "description": (
            f"The discriminator of a pg-gan-style fit (Wang et al. 2021) of the {model.name} "
            f"model ({model.description}) to {data['input']}: {data['n_individuals']} "
            f"individuals, {data['n_windows']} windows of {data['window_bp']} bp. Fitted: "
            f"{fitted}; mutation rate {MUTATION_RATE:g}, recombination rate "
            f"{RECOMBINATION_RATE:g} per bp per generation. Its score is P(unlike_fitted): "
            f"how far a window looks from windows simulated under the fitted model."),
        "intended_use": (
            "Read windows of the fitted population that were not used in the fit (another "
            "region, other data of the same population, or the fit's held-out windows, whose "
            "starts fit.json lists): on the windows it trained on, the discriminator scores "
            "higher because it learned those very windows. Read the score relative to the "
            "genome's other windows, not as a calibrated probability; its power to find "
            "selection or introgression has not been measured."),
        "limitations": (
            f"Trained on one dataset's windows of {data['n_individuals']} individuals against "
            "one point of one demographic model, in a small budget: the held-out figures say "
            "how well it told the data from the fitted model at the end. A good fit gives "
            "near 0.5, but near 0.5 does not prove a good fit (a small discriminator can miss "
            "differences), and on a few hundred windows the accuracy is within about 0.05. "
            f"Windows with fewer than {MIN_SITES} informative sites were not trained on, on "
            "either side. Fixed mutation and recombination rates; no selection in the "
            "generator; simulated windows have no missing calls."),
    }


def write_outputs(staging: Staging, gan: Gan, real: RealWindows, state: dict[str, Any], *,
                  vcf: str | Path, key: str, command: str, model_name: str,
                  context: dict[str, Any]) -> dict[str, Any]:
    """Write every output of a finished fit into ``staging``; the fit record."""
    import yaml

    started = time.perf_counter()  # the trajectory holds the fit's time; this, the writing's

    settings: FitSettings = gan.settings
    model, values = gan.model, state["values"]
    metrics, windows = test_figures(gan, values)
    data = {"input": str(Path(vcf).resolve()), **context, "regions": real.regions,
            "n_individuals": real.n_individuals, "samples": real.samples,
            "window_bp": settings.window_bp, "n_windows_read": real.n_windows_read,
            "n_windows": len(real.tensors), "n_train_windows": len(gan.train_real),
            "n_held_out_windows": len(gan.test_real), "min_sites": MIN_SITES,
            "held_out_windows": [list(real.where[i]) for i in gan.test_index],
            "missing_call_share": real.missing_share}
    # an interrupted earlier attempt at this step may have left these half written
    for name in (DISCRIMINATOR_RUN, DISCRIMINATOR):
        shutil.rmtree(staging.path(name), ignore_errors=True)
    run = RunFolder(staging.path(DISCRIMINATOR_RUN))
    run.path.mkdir()
    torch.save(gan.disc.state_dict(), run.weights)
    np.savez(run.parity_inputs, genotype_matrix=windows[:PARITY_WINDOWS])
    title = f"{model.name} fitted to {Path(vcf).name}"
    curve, confusion = (run / name for name in RunFolder.FIGURES)
    plot_trajectory(state["trajectory"], model, curve, title=title)
    plot_confusion_matrix(np.asarray(metrics["confusion_matrix"]), metrics["labels"], confusion,
                          title=f"held-out windows (n = {metrics['n']}), accuracy "
                                f"{metrics['accuracy']:.3f}")
    run.record.write_text(json.dumps({
        "architecture": "exchangeable_cnn", "model_config": gan.disc.config,
        "encoder": gan.encoder.to_config(), "labels": list(LABELS),
        "data": {"scenario": f"gan_{model.name}", "simulator": "msprime (pg-gan-style fit)",
                 "parameters": {"length": settings.window_bp,
                                "n_haplotypes": 2 * real.n_individuals,
                                "demography": model.name,
                                **{k: float(f"{v:.6g}") for k, v in values.items()},
                                "mutation_rate": MUTATION_RATE,
                                "recombination_rate": RECOMBINATION_RATE},
                 "n_train": len(gan.train_real), "n_validation": 0,
                 "split": "follows: training counts the VCF's windows, met in every "
                          "mini-batch by fresh simulations at the annealing's current "
                          "parameters; test is the VCF's held-out windows (drawn with the "
                          "seed) and as many fresh windows of the fitted model (the parameters "
                          "above: fitted, not the data's history); no model selection, the "
                          "last iteration's discriminator is kept",
                 "citations": [WANG_2021, model.citation]},
        "settings": {**asdict(settings), "epochs": settings.iterations, "optimizer": "adam"},
        "best_epoch": settings.iterations, "metrics": {"test": metrics},
        "command": command}, indent=2))
    card = run / CARD_SOURCE
    card.write_text(yaml.safe_dump(_card_source(model, values, data), sort_keys=False))
    export_run(run.path, model_name, staging.path(DISCRIMINATOR), card_source=card,
               revision="fitted")
    shutil.copyfile(curve, staging.path(TRAJECTORY))  # the same figure, at the top
    iterations = state["trajectory"][1:]
    record = {"demography": model.name, "description": model.description,
              "citations": [WANG_2021, model.citation], "parameters": values,
              "bounds": model.bounds(), "generator_loss": state["loss"],
              "acceptance_rate": (sum(row["accepted"] for row in iterations)
                                  / max(1, len(iterations))),
              "rates": {"mutation": MUTATION_RATE, "recombination": RECOMBINATION_RATE},
              "trajectory": state["trajectory"], "settings": asdict(settings),
              "data": data, "discriminator": {"folder": DISCRIMINATOR, "name": model_name,
                                              "labels": list(LABELS), "test": metrics},
              # every session's work, resumed or not, and the writing of the outputs
              "seconds": (sum(row["seconds"] for row in state["trajectory"])
                          + time.perf_counter() - started),
              "fingerprint": key, "command": command}
    staging.path(FIT_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return record
