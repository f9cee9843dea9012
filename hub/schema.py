"""JSON values checked against a dataclass's field types: one check for model contracts, dataset
manifests' records and scenario parameters, so that a value of the wrong type (a word where a
number belongs, a string where a list does) is refused by name instead of failing later.

Types understood: ``Any``, ``str``, ``bool``, ``int`` (not a bool), ``float`` (an int or a
finite float, not a bool), ``None``, unions (``X | None``), ``list[X]``, ``tuple[X, ...]``
(a JSON list), ``dict`` and ``dict[str, X]``.
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from .errors import PopgenHubError

_NAMES = {str: "a string", bool: "true or false", int: "a whole number",
          float: "a finite number", type(None): "null", dict: "an object", list: "a list"}
_PLURALS = {str: "strings", int: "whole numbers", float: "finite numbers"}


def matches(value: Any, hint: Any) -> bool:
    """Whether a JSON value (as ``json.loads`` gives it) is of type ``hint``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in args)
    if origin in (list, tuple):
        return isinstance(value, (list, tuple)) and all(matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            isinstance(k, str) and matches(v, args[1]) for k, v in value.items())
    if hint is float:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def describe(hint: Any) -> str:
    """``hint`` in words, e.g. "a list of strings", "a whole number or null"."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(arg) for arg in args)
    if origin in (list, tuple):
        plural = _PLURALS.get(args[0])
        return f"a list of {plural}" if plural else f"a list (each {describe(args[0])})"
    if origin is dict:
        return "an object"
    return _NAMES.get(hint, getattr(hint, "__name__", str(hint)))


def field_problems(cls: type, data: dict[str, Any], *, partial: bool = False,
                   skip: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with ``data`` as the fields of dataclass ``cls``: unknown or (unless
    ``partial``) missing fields, and values of the wrong type; ``skip`` names fields checked
    elsewhere."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    problems = [f"unknown field {key!r}" for key in data if key not in known]
    if not partial:
        problems += [f"no {name!r}" for name, f in known.items() if name not in data
                     and f.default is MISSING and f.default_factory is MISSING]
    for key, value in data.items():
        if key in known and key not in skip and not matches(value, hints[key]):
            problems.append(f"{key} is {short(value)}, not {describe(hints[key])}")
    return problems


def short(value: Any, width: int = 40) -> str:
    """``repr(value)``, cut to ``width`` characters for a one-line message."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def first_line(exc: BaseException) -> str:
    """An exception's message as one line (its first), or its type when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def record_problems(record: Any, keys: dict[str, Any]) -> list[str]:
    """What is wrong with a JSON record that must be an object holding ``keys`` (name: type)."""
    if not isinstance(record, dict):
        return [f"it holds {type(record).__name__}, not a JSON object"]
    problems = [f"no {key!r}" for key in keys if key not in record]
    return problems + [f"{key} is {short(record[key])}, not {describe(hint)}"
                       for key, hint in keys.items()
                       if key in record and not matches(record[key], hint)]


def read_record(path: Path, keys: dict[str, Any], fix: str) -> dict[str, Any]:
    """A JSON file that holds an object with ``keys`` (name: type); anything else is refused in
    one line naming the file, the problem and ``fix``."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PopgenHubError(f"{path} is not readable JSON ({first_line(exc)}); {fix}") from None
    problems = record_problems(record, keys)
    if problems:
        raise PopgenHubError(f"{path}: {problems[0]}; {fix}")
    return record
