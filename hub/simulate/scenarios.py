"""The scenario catalogue: every labelled simulation task, by name (``simulate --list``).

One module per scenario in ``catalogue/``; see :mod:`popgen_hub.simulate.base` for what they
share.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from ..errors import PopgenHubError
from .base import Replicate, replicate_seeds
from .catalogue.balancing import OverdominanceVsNeutral, TemporalOverdominance
from .catalogue.imagene_sweep import IMAGENE, SweepVsNeutral
from .catalogue.neutral import Neutral
from .catalogue.sweeps import HardSoftSweeps

SCENARIOS: dict[str, type] = {cls.name: cls for cls in (
    SweepVsNeutral, HardSoftSweeps, OverdominanceVsNeutral, TemporalOverdominance,
    Neutral)}


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
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()})


__all__ = ["IMAGENE", "SCENARIOS", "HardSoftSweeps", "Neutral", "OverdominanceVsNeutral",
           "Replicate", "SweepVsNeutral", "TemporalOverdominance", "get_scenario",
           "replicate_seeds"]
