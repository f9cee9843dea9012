"""The state of an interrupted training run, for ``popgen-hub train --resume``.

After every epoch the loop saves, atomically and inside the run's staging folder (see
:mod:`popgen_hub.resume`), everything the next epoch depends on: the weights, the optimiser
and learning-rate schedule, the batch-order and torch random states, the history so far and
the weights of the best epoch. Resumed, the run continues after its last finished epoch and
ends with the same weights as a run never interrupted.

The staging folder also keeps the options the run was started with, so that ``--resume``
with another dataset or other options says what changed instead of starting afresh.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import PopgenHubError
from ..files import RunFolder, atomic_files, write_text_atomic
from ..resume import fingerprint, partial_dirs
from ..version import __version__
from .history import EpochRecord

#: option names of the recorded run options that are not ``--`` + the name with dashes
_OPTION_NAMES = {"validation": "--validation-fraction", "test": "--test-fraction",
                 "encoder": "--encoder", "parameters": "--param", "scenario": "--simulate",
                 "replicates": "--replicates-per-epoch/--validation-replicates/"
                               "--test-replicates",
                 "architecture": "the architecture", "popgen_hub": "popgen-hub's version"}


def save_checkpoint(path: Path, *, model: nn.Module, optimiser: torch.optim.Optimizer,
                    scheduler: Any, rng: np.random.Generator, history: list[EpochRecord],
                    best_state: dict[str, torch.Tensor] | None) -> None:
    """Write the state after the last epoch of ``history`` to ``path`` (one rename)."""
    state = {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
             "scheduler": scheduler.state_dict() if scheduler is not None else None,
             "batch_order": json.dumps(rng.bit_generator.state),
             "torch_rng": torch.get_rng_state(), "history": [asdict(h) for h in history],
             "best_state": best_state}
    with atomic_files(path) as (tmp,):
        torch.save(state, tmp)


def restore_checkpoint(path: Path, *, model: nn.Module, optimiser: torch.optim.Optimizer,
                       scheduler: Any, rng: np.random.Generator
                       ) -> tuple[list[EpochRecord], dict[str, torch.Tensor] | None]:
    """Load ``path`` into the model, optimiser, schedule and random states; the history so far
    and the best epoch's weights."""
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = json.loads(state["batch_order"])
        torch.set_rng_state(state["torch_rng"])
        history = [EpochRecord(**h) for h in state["history"]]
    except Exception:  # torch and json raise a zoo of types for a damaged file
        raise PopgenHubError(
            f"{path}: the checkpoint of the interrupted training run is unreadable; run the "
            f"same command with --clean to start afresh") from None
    return history, state["best_state"]


def run_options(inputs: list[str | Path], **parameters: Any) -> tuple[str, dict[str, Any]]:
    """The fingerprint of a training run (:func:`popgen_hub.resume.fingerprint` of its inputs
    and ``parameters``) and the options to record with its partial work."""
    options = {"popgen_hub": __version__, **parameters}
    for k, given in enumerate(inputs):
        options[f"data{k or ''}"] = str(Path(given).resolve())
        options[f"data{k or ''}_files"] = fingerprint([given])
    return fingerprint(inputs, **parameters), options


def record_options(run_dir: Path, options: dict[str, Any]) -> None:
    write_text_atomic(RunFolder(run_dir).options, json.dumps(options, default=str))


def refuse_changed(out_dir: Path, key: str, options: dict[str, Any]) -> None:
    """``--resume`` into ``out_dir`` where an interrupted training run with other options or
    data kept its work (and none with these): refused in one line saying what changed."""
    if partial_dirs(out_dir, key):
        return
    for partial in sorted(partial_dirs(out_dir)):
        try:
            kept = json.loads(RunFolder(partial).options.read_text())
        except (OSError, ValueError):
            continue  # another command's, or an older version's: resume.py warns about it
        change = _change(kept, json.loads(json.dumps(options, default=str)))
        if change:
            raise PopgenHubError(
                f"cannot resume the interrupted training run kept in {partial}: {change}; "
                f"run the same command as before with --resume, or delete {partial} to "
                f"start afresh")


def _change(kept: dict[str, Any], now: dict[str, Any]) -> str:
    """The first difference between two runs' options, in words ("" when none)."""
    for name in dict.fromkeys([*kept, *now]):
        before, after = kept.get(name), now.get(name)
        if before == after:
            continue
        if name.endswith("_files"):
            return f"the dataset {now.get(name[:-6])} changed since (files added, removed or " \
                   f"modified)"
        if name == "settings" and isinstance(before, dict) and isinstance(after, dict):
            return _change({f"--{k.replace('_', '-')}": v for k, v in before.items()},
                           {f"--{k.replace('_', '-')}": v for k, v in after.items()})
        if name == "calibrate":  # recorded only when off
            return (f"--no-calibrate was {'given' if before is False else 'not given'}, now "
                    f"{'given' if after is False else 'not given'}")
        option = _OPTION_NAMES.get(name, name if name.startswith("-") else
                                   "--" + name.replace("_", "-"))
        return f"{option} was {_shown(before)}, now {_shown(after)}"
    return ""


def _shown(value: Any) -> str:
    return "not given" if value is None else json.dumps(value)
