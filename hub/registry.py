"""Find models by name: bundled pretrained models, a local directory, or an ONNX file.

Names are ``architecture.tag`` (timm style). Sources by prefix: a bare name is a model
bundled with the package; ``local-dir:/path`` is a directory with ``model.onnx`` and
``config.json``; a path ending in ``.onnx`` is read with the contract stored inside it.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from .contract import ModelContract
from .errors import PopgenHubError
from .runtime import OnnxModel, load_model_dir

PRETRAINED_DIR = Path(__file__).parent / "pretrained"


def _bundled() -> dict[str, Path]:
    return {d.name: d for d in sorted(PRETRAINED_DIR.iterdir())
            if (d / "config.json").is_file()} if PRETRAINED_DIR.is_dir() else {}


def list_models(pattern: str = "*", pretrained: bool = True) -> list[str]:
    """Names of bundled pretrained models matching a shell-style ``pattern``."""
    if not pretrained:
        from .models import ARCHITECTURES  # needs the train extra

        return sorted(fnmatch.filter(ARCHITECTURES, pattern))
    return sorted(fnmatch.filter(_bundled(), pattern))


def model_dir(name: str) -> Path:
    """Directory of a bundled model; an unknown name lists the valid ones."""
    bundled = _bundled()
    if name not in bundled:
        arch = name.split(".", 1)[0]
        same_arch = [n for n in bundled if n.startswith(arch + ".")]
        hint = (f"tags of {arch}: {', '.join(same_arch)}" if same_arch
                else f"available models: {', '.join(bundled) or 'none'}")
        raise PopgenHubError(f"unknown model {name!r}; {hint} (see `popgen-hub list`)")
    return bundled[name]


def _directory(name: str) -> Path | None:
    """The model directory a name refers to; None for a bare ``.onnx`` file."""
    if name.startswith("local-dir:"):
        return Path(name[len("local-dir:"):])
    return None if name.endswith(".onnx") else model_dir(name)


def get_contract(name: str) -> ModelContract:
    directory = _directory(name)
    if directory is None:
        return load(name).contract
    return ModelContract.from_json_file(directory / "config.json")


def model_card(name: str) -> str | None:
    """The model card (README.md) beside a model, if it has one."""
    directory = _directory(name)
    card = directory / "README.md" if directory is not None else None
    return card.read_text() if card is not None and card.is_file() else None


def load(name: str, *, device: str = "auto", threads: int = 0) -> OnnxModel:
    """An inference model from a registry name, ``local-dir:/path`` or a ``.onnx`` path."""
    directory = _directory(name)
    if directory is not None:
        return load_model_dir(directory, device=device, threads=threads)
    path = Path(name)
    if not path.is_file():
        raise PopgenHubError(f"{path}: no such model file")
    return OnnxModel(path, device=device, threads=threads)
