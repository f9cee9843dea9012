"""The adversarial fit (the ``train`` extra): pg-gan's recipe (Wang et al. 2021) in a budget
that fits a 2-core machine.

- **Generator**: msprime under the named model at a point of its parameter space
  (:func:`popgen_hub.gan.windows.simulate_windows`); it has no weights, so it is "trained" by
  simulated annealing over the parameters.
- **Discriminator**: the house's exchangeable network (``exchangeable_cnn``, the
  ``genotype_matrix`` encoder of :func:`~popgen_hub.gan.windows.discriminator_encoder`), class
  0 ``fitted_model`` (simulated windows), class 1 ``unlike_fitted`` (the VCF's windows).
- **Pretraining** (pg-gan's ``disc_pretraining``): the discriminator is trained on up to
  ``pretrain_trials`` random parameter points (log-uniform) in turn, ``pretrain_steps``
  mini-batches each; the annealing starts from the point it told apart best (stopping early
  above 90 % accuracy).
- **Each iteration** ``i`` of ``N`` (pg-gan's ``simulated_annealing``): temperature
  ``T = 1 - (i - 1) / N``; for each parameter in turn, ``proposals`` proposals changing that
  one parameter (:func:`popgen_hub.gan.propose`: a log-normal step of sd width / 15 x T); the
  proposal with the lowest generator loss (the discriminator's cross-entropy when labelling
  ``batch_size`` simulated windows as real) is accepted if no worse than the current loss, else
  with probability (current / proposed loss) x T; on acceptance the discriminator is trained
  ``disc_steps`` mini-batches of real and simulated windows (half each), and the current loss
  becomes the accepted proposal's loss as the discriminator measured it before that training
  (pg-gan's ``loss_curr = loss_best``): later proposals, measured by the updated
  discriminator, must beat a mark it would now put higher, so the search refuses many of them.
  Measuring the accepted point again by the updated discriminator instead made almost every
  proposal look better (232 of 240 iterations accepted in the benchmark), a random walk.
  ``fit.json`` records the share accepted (``acceptance_rate``). pg-gan's budget (10
  proposals, 100 mini-batches of 50, 300 iterations) takes hours on a GPU; the defaults here
  (5 proposals, 25 mini-batches of 32, 40 iterations) take minutes on one CPU core.
- **Held out**: a share of the VCF's windows (``held_out``) never trains the discriminator; the
  final discriminator's figures (``metrics.test``) are those windows against as many fresh
  windows of the fitted model.

After every iteration the state is checkpointed in the run's staging folder
(:mod:`popgen_hub.resume`): the parameters, loss and trajectory, the discriminator and its
optimiser, and the numpy and torch random states, so that ``--resume`` ends where an
uninterrupted run ends. Torch runs on ``threads`` threads (default 1, deterministic).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..encoders.genotype_matrix import TENSOR
from ..errors import PopgenHubError
from ..files import atomic_files
from ..models import build_model
from ..simulate.observed import log_uniform
from . import DemographicModel, FitSettings
from . import propose as propose_value
from .windows import RealWindows, discriminator_encoder, simulate_windows

log = logging.getLogger("popgen_hub")
CHECKPOINT = ".checkpoint.pt"
FAKE, REAL = 0, 1  # the labels' indices: LABELS = (fitted_model, unlike_fitted)


class Gan:
    """The generator, the discriminator and the real windows one fit plays between."""

    def __init__(self, model: DemographicModel, real: RealWindows, settings: FitSettings
                 ) -> None:
        self.model, self.settings = model, settings
        # the exported contract's least sample size: the discriminator saw only this many
        self.encoder = discriminator_encoder(real.n_individuals)
        order = np.random.default_rng([settings.seed, 1]).permutation(len(real.tensors))
        n_test = max(1, round(settings.held_out * len(order)))
        self.test_index = np.sort(order[:n_test])  # into real.where
        self.test_real = real.tensors[self.test_index]
        self.train_real = real.tensors[np.sort(order[n_test:])]
        self.n_individuals = real.n_individuals
        self.rng = np.random.default_rng(settings.seed)
        torch.manual_seed(settings.seed)
        _, channels, sites = self.encoder.shapes[TENSOR]
        self.disc = build_model("exchangeable_cnn", n_channels=channels, n_sites=sites,
                                n_classes=2)
        self.optimiser = torch.optim.Adam(self.disc.parameters(), lr=settings.learning_rate)

    def simulate(self, values: dict[str, float], count: int) -> np.ndarray:
        return simulate_windows(self.model, values, n_individuals=self.n_individuals,
                                count=count, encoder=self.encoder,
                                window_bp=self.settings.window_bp, rng=self.rng)

    def logits(self, windows: np.ndarray) -> torch.Tensor:
        self.disc.eval()
        with torch.no_grad():
            return self.disc(torch.from_numpy(windows))

    def generator_loss(self, values: dict[str, float]) -> float:
        """The discriminator's cross-entropy when labelling simulated windows as real."""
        logits = self.logits(self.simulate(values, self.settings.batch_size))
        target = torch.full((len(logits),), REAL, dtype=torch.long)
        return float(nn.functional.cross_entropy(logits, target))

    def train_discriminator(self, values: dict[str, float], steps: int) -> dict[str, float]:
        """``steps`` mini-batches of real and simulated windows, half each; the accuracy on
        each side and the mean loss over them."""
        half = max(1, self.settings.batch_size // 2)
        self.disc.train()
        right = {REAL: 0, FAKE: 0}
        total = 0.0
        for _ in range(steps):
            real = self.train_real[self.rng.choice(len(self.train_real), half)]
            windows = np.concatenate([real, self.simulate(values, half)])
            labels = torch.tensor([REAL] * half + [FAKE] * half)
            self.optimiser.zero_grad()
            logits = self.disc(torch.from_numpy(windows))
            loss = nn.functional.cross_entropy(logits, labels)
            loss.backward()
            self.optimiser.step()
            total += float(loss.detach())
            predicted = logits.argmax(1)
            for side in right:
                right[side] += int((predicted[labels == side] == side).sum())
        return {"real_accuracy": right[REAL] / (half * steps),
                "fake_accuracy": right[FAKE] / (half * steps), "disc_loss": total / steps}

    def pretrain(self) -> dict[str, float]:
        """pg-gan's pretraining (module doc): the starting point."""
        best, best_accuracy = None, -1.0
        for trial in range(self.settings.pretrain_trials):
            values = {p.name: log_uniform(p.low, p.high, self.rng)
                      for p in self.model.parameters}
            figures = self.train_discriminator(values, self.settings.pretrain_steps)
            accuracy = (figures["real_accuracy"] + figures["fake_accuracy"]) / 2
            log.info("pretraining %d/%d at %s: discriminator accuracy %.3f", trial + 1,
                     self.settings.pretrain_trials, _shown(values), accuracy)
            if accuracy > best_accuracy:
                best, best_accuracy = values, accuracy
            if accuracy > 0.9:
                break
        return best

    def iterate(self, iteration: int, values: dict[str, float], loss: float
                ) -> tuple[dict[str, float], float, dict[str, Any]]:
        """One annealing iteration (module doc): the new point and loss, and its record."""
        settings = self.settings
        temperature = 1 - (iteration - 1) / settings.iterations
        best, best_loss = values, float("inf")
        for parameter in self.model.parameters:
            for _ in range(settings.proposals):
                proposal = {**values, parameter.name: propose_value(
                    parameter, values[parameter.name], temperature, self.rng)}
                proposal_loss = self.generator_loss(proposal)
                if proposal_loss < best_loss:
                    best, best_loss = proposal, proposal_loss
        accept = best_loss <= loss or self.rng.random() < loss / best_loss * temperature
        figures = {}
        if accept:
            values, loss = best, best_loss  # pg-gan's stale loss (module doc)
            figures = self.train_discriminator(values, settings.disc_steps)
        return values, loss, {"temperature": temperature, "best_proposal_loss": best_loss,
                              "accepted": bool(accept), **figures}

    # ------------------------------------------------------------ checkpoint
    def save(self, path: Path, state: dict[str, Any]) -> None:
        """The whole state after an iteration (one rename)."""
        full = {**state, "disc": self.disc.state_dict(), "optimiser": self.optimiser.state_dict(),
                "rng": json.dumps(self.rng.bit_generator.state),
                "torch_rng": torch.get_rng_state()}
        with atomic_files(path) as (tmp,):
            torch.save(full, tmp)

    def restore(self, path: Path) -> dict[str, Any]:
        try:
            full = torch.load(path, weights_only=True, map_location="cpu")
            self.disc.load_state_dict(full.pop("disc"))
            self.optimiser.load_state_dict(full.pop("optimiser"))
            self.rng.bit_generator.state = json.loads(full.pop("rng"))
            torch.set_rng_state(full.pop("torch_rng"))
        except Exception:  # torch and json raise a zoo of types for a damaged file
            raise PopgenHubError(f"{path}: the checkpoint of the interrupted fit is unreadable; "
                                 f"run the same command with --clean to start afresh") from None
        return full


def _shown(values: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:.4g}" for name, value in values.items())


def run_fit(gan: Gan, checkpoint: Path,
            on_iteration: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Pretraining then the iterations, continuing after the last one ``checkpoint`` holds;
    ``on_iteration`` sees each iteration's record once it is checkpointed. Returns the final
    state (``values``, ``loss``, ``trajectory``)."""
    torch.set_num_threads(gan.settings.threads)
    if checkpoint.is_file():
        state = gan.restore(checkpoint)
        log.info("resuming the fit after iteration %d of %d", state["iteration"],
                 gan.settings.iterations)
    else:
        started = time.perf_counter()
        values = gan.pretrain()
        loss = gan.generator_loss(values)
        state = {"iteration": 0, "values": values, "loss": loss, "trajectory": [
            {"iteration": 0, **values, "generator_loss": loss, "accepted": True,
             "seconds": time.perf_counter() - started}]}
        gan.save(checkpoint, state)
    for iteration in range(state["iteration"] + 1, gan.settings.iterations + 1):
        started = time.perf_counter()
        values, loss, record = gan.iterate(iteration, state["values"], state["loss"])
        record = {"iteration": iteration, **values, "generator_loss": loss, **record,
                  "seconds": time.perf_counter() - started}
        state = {"iteration": iteration, "values": values, "loss": loss,
                 "trajectory": [*state["trajectory"], record]}
        gan.save(checkpoint, state)
        log.info("iteration %d/%d: %s, generator loss %.4f%s (%.0f s)", iteration,
                 gan.settings.iterations, _shown(values), loss,
                 "" if record["accepted"] else " (proposal refused)", record["seconds"])
        if on_iteration is not None:
            on_iteration(record)
    return state
