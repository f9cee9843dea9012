"""Registries of named parts, filled by built-ins and by third-party plugins alike.

A built-in registers itself beside its definition with the registry's decorator
(``@ENCODERS.register``); a package adds to popgen-hub by declaring entry points in the
registry's group (see ``docs/plugins.md`` and ``examples/plugin``):

=========================  =====================================================
``popgen_hub.models``      an architecture: a torch ``nn.Module`` class
``popgen_hub.encoders``    an encoder class (:class:`popgen_hub.encoders.Encoder`)
``popgen_hub.readers``     a reader class (:class:`popgen_hub.readers.Reader`)
``popgen_hub.writers``     a writer function ``write(result, staging)``
=========================  =====================================================

The entry point's name is the name users type. A plugin that fails to import is reported
once on stderr and skipped; a plugin cannot replace a built-in of the same name. Plugins are
looked up only when a name is not built in, or when a whole listing is asked for. Setting
``POPGEN_HUB_DISABLE_PLUGINS=1`` turns discovery off.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from .errors import PopgenHubError

GROUPS = ("models", "encoders", "readers", "writers")
DISABLE_VARIABLE = "POPGEN_HUB_DISABLE_PLUGINS"
log = logging.getLogger("popgen_hub")
T = TypeVar("T")


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
            log.warning(f"warning: plugin {point.name!r} ({point.value}, from {distribution}) "
                        f"failed to load and is ignored: {error}; fix or uninstall "
                        f"{distribution}, or set {DISABLE_VARIABLE}=1")
            found.append((Plugin(group, point.name, point.value, distribution, error), None))
    return tuple(found)


def installed_plugins() -> list[Plugin]:
    """Every declared plugin of every group, with the error of those that failed to load."""
    return [plugin for group in GROUPS for plugin, _ in _discover(group)]


class Registry(Generic[T]):
    """Named parts of one kind: built-ins registered with :meth:`register`, plugins found
    through the entry-point ``group``."""

    def __init__(self, group: str, what: str, hint: str = "") -> None:
        if group not in GROUPS:
            raise ValueError(f"unknown plugin group {group!r}; groups: {GROUPS}")
        self.group, self.what, self.hint = group, what, hint
        self.builtins: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: register a built-in under ``name`` (default: its ``name`` attribute)."""
        def add(item: T) -> T:
            key = name or getattr(item, "name", None)
            if not key:
                raise ValueError(f"a registered {self.what} needs a name")
            if key in self.builtins:
                raise ValueError(f"{self.what} {key!r} is registered twice")
            self.builtins[key] = item
            return item
        return add

    def all(self) -> dict[str, T]:
        """Built-ins and working plugins, by name; built-in names take precedence."""
        merged = dict(self.builtins)
        for plugin, item in _discover(self.group):
            if item is not None and plugin.name not in merged:
                merged[plugin.name] = item
        return merged

    def get(self, name: str) -> T:
        """The part called ``name``; an unknown name lists the known ones."""
        if name in self.builtins:
            return self.builtins[name]
        known = self.all()
        if name not in known:
            raise PopgenHubError(
                f"unknown {self.what} {name!r}; known {self.what}s: {', '.join(known) or 'none'}"
                + (f" ({self.hint})" if self.hint else ""))
        return known[name]
