"""Decisions: where a classifier calls a window, a decision threshold on P(primary).

A classifier calls a window at P(primary) > 0.5 unless its contract stores a decision
threshold (``references["decision_threshold"]``, :func:`decision_threshold`, written by
``popgen-hub calibrate --decision-threshold``): e.g. the least P at which every neutral history
of a misspecification matrix has at most 1 % of its windows above it. The scan's summary,
report and UCSC hub call windows at it; the scores themselves are unchanged. A threshold may
smooth (``smoothing_bp``): the call is then made on each window's mean P over the scored
windows centred within that many bp of its centre (:func:`smoothed`), which a sweep's run of
overlapping windows keeps high and a lone neutral window does not (``docs/sweep_models.md``).

A stored threshold may say what it finds (``power``, :class:`Power`): how many of a set of
planted sweeps have their site's window called at it. Measured on the same sweeps for every
bundled sweep model with a measured threshold (``exporters/decision_power.py``), it is what
``scan --model auto`` ranks the models whose training data match the input by
(:mod:`popgen_hub.auto`). Storing another value drops it: it was measured at the old one.

A model of individuals (genotypes, likelihoods) reads any number of them, and its scores grow
more confident with more: a threshold chosen on 64 individuals calls more neutral windows of
100. Its threshold may say how many individuals it was chosen at (``individuals``) and store
thresholds chosen the same way at other numbers (``by_individuals``, :class:`SizedThreshold`,
each with what it finds where measured on the same sweeps read as that many individuals); a scan
calls windows at the one chosen nearest the individuals it read, and ``--model auto`` ranks the
model by what that one finds (:meth:`DecisionThreshold.for_individuals`, :func:`nearest_size`,
the rule its nulls by condition follow).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from .schema import matches, record_problems, short

RESTORE_THRESHOLD = ("store it again with `popgen-hub calibrate MODEL_DIR --decision-threshold P "
                     "--threshold-source TEXT`")
THRESHOLD = "decision_threshold"  # the key in ModelContract.references
THRESHOLD_KEYS = {"label": str, "value": float, "source": str}
#: The optional key of a threshold that smooths, in bp (module doc).
SMOOTHING = "smoothing_bp"
#: The optional key of what a threshold finds (:class:`Power`), and the keys of its record.
POWER = "power"
POWER_KEYS = {"found": int, "of": int, "source": str}
#: The optional keys of a model of individuals' threshold: the individuals it was chosen at,
#: and thresholds chosen at other numbers of individuals, each a record of SIZE_KEYS (and
#: POWER, optional).
INDIVIDUALS = "individuals"
BY_INDIVIDUALS = "by_individuals"
SIZE_KEYS = {"individuals": int, "value": float, "source": str}
#: P(class) above which a window is called when no threshold is stored: the class then
#: outweighs the others together.
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Power:
    """What a decision threshold finds: the planted sweeps (``of``) whose site's window it
    calls (``found``), and on which sweeps, how (``source``, one line)."""

    found: int
    of: int
    source: str

    @property
    def share(self) -> float:
        return self.found / self.of

    def text(self) -> str:
        return f"{self.found} of {self.of} planted sweeps ({self.share:.2f})"

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> Power | None:
        return None if record is None else cls(record["found"], record["of"], record["source"])


@dataclass(frozen=True)
class SizedThreshold:
    """A threshold chosen at ``individuals`` individuals, beside the one a model of
    individuals stores (module doc), and what it finds there where measured."""

    individuals: int
    value: float
    source: str
    power: Power | None = None

    def record(self) -> dict[str, Any]:
        return {"individuals": self.individuals, "value": self.value, "source": self.source,
                **({POWER: asdict(self.power)} if self.power else {})}


@dataclass(frozen=True)
class DecisionThreshold:
    """P(label) above which a window is called, and why that value."""

    label: str
    value: float
    source: str
    stored: bool = True  # False: the default, which no contract stores
    #: > 0: the call is made on P(label) smoothed over this many bp each side (module doc)
    smoothing_bp: int = 0
    #: what it finds, where measured (module doc)
    power: Power | None = None
    #: the individuals it was chosen at, where recorded (a model of individuals)
    individuals: int | None = None
    #: thresholds chosen at other numbers of individuals, by individuals
    by_individuals: tuple[SizedThreshold, ...] = ()

    def text(self) -> str:
        if self.smoothing_bp:
            return (f"mean P({self.label}) of the windows centred within "
                    f"{self.smoothing_bp / 1e3:g} kb > {self.value:g}")
        return f"P({self.label}) > {self.value:g}"

    def sizes_text(self) -> str:
        """Its thresholds at other numbers of individuals, a line each (empty: none stored)."""
        if not self.by_individuals:
            return ""
        return "\n".join([f"chosen at {self.individuals} individuals; a scan calls windows at "
                          f"the threshold chosen nearest the individuals it reads:"] + [
            f"  at {other.individuals} individuals: {replace(self, value=other.value).text()} "
            f"({other.source})" + (f"; it finds {other.power.text()}: {other.power.source}"
                                   if other.power else "")
            for other in self.others_by_size()])

    def others_by_size(self) -> list[SizedThreshold]:
        """Its thresholds at other numbers of individuals, the fewest individuals first."""
        return sorted(self.by_individuals, key=lambda other: other.individuals)

    def smoothing_text(self) -> str:
        """What the smoothed column and track are (a threshold that smooths)."""
        return (f"the mean P({self.label}) of the scored windows centred within "
                f"{self.smoothing_bp:,} bp of the window's centre (its own included); the "
                f"decision threshold applies to it, and to its track")

    def record(self) -> dict[str, Any]:
        """The contract's ``references["decision_threshold"]`` that stores it."""
        return {"label": self.label, "value": self.value, "source": self.source,
                **({SMOOTHING: self.smoothing_bp} if self.smoothing_bp else {}),
                **({POWER: asdict(self.power)} if self.power else {}),
                **({INDIVIDUALS: self.individuals} if self.individuals is not None else {}),
                **({BY_INDIVIDUALS: [other.record() for other in self.others_by_size()]}
                   if self.by_individuals else {})}

    def sizes(self) -> list[int]:
        """The numbers of individuals it and those beside it were chosen at, fewest first
        (empty where none is recorded)."""
        return sorted(([] if self.individuals is None else [self.individuals])
                      + [other.individuals for other in self.by_individuals])

    def chosen_at(self, individuals: int) -> DecisionThreshold | None:
        """The threshold chosen at exactly ``individuals`` individuals, this one or one stored
        beside it, with its own source and power and without the others; None where none
        was."""
        if individuals == self.individuals:
            return replace(self, by_individuals=())
        return next((replace(self, value=other.value, source=other.source, power=other.power,
                             individuals=individuals, by_individuals=())
                     for other in self.by_individuals if other.individuals == individuals), None)

    def for_individuals(self, individuals: int | None) -> DecisionThreshold:
        """The threshold a scan of ``individuals`` individuals calls windows at: the one chosen
        at the nearest number (:func:`nearest_size`), its source saying so; itself when it
        stores no other or ``individuals`` is unknown. Its power is the one measured there."""
        if not self.by_individuals or not individuals:
            return self
        sizes = self.sizes()
        taken = self.chosen_at(nearest_size(sizes, individuals))
        return replace(taken, source=f"chosen at {taken.individuals} individuals, of those "
                                     f"measured ({', '.join(map(str, sizes))}) the nearest to "
                                     f"the {individuals} read: {taken.source}")

    @property
    def called_label(self) -> str:
        """The track and window-table label of the score the call is made on."""
        return f"{self.label}_smoothed" if self.smoothing_bp else self.label


