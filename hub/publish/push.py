"""``popgen-hub push``: build a Hugging Face model repo folder for a model and upload it.

The folder holds ``README.md`` (the model card, rendered by huggingface_hub's ``ModelCard``
from ``cards/<model>.yaml`` and the measured contract), ``config.json``, ``model.onnx``, the
training figures and ``test_data_set_0/``. Before anything is written the model is loaded (sha256
and contract checked) and must reproduce its own test data.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import jinja2  # noqa: F401  (the card template; here so a missing publish extra shows at once)
import onnx  # noqa: F401  (test_data_set_0)
import yaml  # noqa: F401  (card sources)

from ..errors import PopgenHubError
from ..files import RunFolder, staged_outputs
from ..registry import (
    CARD,
    CONFIG,
    HF_PREFIX,
    WEIGHTS,
    hub_snapshot,
    parse_hub_name,
    resolve_directory,
)
from ..runtime import load_model_dir
from .test_data import TEST_DATA_DIR, check_test_data

CARDS_DIR = Path("cards")  # card sources, relative to a clone of the repository


def default_card_source(model_name: str) -> Path | None:
    candidate = CARDS_DIR / f"{model_name}.yaml"
    return candidate if candidate.is_file() else None


def build_repo_folder(name: str, out_dir: str | Path, *, repo_id: str | None = None,
                      card_source: str | Path | None = None) -> Path:
    """Write the Hub repo folder of model ``name`` (any registry name) into ``out_dir``."""
    from .card import read_card_source, render_card

    directory = hub_snapshot(name) if name.startswith(HF_PREFIX) else resolve_directory(name)
    if directory is None:
        raise PopgenHubError(f"{name}: push a model directory (a registry name, local-dir: or "
                             f"hf-hub:), not a bare .onnx file")
    model = load_model_dir(directory, device="cpu")
    check_test_data(model, directory / TEST_DATA_DIR)
    card_source = card_source or default_card_source(model.contract.name)
    if card_source is None and not (directory / CARD).is_file():
        raise PopgenHubError(f"{name} has no model card; give its source with --card "
                             f"cards/{model.contract.name}.yaml")
    with staged_outputs(out_dir) as staging:
        for file_name in (CONFIG, WEIGHTS, *RunFolder.FIGURES, *RunFolder.OPTIONAL_FIGURES):
            if (directory / file_name).is_file():
                shutil.copyfile(directory / file_name, staging.path(file_name))
        shutil.copytree(directory / TEST_DATA_DIR, staging.path(TEST_DATA_DIR))
        if card_source is not None:
            card = render_card(model.contract, read_card_source(card_source), hub_id=repo_id)
            card.save(staging.path(CARD))
        else:
            shutil.copyfile(directory / CARD, staging.path(CARD))
    return Path(out_dir)


def push(name: str, repo_id: str, *, revision: str | None = None, private: bool = False,
         card_source: str | Path | None = None) -> str:
    """Upload model ``name`` to the Hub repo ``repo_id``; returns the commit's URL.

    The token comes from the usual places (``HF_TOKEN``, ``hf auth login``); the endpoint from
    ``HF_ENDPOINT``. ``revision`` is a branch, created from main when missing.
    """
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError

    parse_hub_name(HF_PREFIX + repo_id)  # a malformed --repo fails here, not half-way
    api = HfApi(library_name="popgen-hub")
    with tempfile.TemporaryDirectory(prefix="popgen-hub-push-") as tmp:
        folder = build_repo_folder(name, Path(tmp) / "repo", repo_id=repo_id,
                                   card_source=card_source)
        try:
            api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
            if revision:
                api.create_branch(repo_id, branch=revision, exist_ok=True)
            commit = api.upload_folder(
                repo_id=repo_id, folder_path=folder, revision=revision,
                commit_message=f"popgen-hub push {name}")
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            hint = ("check your token (HF_TOKEN or `hf auth login`) and that it may write to "
                    f"{repo_id}" if status in (401, 403) else "see the server's message")
            raise PopgenHubError(f"upload of {name} to {repo_id} on {constants.ENDPOINT} failed "
                                 f"(HTTP {status}: {str(exc).splitlines()[0]}); {hint}") from None
        except ValueError as exc:  # the Hub refused the card's metadata
            raise PopgenHubError(f"{repo_id} refused the model card of {name}: "
                                 f"{' '.join(str(exc).split())}") from None
    return commit.commit_url
