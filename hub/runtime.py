"""Run an exported model with onnxruntime: the inference path, free of torch."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from .contract import EXPORT_AGAIN, ONNX_METADATA_KEY, ModelContract
from .encoders import Encoder, build_encoder, fits_shape, input_shapes
from .errors import PopgenHubError
from .files import ModelFolder
from .schema import first_line

#: Preferred execution providers, fastest first; the first one available is used.
PROVIDER_PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider",
                       "CPUExecutionProvider")
DEVICES = ("auto", "cpu", "gpu")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_session_options(device: Any, threads: Any) -> None:
    """Refuse an unknown ``device`` or a ``threads`` that is not a count (0: onnxruntime's
    default, one per core)."""
    if device not in DEVICES:
        raise PopgenHubError(f"device {device!r} is not one of {', '.join(DEVICES)} (auto: a GPU "
                             f"when onnxruntime-gpu finds one, else the CPU)")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise PopgenHubError(f"threads={threads!r} must be a whole number of threads, or 0 for "
                             f"onnxruntime's default (one per core)")


def choose_providers(device: str = "auto") -> list[str]:
    """Providers to ask for: ``cpu``, ``gpu`` (error if none) or ``auto`` (GPU when present)."""
    import onnxruntime as ort

    check_session_options(device, 0)
    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    gpu = [p for p in PROVIDER_PREFERENCE[:-1] if p in available]
    if device == "gpu" and not gpu:
        raise PopgenHubError(
            "--device gpu: onnxruntime has no GPU provider here (available: "
            f"{', '.join(available)}); install `popgen-hub[gpu]` on a machine with CUDA")
    return gpu + ["CPUExecutionProvider"]


def batch_shape_text(shape: tuple[int | None, ...] | list[Any]) -> str:
    """A tensor shape after its batch axis in words: "(batch, 64, any)"."""
    return "(batch, " + ", ".join("any" if d is None else str(d) for d in shape) + ")"


def check_graph(session: Any, contract: ModelContract, encoder: Encoder, path: Path) -> None:
    """Refuse a contract that does not describe the graph: other input names, tensor shapes
    (the batch axis aside; a dynamic axis matches any size), output name or number of
    outputs than the labels."""
    graph_inputs = {i.name: i.shape for i in session.get_inputs()}
    if sorted(graph_inputs) != sorted(contract.input.names):
        raise PopgenHubError(
            f"{path}: the contract names inputs {contract.input.names} but the graph's inputs "
            f"are {list(graph_inputs)}; {EXPORT_AGAIN}")
    shapes = input_shapes(encoder, contract.input.names)
    for name, graph_shape in graph_inputs.items():
        made = shapes.get(name)
        if made is None or len(made) != len(graph_shape) - 1 or any(
                isinstance(g, int) and g != m for g, m in zip(graph_shape[1:], made,
                                                              strict=True)):
            encoded = (f"a tensor of shape {batch_shape_text(made)}" if made is not None
                       else "no tensor")
            raise PopgenHubError(
                f"{path}: the contract's encoder makes {encoded} for input {name!r} but the "
                f"graph takes {batch_shape_text(graph_shape[1:])}; the contract does not describe "
                f"this model: {EXPORT_AGAIN}")
    outputs = {o.name: o.shape for o in session.get_outputs()}
    if contract.output_name not in outputs:
        raise PopgenHubError(f"{path}: the contract's output {contract.output_name!r} is not "
                             f"among the graph's outputs {list(outputs)}; {EXPORT_AGAIN}")
    width = outputs[contract.output_name][-1] if outputs[contract.output_name] else None
    if contract.labels and isinstance(width, int) and width != len(contract.labels):
        raise PopgenHubError(
            f"{path}: the graph gives {width} outputs but the contract names {len(contract.labels)}"
            f" labels ({', '.join(contract.labels)}); {EXPORT_AGAIN}")


class OnnxModel:
    """An onnxruntime session plus the contract that says how to prepare its input."""

    def __init__(self, onnx_path: str | os.PathLike, contract: ModelContract | None = None, *,
                 device: str = "auto", threads: int = 0) -> None:
        import onnxruntime as ort

        check_session_options(device, threads)
        self.path = Path(onnx_path)
        self.device = device
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # Batches arrive between encoding work; idle threads that spin would take its core.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # a missing CUDA library is reported by us, not as noise
        try:
            self.session = ort.InferenceSession(str(self.path), options,
                                                providers=choose_providers(device))
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise PopgenHubError(f"onnxruntime cannot load {self.path}: {first_line(exc)}"
                                 ) from None
        stored = self.session.get_modelmeta().custom_metadata_map.get(ONNX_METADATA_KEY)
        if stored is None:
            raise PopgenHubError(
                f"{self.path} carries no popgen-hub contract (metadata key "
                f"{ONNX_METADATA_KEY!r}); export it with `popgen-hub export`")
        embedded = ModelContract.from_json(stored, source=f"{self.path} (its metadata)")
        if contract is not None and contract.to_dict() | {"weights": {}} != embedded.to_dict():
            raise PopgenHubError(
                f"{self.path} and the config.json beside it describe different contracts (one "
                f"was edited or replaced); export the model again")
        self.contract = contract or embedded
        try:
            self.encoder = build_encoder(self.contract.encoder)
        except (TypeError, ValueError) as exc:  # a parameter of the wrong type or value
            raise PopgenHubError(f"{self.path}: the contract's encoder section is invalid "
                                 f"({first_line(exc)}); {EXPORT_AGAIN}") from None
        check_graph(self.session, self.contract, self.encoder, self.path)

    @property
    def provider(self) -> str:
        """The execution provider that runs the model (first of the session's providers)."""
        return self.session.get_providers()[0]

    def predict(self, inputs: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
        """Model outputs, (batch, n_outputs) (class probabilities for a classifier), for
        encoded inputs: a dict of arrays (batch first) by tensor name, or for a one-input model
        one array. A one-tensor encoder's tensor feeds a one-input graph whatever its name;
        tensors the graph does not take (e.g. the ancient stack for a present-only model) are
        ignored."""
        names = self.contract.input.names
        if not isinstance(inputs, dict):
            inputs = {names[0]: inputs}
        shapes = input_shapes(self.encoder, names)
        feed = {}
        for name, shape in shapes.items():
            array = (next(iter(inputs.values())) if len(names) == len(inputs) == 1
                     else inputs.get(name))
            if array is None:
                raise PopgenHubError(f"{self.contract.name} needs input {name!r}")
            try:
                with np.errstate(over="ignore"):  # too large for float32: inf, refused below
                    array = np.ascontiguousarray(array, dtype=np.float32)
            except (TypeError, ValueError):
                raise PopgenHubError(f"{self.contract.name}: input {name!r} is not an array of "
                                     f"numbers; encode windows with model.encoder") from None
            if not fits_shape(array.shape[1:], shape):
                raise PopgenHubError(f"{self.contract.name} takes {name} inputs of shape "
                                     f"{batch_shape_text(shape)}, got {array.shape}")
            check_finite(array, f"{self.contract.name}: input {name!r}")
            feed[name] = array
        return self.session.run([self.contract.output_name], feed)[0]


def check_finite(array: np.ndarray, what: str) -> None:
    """Refuse NaN or infinite values (a model would turn them into NaN or arbitrary scores),
    naming the rows (batch indices) that hold them."""
    bad = np.flatnonzero(~np.isfinite(array).all(axis=tuple(range(1, array.ndim))))
    if len(bad):
        rows = ", ".join(map(str, bad[:10])) + (f" and {len(bad) - 10} more" if len(bad) > 10
                                                 else "")
        raise PopgenHubError(f"{what} has NaN or infinite values in rows {rows} (batch indices) "
                             f"of {len(array)}; encoded windows are finite: check how they "
                             f"were made")


def verify_sha256(path: Path, expected: str, recorded_in: str, fix: str = (
        "the file is corrupt or was modified; reinstall popgen-hub, or delete the file and "
        "download the model again")) -> None:
    """Refuse a file whose sha256 is not ``expected`` (``fix`` says what to do)."""
    if sha256_of(path) != expected.lower():
        raise PopgenHubError(f"{path} does not match {recorded_in}: {fix}")


def load_model_dir(directory: Path, *, device: str = "auto", threads: int = 0,
                   sha256: str | None = None, cls: type[OnnxModel] | None = None) -> OnnxModel:
    """Load ``model.onnx`` + ``config.json`` from a directory, checking the recorded sha256
    (and ``sha256``, a hash the caller pins, when given)."""
    folder = ModelFolder(directory)
    config_path, onnx_path = folder.config, folder.weights
    for required in (config_path, onnx_path):
        if not required.is_file():
            raise PopgenHubError(f"model directory {directory} lacks {required.name}")
    contract = ModelContract.from_json_file(config_path)
    recorded = contract.weights.get("sha256")
    if not recorded:
        raise PopgenHubError(f"{config_path} records no sha256 for model.onnx; export the model "
                             f"with `popgen-hub export`")
    verify_sha256(onnx_path, recorded, f"the sha256 recorded in {config_path.name}")
    if sha256 and sha256.lower() != recorded.lower():
        raise PopgenHubError(
            f"{directory}: the model's sha256 {recorded[:12]}... is not the pinned "
            f"{sha256[:12]}...; this is a different model (another revision?)")
    return (cls or OnnxModel)(onnx_path, contract, device=device, threads=threads)
