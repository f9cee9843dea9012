"""The input/output contract of a model: everything needed to reproduce its preprocessing.

The same JSON document is stored as ``config.json`` beside the model and in the ONNX file's
``metadata_props`` (key :data:`ONNX_METADATA_KEY`), so the ``.onnx`` file alone is enough to
encode a window exactly as in training.

Format 2 adds what a model accepts (data kind; ranges of sample size, ploidy and depth), the
kind of output (classes, a regression value, an embedding) and ``references``: room for
distributions stored with the model (a null distribution of the score, summary statistics of
the training data). Format-1 contracts (bundled and published before) load as format 2 with
the defaults below, which describe exactly what those models took.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .calibration import CONDITIONS, NULL_SCORE, RECALIBRATE, condition_problems, null_problems
from .decision import (
    RESTORE_THRESHOLD,
    THRESHOLD,
    DecisionThreshold,
    decision_threshold,
    threshold_problems,
)
from .errors import PopgenHubError
from .genotypes import KINDS
from .ood import BY_HISTORY, REFERENCE, by_history_problems, reference_problems
from .schema import field_problems, short

FORMAT_VERSION = 2
ONNX_METADATA_KEY = "popgen_hub.contract"
OUTPUT_KINDS = ("classes", "regression", "embedding")
EXPORT_AGAIN = "export the model again with `popgen-hub export` (or restore the file)"

#: How a VCF with a different number of haplotypes than the model's is handled.
HAPLOTYPE_RULES = {
    "subsample": (
        "If the input has more haplotypes than the model's n_haplotypes, a fixed random subset "
        "of n_haplotypes (drawn once per scan from --seed) is used for every window; if it has "
        "fewer, the scan stops with an error, because images of fewer haplotypes are outside "
        "the training distribution."
    ),
}


@dataclass(frozen=True)
class InputSpec:
    """What one model input is made from."""

    tensor_name: str
    n_haplotypes: int
    window_bp: int
    phased: bool = True
    haplotype_rule: str = "subsample"
    #: Windows with fewer informative sites than this (after the encoder's filters) get no score.
    min_sites: int = 10
    #: Every graph input in order, for models with several (e.g. present-day and ancient
    #: haplotypes); empty means the one ``tensor_name``.
    tensor_names: list[str] = field(default_factory=list)
    #: The data kind the encoder reads (see :mod:`popgen_hub.genotypes`).
    data_kind: str = "haplotypes"
    #: Accepted ranges, [min, max] with None for no bound: sample size (in units of the data
    #: kind: haplotypes, or individuals), ploidy of each sample, read depth per sample.
    sample_size: list[int | None] = field(default_factory=lambda: [None, None])
    ploidy: list[int | None] = field(default_factory=lambda: [1, 2])
    depth: list[float | None] = field(default_factory=lambda: [None, None])

    def __post_init__(self) -> None:
        if self.sample_size == [None, None]:  # format 1: at least n_haplotypes (subsampled)
            object.__setattr__(self, "sample_size", [self.n_haplotypes, None])

    @property
    def names(self) -> list[str]:
        return list(self.tensor_names) or [self.tensor_name]


@dataclass(frozen=True)
class ModelContract:
    """A pretrained model's contract; ``name`` is ``architecture.tag``."""

    name: str
    architecture: str
    description: str
    input: InputSpec
    encoder: dict[str, Any]
    #: Class names, in the order of the model's output; the first is the null (neutral) class.
    #: For a regression or embedding output, the names of its columns.
    labels: list[str]
    output_name: str = "probabilities"
    output_kind: str = "classes"
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    #: Reference distributions stored with the model, by name (e.g. "null_score").
    references: dict[str, Any] = field(default_factory=dict)
    license: str = "MIT"
    citations: list[str] = field(default_factory=list)
    revision: str = "bundled"
    #: Where the weights are and their sha256 (config.json only; empty inside the ONNX file).
    weights: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if "." not in self.name:
            raise PopgenHubError(f"model name {self.name!r} must be 'architecture.tag'")
        if self.output_kind not in OUTPUT_KINDS:
            raise PopgenHubError(f"model {self.name}: output_kind {self.output_kind!r} is not "
                                 f"one of {', '.join(OUTPUT_KINDS)}")
        if self.output_kind == "classes" and len(self.labels) < 2:
            raise PopgenHubError(f"model {self.name} must have at least two labels")
        if self.input.haplotype_rule not in HAPLOTYPE_RULES:
            raise PopgenHubError(
                f"unknown haplotype_rule {self.input.haplotype_rule!r} in {self.name}; "
                f"known: {sorted(HAPLOTYPE_RULES)}"
            )
        if self.input.data_kind not in KINDS:
            raise PopgenHubError(f"model {self.name}: data_kind {self.input.data_kind!r} is "
                                 f"not one of {', '.join(KINDS)}")

    def test_accuracy(self) -> tuple[float, int] | None:
        """The held-out test accuracy and its number of replicates, when the metrics record
        them (metrics are free-form: other values are not shown)."""
        test = self.metrics.get("test")
        accuracy, n = (test.get("accuracy"), test.get("n")) if isinstance(test, dict) else (
            None, None)
        numbers = isinstance(accuracy, (int, float)) and isinstance(n, int)
        return (float(accuracy), n) if numbers and not isinstance(accuracy, bool) else None

    def decision_threshold(self, individuals: int | None = None) -> DecisionThreshold | None:
        """A classifier's threshold on P(labels[1]): stored, or 0.5 (None: not a classifier);
        with ``individuals``, the one a scan of that many calls windows at
        (:meth:`DecisionThreshold.for_individuals`)."""
        return (decision_threshold(self.references, self.labels).for_individuals(individuals)
                if self.output_kind == "classes" else None)

    @property
    def track_labels(self) -> list[str]:
        """Outputs that get a browser track: a classifier's classes but the null class, every
        value of a regression."""
        return self.labels if self.output_kind == "regression" else self.labels[1:]

    @property
    def output_columns(self) -> list[str]:
        """The window table's column of each output: ``p_CLASS``, or a value's label."""
        return list(self.labels) if self.output_kind == "regression" else [
            f"p_{label}" for label in self.labels]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["input"]["tensor_names"]:
            del data["input"]["tensor_names"]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Any, source: str = "contract") -> ModelContract:
        """A contract from its JSON value; anything malformed (wrong types, missing or unknown
        fields, impossible values) is refused in one line naming ``source`` and the field."""
        if not isinstance(data, dict) or not isinstance(data.get("input"), dict):
            raise PopgenHubError(f"{source} is not a valid popgen-hub contract: expected a JSON "
                                 f"object with an 'input' object; {EXPORT_AGAIN}")
        version = data.get("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise PopgenHubError(
                f"{source} has contract format {version}, newer than this popgen-hub understands "
                f"({FORMAT_VERSION}); upgrade with `pip install -U popgen-hub`"
            )
        problems = ([f"input: {p}" for p in field_problems(InputSpec, data["input"])]
                    + field_problems(cls, data, skip=("input",)))
        problems = problems or _value_problems(data)
        if problems:
            raise PopgenHubError(f"{source} is not a valid popgen-hub contract: {problems[0]}; "
                                 f"{EXPORT_AGAIN}")
        references, window_bp = data.get("references", {}), data["input"]["window_bp"]
        if wrong := _reference_problems(references, data["labels"], window_bp):
            raise PopgenHubError(f"{source}: model {data['name']}'s {wrong[0]}; {RECALIBRATE}")
        trained_on = ((data.get("training") or {}).get("parameters") or {}).get("histories")
        if BY_HISTORY in references and (wrong := by_history_problems(
                references[BY_HISTORY], trained_on if isinstance(trained_on, list) else None,
                window_bp)):
            raise PopgenHubError(f"{source}: model {data['name']}'s {wrong[0]}; store them "
                                 f"again with `popgen-hub calibrate MODEL_DIR "
                                 f"--history-statistics N`")
        threshold = references.get(THRESHOLD)
        if threshold is not None and (wrong := threshold_problems(
                threshold, data["labels"], data["input"].get("data_kind", "haplotypes"))):
            raise PopgenHubError(f"{source}: model {data['name']}'s {wrong[0]}; "
                                 f"{RESTORE_THRESHOLD}")
        try:
            return cls(**{**data, "input": InputSpec(**data["input"]),
                          "format_version": FORMAT_VERSION})
        except PopgenHubError as exc:  # __post_init__'s checks, which know no file name
            raise PopgenHubError(f"{source} is not a valid popgen-hub contract: {exc}; "
                                 f"{EXPORT_AGAIN}") from None

    @classmethod
    def from_json(cls, text: str, source: str = "contract") -> ModelContract:
        """A contract from JSON text (``config.json``'s or the ONNX metadata's)."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise PopgenHubError(f"{source}: the model contract is not valid JSON ({exc}); "
                                 f"{EXPORT_AGAIN}") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_json_file(cls, path: str | Path) -> ModelContract:
        path = Path(path)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise PopgenHubError(f"cannot read model contract {path}: {exc}") from None
        return cls.from_json(text, source=str(path))


def figure_text(value: float | None, spec: str = ".3f") -> str:
    """A measured figure as text, "n/a" for None (a regression's correlation without spread
    in its predictions)."""
    return "n/a" if value is None else format(value, spec)


def regression_summary(test: dict[str, Any]) -> str:
    """A regression's held-out figures in one line (its ``metrics["test"]``): Pearson r, RMSE,
    the scale and n."""
    scale = " (log10)" if test.get("log10") else ""
    return (f"Pearson r {figure_text(test['pearson'])}, RMSE {test['rmse']:.3f}{scale} "
            f"(n = {test['n']:,})")


def _reference_problems(references: dict[str, Any], labels: list[str], window_bp: int
                        ) -> list[str]:
    """What is wrong with the stored distributions calibrate writes for a model of ``labels``
    and windows of ``window_bp`` (empty: nothing): the null, the training statistics, and the
    nulls by condition with theirs."""
    null, stats = references.get(NULL_SCORE), references.get(REFERENCE)
    conditions = references.get(CONDITIONS)
    problems = ((null_problems(null, labels) if null is not None else [])
                + (reference_problems(stats, window_bp=window_bp) if stats is not None else []))
    if problems or conditions is None:
        return problems
    return condition_problems(conditions, labels) or [
        problem for i, record in enumerate(conditions) for problem in reference_problems(
            record[REFERENCE], f"references.{CONDITIONS}[{i}].{REFERENCE}", window_bp)]


def _value_problems(data: dict[str, Any]) -> list[str]:
    """Values of the right type that no model can have."""
    spec = data["input"]
    problems = [f"input: {key} is {spec[key]}, not a positive number"
                for key in ("n_haplotypes", "window_bp") if key in spec and spec[key] < 1]
    if spec.get("min_sites", 0) < 0:
        problems.append(f"input: min_sites is {spec['min_sites']}, not 0 or more")
    problems += [f"input: {key} is {short(spec[key])}, not a [min, max] pair"
                 for key in ("sample_size", "ploidy", "depth") if len(spec.get(key, "..")) != 2]
    labels = data["labels"]
    if len(set(labels)) != len(labels) or not all(labels):
        problems.append(f"labels {short(labels)} must be distinct, non-empty names")
    if not isinstance(data["encoder"].get("name"), str):
        problems.append("encoder has no 'name' (the encoder to rebuild)")
    return problems
