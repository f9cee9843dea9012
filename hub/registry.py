"""Find models by name: bundled pretrained models, Hugging Face Hub repos, local folders.

Names are ``architecture.tag`` (timm style). Sources by prefix:

- a bare name is a model bundled with the package (works offline);
- ``hf-hub:org/repo`` or ``hf-hub:org/repo@revision`` is a Hub model repo (``config.json``,
  ``model.onnx``, ``README.md``), downloaded through huggingface_hub into its cache;
  ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and ``HF_TOKEN`` apply as for any Hub client;
- ``local-dir:/path`` is a directory with ``model.onnx`` and ``config.json``;
- a path ending in ``.onnx`` is read with the contract stored inside it.

Whatever the source, ``model.onnx`` must match the sha256 in ``config.json`` (and the one the
caller pins, if any) and the contract inside the ONNX file must equal ``config.json``'s. Nothing
on the load path unpickles: weights are ONNX, contracts JSON.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from .contract import ModelContract
from .errors import PopgenHubError
from .files import ModelFolder
from .model import Model
from .runtime import check_session_options, load_model_dir, verify_sha256
from .version import __version__

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
HF_PREFIX, LOCAL_PREFIX = "hf-hub:", "local-dir:"
CONFIG, WEIGHTS, CARD = ModelFolder.config, ModelFolder.weights, ModelFolder.card


def _bundled() -> dict[str, Path]:
    return {d.name: d for d in sorted(PRETRAINED_DIR.iterdir())
            if (d / CONFIG).is_file()} if PRETRAINED_DIR.is_dir() else {}


def list_models(pattern: str = "*", pretrained: bool = True) -> list[str]:
    """Bundled pretrained models matching a shell-style ``pattern``; with ``pretrained=False``,
    the trainable architectures instead (built-in and plugins; needs the train extra)."""
    if not pretrained:
        from .models import ARCHITECTURES

        return sorted(fnmatch.filter(ARCHITECTURES.all(), pattern))
    return sorted(fnmatch.filter(_bundled(), pattern))


def model_dir(name: str) -> Path:
    """Directory of a bundled model; an unknown name lists the valid ones."""
    bundled = _bundled()
    if name not in bundled:
        arch = name.split(".", 1)[0]
        same_arch = [n for n in bundled if n.startswith(arch + ".")]
        hint = (f"tags of {arch}: {', '.join(same_arch)}" if same_arch
                else f"available models: {', '.join(bundled) or 'none'}")
        folder = (f"; the folder {name} loads as local-dir:{name}" if Path(name).is_dir()
                  else "")
        raise PopgenHubError(f"unknown model {name!r}; {hint} (see `popgen-hub list`; Hub "
                             f"models load as hf-hub:org/repo){folder}")
    return bundled[name]


def parse_hub_name(name: str) -> tuple[str, str | None]:
    """``hf-hub:org/repo@rev`` -> (``org/repo``, ``rev``); revision None when not pinned."""
    repo, _, revision = name[len(HF_PREFIX):].partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise PopgenHubError(
            f"{name!r}: a Hub model is hf-hub:ORG/REPO or hf-hub:ORG/REPO@REVISION")
    return repo, revision or None


def hub_download(name: str, filename: str, *, required: bool = True,
                 commit: str | None = None) -> Path | None:
    """One file of a Hub model repo, from huggingface_hub's cache or the Hub (``HF_ENDPOINT``).

    Files land in ``snapshots/<commit>/``; pass the ``commit`` of a file already fetched to get
    the others from the same commit even if the branch moves meanwhile.
    """
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo, revision = parse_hub_name(name)
    try:
        return Path(hf_hub_download(repo, filename, revision=commit or revision,
                                    library_name="popgen-hub", library_version=__version__))
    except LocalEntryNotFoundError:  # a subclass of EntryNotFoundError: first
        if not required:
            return None
        if constants.HF_HUB_OFFLINE:
            raise PopgenHubError(
                f"{name}: {filename} is not in the local Hugging Face cache and HF_HUB_OFFLINE "
                f"is set; load it once online (offline, a pinned @revision finds the snapshot "
                f"it downloaded; unpinned, the newest cached one)") from None
        raise PopgenHubError(f"{name}: cannot reach {constants.ENDPOINT} to download "
                             f"{filename}; check the network or HF_ENDPOINT") from None
    except EntryNotFoundError:
        if not required:
            return None
        raise PopgenHubError(f"{name}: the repo has no {filename}; it is not a popgen-hub "
                             f"model (push one with `popgen-hub push`)") from None
    except RepositoryNotFoundError:  # some servers say this of an unknown revision too
        what = f"model repo {repo}" + (f" with a revision {revision!r}" if revision else "")
        raise PopgenHubError(f"{name}: {constants.ENDPOINT} has no {what} (or it is private: "
                             f"set HF_TOKEN)") from None
    except RevisionNotFoundError:
        raise PopgenHubError(f"{name}: no revision {revision!r} in {repo}") from None
    except HFValidationError as exc:
        raise PopgenHubError(f"{name}: not a valid Hub repo id ({exc})") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise PopgenHubError(f"{name}: {constants.ENDPOINT} answered HTTP {status} for "
                             f"{filename} ({str(exc).splitlines()[0]})") from None


def hub_snapshot(name: str) -> Path:
    """Every file of a Hub model repo (``hf-hub:org/repo[@rev]``), as a local folder."""
    commit = hub_download(name, CONFIG).parent.name
    from huggingface_hub import snapshot_download

    repo, _ = parse_hub_name(name)
    return Path(snapshot_download(repo, revision=commit, library_name="popgen-hub",
                                  library_version=__version__))


def resolve_directory(name: str) -> Path | None:
    """The model directory a name refers to (downloading Hub configs); None for a .onnx file."""
    if name.startswith(LOCAL_PREFIX):
        return Path(name[len(LOCAL_PREFIX):])
    if name.startswith(HF_PREFIX):
        return hub_download(name, CONFIG).parent
    return None if name.endswith(".onnx") else model_dir(name)


def get_contract(name: str) -> ModelContract:
    """A model's contract, without loading its weights."""
    directory = resolve_directory(name)
    if directory is None:
        return load(name).contract
    return ModelContract.from_json_file(directory / CONFIG)