def decision_threshold(references: dict[str, Any], labels: list[str]) -> DecisionThreshold:
    """A classifier's stored threshold on P(labels[1]), or the default 0.5."""
    stored = references.get(THRESHOLD)
    if stored is None:
        return DecisionThreshold(labels[1], DEFAULT_THRESHOLD, "the default: the class more "
                                 "probable than the others together; no measured threshold "
                                 "is stored", stored=False)
    return DecisionThreshold(stored["label"], stored["value"], stored["source"],
                             smoothing_bp=stored.get(SMOOTHING, 0),
                             power=Power.from_record(stored.get(POWER)),
                             individuals=stored.get(INDIVIDUALS),
                             by_individuals=tuple(
                                 SizedThreshold(entry["individuals"], entry["value"],
                                                entry["source"],
                                                Power.from_record(entry.get(POWER)))
                                 for entry in stored.get(BY_INDIVIDUALS, [])))


def nearest_size(sizes: list[int], individuals: int) -> int:
    """Of ``sizes`` (numbers of individuals something was measured at), the nearest to
    ``individuals`` on a log scale, the smaller on a tie."""
    return min(sizes, key=lambda size: (abs(math.log(size / individuals)), size))


def threshold_problems(record: Any, labels: list[str], data_kind: str) -> list[str]:
    """What is wrong with a stored decision threshold of a model reading ``data_kind``
    (empty: nothing)."""
    where = f"references.{THRESHOLD}"
    problems = [f"{where}: {p}" for p in record_problems(record, THRESHOLD_KEYS)]
    if problems:
        return problems
    if len(labels) < 2 or record["label"] != labels[1]:
        problems.append(f"{where}: label {record['label']!r} is not the model's primary class "
                        f"{labels[1:2]}")
    smoothing = record.get(SMOOTHING, 0)
    if isinstance(smoothing, bool) or not isinstance(smoothing, int) or smoothing < 0:
        problems.append(f"{where}: {SMOOTHING} is {short(smoothing)}, not a whole number of bp "
                        f"of at least 0")
    if POWER in record:
        problems += [f"{where}.{POWER}: {p}" for p in power_problems(record[POWER])]
    problems += size_problems(record, where, data_kind)
    return problems + [f"{where}: {p}" for p in
                       value_problems(record["value"], record["source"])]


