"""Third-party extensions, found through Python entry points.

A package adds to popgen-hub by declaring entry points in one of four groups (see
``docs/plugins.md`` for the interfaces and ``examples/plugin`` for a complete package):

=========================  =====================================================
``popgen_hub.models``      a torch ``nn.Module`` class: ``cls(n_rows, n_cols, n_classes)``
``popgen_hub.encoders``    an encoder class: ``name``, ``from_config``, ``to_config``,
                           ``shape``, ``encode`` (like ``HaplotypeImageEncoder``)
``popgen_hub.readers``     a reader class with ``suffixes`` (like ``VcfReader``)
``popgen_hub.writers``     a callable ``write(result, staging)`` run by ``scan --writer NAME``
=========================  =====================================================

The entry point's name is the name users type. A plugin that fails to import is reported
once on stderr and skipped; a plugin cannot replace a built-in of the same name. Setting
``POPGEN_HUB_DISABLE_PLUGINS=1`` turns discovery off.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

GROUPS = ("models", "encoders", "readers", "writers")
DISABLE_VARIABLE = "POPGEN_HUB_DISABLE_PLUGINS"


@dataclass(frozen=True)
class Plugin:
    group: str
    name: str
    target: str  # "module:attribute", as declared
    distribution: str  # the installed package that declares it
    error: str | None = None


def plugins_disabled() -> bool:
    return os.environ.get(DISABLE_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


@cache
def _discover(group: str) -> tuple[tuple[Plugin, Any], ...]:
    if group not in GROUPS:
        raise ValueError(f"unknown plugin group {group!r}; groups: {GROUPS}")
    if plugins_disabled():
        return ()
    found = []
    for point in entry_points(group=f"popgen_hub.{group}"):
        distribution = point.dist.name if point.dist is not None else "?"
        try:
            found.append((Plugin(group, point.name, point.value, distribution), point.load()))
        except Exception as exc:  # any import-time failure of someone else's code
            error = f"{type(exc).__name__}: {exc}"
            print(f"popgen-hub: warning: plugin {point.name!r} ({point.value}, from "
                  f"{distribution}) failed to load and is ignored: {error}; fix or uninstall "
                  f"{distribution}, or set {DISABLE_VARIABLE}=1", file=sys.stderr)
            found.append((Plugin(group, point.name, point.value, distribution, error), None))
    return tuple(found)


def load_plugins(group: str, builtins: dict[str, Any]) -> dict[str, Any]:
    """``builtins`` plus the working plugins of ``group``; built-in names take precedence."""
    merged = dict(builtins)
    for plugin, obj in _discover(group):
        if obj is not None and plugin.name not in builtins:
            merged[plugin.name] = obj
    return merged


def installed_plugins() -> list[Plugin]:
    """Every declared plugin of every group, with the error of those that failed to load."""
    return [plugin for group in GROUPS for plugin, _ in _discover(group)]