def model_card(name: str) -> str | None:
    """The model card (README.md) beside a model, if it has one."""
    if name.startswith(HF_PREFIX):
        card = hub_download(name, CARD, required=False)
    else:
        directory = resolve_directory(name)
        card = directory / CARD if directory is not None else None
    return card.read_text() if card is not None and card.is_file() else None


def load(name: str | os.PathLike[str], *, device: str = "auto", threads: int = 0,
         sha256: str | None = None) -> Model:
    """An inference model from a registry name, ``hf-hub:org/repo[@rev]``, ``local-dir:/path``
    or a ``.onnx`` path; a :class:`pathlib.Path` is a model folder or an ONNX file.
    ``sha256`` pins the expected weights (e.g. from your own records)."""
    check_session_options(device, threads)  # before any download
    if not isinstance(name, str):
        path = Path(name)
        if not path.is_dir():
            return _load_file(path, device, threads, sha256)
        name = LOCAL_PREFIX + str(path)
    if name.startswith(HF_PREFIX):
        snapshot = hub_download(name, CONFIG).parent
        directory = hub_download(name, WEIGHTS, commit=snapshot.name).parent
    else:
        directory = resolve_directory(name)
    if directory is not None:
        return load_model_dir(directory, device=device, threads=threads, sha256=sha256,
                              cls=Model)
    return _load_file(Path(name), device, threads, sha256)


def _load_file(path: Path, device: str, threads: int, sha256: str | None) -> Model:
    """A bare ONNX file, read with the contract stored inside it."""
    if not path.is_file():
        raise PopgenHubError(f"{path}: no such model file or folder")
    if sha256:
        verify_sha256(path, sha256, "the pinned sha256",
                      "this is a different model (or another revision of it)")
    return Model(path, device=device, threads=threads)