def size_problems(record: dict[str, Any], where: str, data_kind: str) -> list[str]:
    """What is wrong with a stored threshold's individuals and its thresholds at other numbers
    of individuals, for a model reading ``data_kind`` (empty: nothing)."""
    individuals = record.get(INDIVIDUALS)
    if data_kind == "haplotypes" and {INDIVIDUALS, BY_INDIVIDUALS} & set(record):
        return [f"{where}: {INDIVIDUALS} and {BY_INDIVIDUALS} are for models of individuals; "
                f"this one reads haplotypes"]
    if individuals is not None and (not matches(individuals, int) or individuals < 1):
        return [f"{where}: {INDIVIDUALS} is {short(individuals)}, not a number of individuals "
                f"of at least 1"]
    if BY_INDIVIDUALS not in record:
        return []
    entries = record[BY_INDIVIDUALS]
    if individuals is None:
        return [f"{where}: {BY_INDIVIDUALS} needs {INDIVIDUALS}, the individuals the threshold "
                f"itself was chosen at"]
    if not isinstance(entries, list) or not entries:
        return [f"{where}: {BY_INDIVIDUALS} must be a non-empty list of records"]
    seen = {individuals}
    for i, entry in enumerate(entries):
        at = f"{where}.{BY_INDIVIDUALS}[{i}]"
        if problems := record_problems(entry, SIZE_KEYS):
            return [f"{at}: {p}" for p in problems]
        if entry["individuals"] < 1 or entry["individuals"] in seen:
            return [f"{at}: individuals {entry['individuals']} is below 1 or has a threshold "
                    f"already"]
        seen.add(entry["individuals"])
        if problems := value_problems(entry["value"], entry["source"]):
            return [f"{at}: {p}" for p in problems]
        if POWER in entry and (problems := power_problems(entry[POWER])):
            return [f"{at}.{POWER}: {p}" for p in problems]
    return []


def power_problems(record: Any) -> list[str]:
    """What is wrong with a stored :class:`Power` record (empty: nothing)."""
    problems = record_problems(record, POWER_KEYS)
    if problems:
        return problems
    if not 0 <= record["found"] <= record["of"] or record["of"] < 1:
        problems.append(f"found {record['found']} of {record['of']}: give 0 <= found <= of, "
                        f"of at least 1")
    return problems + source_problems(record["source"], "the sweeps and how they were found")


def value_problems(value: float, source: str) -> list[str]:
    """What is wrong with a threshold's value and its source, which says how the value was
    chosen in one line (the window table's header holds it on one comment line)."""
    problems = [f"value {value:g} is not a probability in (0, 1)"] if not 0 < value < 1 else []
    return problems + source_problems(source, "how the threshold was chosen")


def source_problems(source: str, what: str) -> list[str]:
    """What is wrong with a one-line source saying ``what``."""
    if not source.strip():
        return [f"source is empty (say {what})"]
    if len(source.splitlines()) > 1:
        return ["source spans several lines (give it on one)"]
    return []


def smoothed(centres: np.ndarray, values: np.ndarray, span: float) -> np.ndarray:
    """Each window's mean of ``values`` over the windows whose centres lie within ``span`` bp
    of its centre (itself included), for one contig's windows sorted by centre; NaN values
    (unscored windows) count for none and stay NaN."""
    scored = ~np.isnan(values)
    sums = np.concatenate([[0.0], np.cumsum(values[scored], dtype=np.float64)])
    lo = np.searchsorted(centres[scored], centres - span, side="left")
    hi = np.searchsorted(centres[scored], centres + span, side="right")
    with np.errstate(invalid="ignore"):
        means = (sums[hi] - sums[lo]) / (hi - lo)
    return np.where(scored, means, np.nan)
