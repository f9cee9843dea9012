"""The scenario catalogue: every labelled simulation task, by name (``simulate --list``).

One module per scenario in ``catalogue/``; see :mod:`popgen_hub.simulate.base` for what they
share.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, get_type_hints

from ..errors import PopgenHubError
from ..schema import describe, matches, short
from .base import Replicate, replicate_seeds
from .catalogue.balancing import OverdominanceVsNeutral, TemporalOverdominance
from .catalogue.imagene_sweep import IMAGENE, SweepVsNeutral
from .catalogue.neutral import Neutral
from .catalogue.recombination import RecombinationRegime
from .catalogue.sweep_regime import SweepRegime
from .catalogue.sweeps import HardSoftSweeps

SCENARIOS: dict[str, type] = {cls.name: cls for cls in (
    SweepVsNeutral, HardSoftSweeps, OverdominanceVsNeutral, TemporalOverdominance,
    Neutral, SweepRegime, RecombinationRegime)}


def get_scenario(name: str, **overrides: Any) -> Any:
    """A scenario by name, with parameters overridden by keyword (lists become tuples)."""
    if name not in SCENARIOS:
        raise PopgenHubError(f"unknown scenario {name!r}; known scenarios: {', '.join(SCENARIOS)}")
    cls = SCENARIOS[name]
    known = {f.name for f in fields(cls)}
    unknown = set(overrides) - known
    if unknown:
        raise PopgenHubError(
            f"scenario {name} has no parameter(s) {sorted(unknown)}; its parameters: "
            f"{', '.join(sorted(known))}"
        )
    overrides = _typed(cls, overrides)
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()})


def _typed(cls: type, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` checked against the fields' types (``--param`` values arrive as JSON, or
    as text when they are not JSON): a whole number may be written as 8e4."""
    hints = get_type_hints(cls)
    defaults = {f.name: f.default if isinstance(f.default, str) else json.dumps(f.default)
                for f in fields(cls)}
    typed = {}
    for key, value in overrides.items():
        if hints[key] is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not matches(value, hints[key]):
            raise PopgenHubError(
                f"--param {key}={short(value)}: {cls.name}'s {key} must be "
                f"{describe(hints[key])}, e.g. {key}={defaults[key]}")
        typed[key] = value
    return typed


__all__ = ["IMAGENE", "SCENARIOS", "HardSoftSweeps", "Neutral", "OverdominanceVsNeutral",
           "RecombinationRegime", "Replicate", "SweepRegime", "SweepVsNeutral",
           "TemporalOverdominance", "get_scenario", "replicate_seeds"]
