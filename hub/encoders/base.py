"""What every encoder is: the protocol, the registry, and the plumbing shared by built-ins and
plugins.

An encoder turns one window of a :class:`~popgen_hub.genotypes.GenotypeBlock` into named
input tensors. It declares, rather than lets callers probe:

- ``data_kinds``: the kinds of block it reads (``haplotypes``, ``genotypes``, ``likelihoods``);
- ``shapes``: each tensor's shape without the batch axis, by name (one or several tensors); an
  axis of None takes any size (the individuals of an exchangeable encoder), and a graph
  exported for it keeps that axis dynamic;
- ``sample_groups``: how the samples it reads are grouped, e.g. present-day then ancient time
  bins, so that a scan and a dataset pick the same rows for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from ..plugins import Registry
from ..schema import field_problems

ENCODERS: Registry[type] = Registry(
    "encoders", "encoder", "others come from plugins: install the one that provides it; "
    "`popgen-hub plugins` lists those installed")


class EncodedWindow(NamedTuple):
    #: tensor name -> array without the batch axis (float32)
    inputs: dict[str, np.ndarray]
    #: informative sites in the window, before the encoder fitted them to its tensor
    n_sites: int


@dataclass(frozen=True)
class SampleGroup:
    """Rows an encoder reads from samples of one age range.

    A present-day group (ages 0) takes every haplotype of each sample (phased); an ancient
    group takes one haplotype per sample (pseudo-haploid, as ancient-DNA calls are).
    """

    name: str
    #: rows read; None: as many as the contract's ``n_haplotypes`` (a scan) or all (a dataset)
    size: int | None = None
    #: (youngest, oldest) age in years before present, inclusive
    ages: tuple[float, float] = (0.0, 0.0)

    @property
    def present_day(self) -> bool:
        return self.ages == (0.0, 0.0)

    def holds(self, age: float) -> bool:
        return self.ages[0] <= age <= self.ages[1]


PRESENT_DAY = SampleGroup("present-day")


@runtime_checkable
class Encoder(Protocol):
    """The interface of every encoder (built-in or plugin)."""

    name: ClassVar[str]
    data_kinds: ClassVar[tuple[str, ...]]
    #: what the encoder does with a missing call, in words (for outputs and model cards)
    missing_rule: ClassVar[str]

    @classmethod
    def from_config(cls, params: dict[str, Any]) -> Encoder: ...

    def to_config(self) -> dict[str, Any]: ...

    @property
    def shapes(self) -> dict[str, tuple[int | None, ...]]: ...

    @property
    def sample_groups(self) -> tuple[SampleGroup, ...]: ...

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow: ...


class DataclassEncoder:
    """The plumbing of an encoder that is a frozen dataclass: its fields are its parameters.
    Defaults: it reads haplotypes of present-day samples. Plugins may subclass it too."""

    name: ClassVar[str]
    data_kinds: ClassVar[tuple[str, ...]] = ("haplotypes",)
    missing_rule: ClassVar[str] = "not stated by the encoder"

    @classmethod
    def from_config(cls, params: dict[str, Any]) -> Any:
        """The encoder of these parameters; unknown ones, and values of the wrong type (from
        ``--encoder NAME=VALUE`` or a contract), are refused by name."""
        problems = field_problems(cls, params, partial=True)
        if problems:
            raise PopgenHubError(f"{cls.name} encoder: {'; '.join(problems)}")
        return cls(**params)

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, **asdict(self)}  # type: ignore[call-overload]

    @property
    def sample_groups(self) -> tuple[SampleGroup, ...]:
        return (PRESENT_DAY,)

    def check_kind(self, block: GenotypeBlock) -> None:
        if block.kind not in self.data_kinds:
            raise PopgenHubError(f"the {self.name} encoder reads {', '.join(self.data_kinds)}, "
                                 f"not {block.kind}")


def build_encoder(config: dict[str, Any]) -> Encoder:
    """Build the encoder a contract's ``encoder`` section describes (built-in or plugin)."""
    params = dict(config)
    return ENCODERS.get(params.pop("name", None)).from_config(params)


def group_index(groups: tuple[SampleGroup, ...], age: float) -> int | None:
    """The group that holds samples ``age`` years old: a present-day group those of age 0, an
    ancient one those in its age range (the younger group on a shared boundary); None if
    none does."""
    return next((i for i, group in enumerate(groups)
                 if group.holds(age) and (age > 0) != group.present_day), None)


def has_ancient_groups(encoder: Encoder) -> bool:
    return any(not group.present_day for group in encoder.sample_groups)


def input_shapes(encoder: Encoder, names: list[str]) -> dict[str, tuple[int | None, ...]]:
    """The shape of each graph input ``names`` (a contract's), without the batch axis: a
    one-tensor encoder's tensor feeds a one-input graph whatever its name."""
    shapes = encoder.shapes
    if len(names) == 1 and len(shapes) == 1:
        return {names[0]: next(iter(shapes.values()))}
    return {name: shapes[name] for name in names if name in shapes}


def fits_shape(shape: tuple[int, ...], declared: tuple[int | None, ...]) -> bool:
    """Whether an array of ``shape`` (no batch axis) is what ``declared`` describes (an axis
    of None: any size)."""
    return len(shape) == len(declared) and all(
        size is None or size == made for made, size in zip(shape, declared, strict=True))


def ancient_bins_text(encoder: Encoder) -> str:
    """The ancient groups in words (e.g. for model cards), or "" when it has none."""
    ancient = [group for group in encoder.sample_groups if not group.present_day]
    if not ancient:
        return ""
    sizes = sorted({group.size for group in ancient})
    return (f"{', '.join(group.name for group in ancient)} years before present, "
            f"{'/'.join(map(str, sizes))} haplotypes each")


def rows_for(encoder: Encoder, time_points: list[dict[str, Any]], source: str = "the data"
             ) -> np.ndarray:
    """The stored rows ``encoder`` reads, in its :attr:`sample_groups` order, given the time
    points the rows are stored in (``age_years``, ``n_haplotypes`` each, in storage order): the
    first ``size`` rows of each group (all of them for a size of None). Ancient time points
    count only for encoders with ancient groups, and must then fall in one."""
    groups = encoder.sample_groups
    starts = np.cumsum([0] + [point["n_haplotypes"] for point in time_points])
    rows: list[list[int]] = [[] for _ in groups]
    for point, start in zip(time_points, starts, strict=False):
        age = float(point["age_years"])
        index = group_index(groups, age)
        if index is None and age > 0 and has_ancient_groups(encoder):
            bins = ", ".join(group.name for group in groups if not group.present_day)
            raise PopgenHubError(f"{source}: haplotypes {age:g} years old fall in none of the "
                                 f"model's time bins {bins}")
        if index is not None:
            rows[index] += range(start, start + point["n_haplotypes"])
    for group, group_rows in zip(groups, rows, strict=True):
        if not group_rows or len(group_rows) < (group.size or 0):
            where = "present-day" if group.present_day else f"the {group.name} years bin"
            raise PopgenHubError(f"{source} has {len(group_rows)} haplotypes in {where}; the "
                                 f"model needs {group.size or 'some'}")
    return np.concatenate([group_rows[:group.size] for group_rows, group in
                           zip(rows, groups, strict=True)]).astype(np.int64)
