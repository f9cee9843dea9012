"""The input/output contract of a model: everything needed to reproduce its preprocessing.

The same JSON document is stored as ``config.json`` beside the model and in the ONNX file's
``metadata_props`` (key :data:`ONNX_METADATA_KEY`), so the ``.onnx`` file alone is enough to
encode a window exactly as in training.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import PopgenHubError

FORMAT_VERSION = 1
ONNX_METADATA_KEY = "popgen_hub.contract"

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
    labels: list[str]
    output_name: str = "probabilities"
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    license: str = "MIT"
    citations: list[str] = field(default_factory=list)
    revision: str = "bundled"
    #: Where the weights are and their sha256 (config.json only; empty inside the ONNX file).
    weights: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if "." not in self.name:
            raise PopgenHubError(f"model name {self.name!r} must be 'architecture.tag'")
        if len(self.labels) < 2:
            raise PopgenHubError(f"model {self.name} must have at least two labels")
        if self.input.haplotype_rule not in HAPLOTYPE_RULES:
            raise PopgenHubError(
                f"unknown haplotype_rule {self.input.haplotype_rule!r} in {self.name}; "
                f"known: {sorted(HAPLOTYPE_RULES)}"
            )

    @property
    def track_labels(self) -> list[str]:
        """Classes that get a browser track: all but the null class."""
        return self.labels[1:]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["input"]["tensor_names"]:  # single-input contracts read by older versions
            del data["input"]["tensor_names"]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "contract") -> ModelContract:
        version = data.get("format_version", FORMAT_VERSION)
        if version > FORMAT_VERSION:
            raise PopgenHubError(
                f"{source} has contract format {version}, newer than this popgen-hub understands "
                f"({FORMAT_VERSION}); upgrade with `pip install -U popgen-hub`"
            )
        try:
            fields = dict(data)
            fields["input"] = InputSpec(**fields["input"])
            return cls(**fields)
        except (KeyError, TypeError) as exc:
            raise PopgenHubError(f"{source} is not a valid popgen-hub contract: {exc}") from None

    @classmethod
    def from_json_file(cls, path: str | Path) -> ModelContract:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise PopgenHubError(f"cannot read model contract {path}: {exc}") from None
        return cls.from_dict(data, source=str(path))
