"""Run an exported model with onnxruntime: the inference path, free of torch."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .contract import EXPORT_AGAIN, ONNX_METADATA_KEY, ModelContract
from .encoders import Encoder, build_encoder, fits_shape, input_shapes
from .errors import PopgenHubError
from .files import ModelFolder, cache_dir
from .schema import first_line

log = logging.getLogger("popgen_hub")

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
#: Preferred execution providers, fastest first; those available are asked for, in this order.
PROVIDER_PREFERENCE = (TENSORRT, CUDA, CPU)
#: The device names; ``cuda:N`` (GPU number N, from 0) is accepted besides.
DEVICES = ("auto", "cpu", "gpu")
DEVICE_HELP = ("auto: a GPU (TensorRT/CUDA) when onnxruntime-gpu finds one, else the CPU; cpu; "
               "gpu: the first GPU; cuda:N: GPU number N (from 0)")
GPU_INSTALL_HINT = ("pip uninstall onnxruntime, then pip install 'popgen-hub[gpu]' (it installs "
                    "onnxruntime-gpu, which replaces onnxruntime: uninstall that first, as "
                    "onnxruntime's docs say)")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_device(device: Any) -> tuple[str, int]:
    """A device value as (kind, GPU number): ``auto`` and ``gpu`` use GPU 0, ``cuda:N`` is
    ("gpu", N), ``cpu`` ("cpu", 0); anything else is refused in one line."""
    if device in DEVICES:
        return device, 0
    match = re.fullmatch(r"cuda:([0-9]+)", device) if isinstance(device, str) else None
    if match is None:
        raise PopgenHubError(f"device {device!r} is not one of auto, cpu, gpu, cuda:N "
                             f"({DEVICE_HELP})")
    return "gpu", int(match[1])


def model_sha256(path: Path, contract: ModelContract | None) -> str:
    """A model's identity: the sha256 its contract records (checked when it was loaded), else
    the file's."""
    return (contract.weights.get("sha256") if contract is not None else None) or sha256_of(path)


def check_session_options(device: Any, threads: Any) -> None:
    """Refuse an unknown ``device`` or a ``threads`` that is not a count (0: onnxruntime's
    default, one per core)."""
    parse_device(device)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise PopgenHubError(f"threads={threads!r} must be a whole number of threads, or 0 for "
                             f"onnxruntime's default (one per core)")


def tensorrt_cache_dir(model_sha256: str) -> Path:
    """Where TensorRT keeps the engines it builds for a model: one folder per model sha256 in
    popgen-hub's cache, so that engines of different models never mix."""
    return cache_dir() / "tensorrt" / model_sha256.lower()


def provider_options(name: str, gpu: int, model_sha256: str | None = None) -> dict[str, Any]:
    """Options for a GPU execution provider on GPU number ``gpu``."""
    if name == CUDA:
        # The documented default, pinned: a window batch keeps its shape through a scan, so
        # benchmarking cuDNN's convolution algorithms once per shape pays for itself.
        return {"device_id": gpu, "cudnn_conv_algo_search": "EXHAUSTIVE"}
    options: dict[str, Any] = {"device_id": gpu, "trt_fp16_enable": False}  # scores as on a CPU
    if model_sha256:  # building an engine is slow; later sessions load it from the cache
        options |= {"trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(tensorrt_cache_dir(model_sha256))}
    return options


def choose_providers(device: str = "auto", available: list[str] | None = None, *,
                     model_sha256: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The (provider, options) pairs to ask onnxruntime for, best first, among ``available``
    (default: onnxruntime's): ``cpu``; ``gpu``/``cuda:N`` (error if onnxruntime has no GPU
    provider); ``auto`` (a GPU when there is a GPU provider). ``model_sha256`` names the
    TensorRT engine cache folder."""
    kind, gpu = parse_device(device)
    if available is None:
        import onnxruntime as ort

        available = ort.get_available_providers()
    cpu: list[tuple[str, dict[str, Any]]] = [(CPU, {})]
    names = [p for p in PROVIDER_PREFERENCE[:-1] if p in available] if kind != "cpu" else []
    if kind == "gpu" and not names:
        raise PopgenHubError(
            f"--device {device}: this onnxruntime has no GPU provider (it has "
            f"{', '.join(available) or 'none'}); on a machine with an NVIDIA GPU, "
            f"{GPU_INSTALL_HINT}")
    return [(name, provider_options(name, gpu, model_sha256)) for name in names] + cpu


@contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Catch what is written to file descriptor 2 (onnxruntime's C++ logger writes there) in
    the block; the text is in the yielded list afterwards."""
    caught: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as file:
            os.dup2(file.fileno(), 2)
            try:
                yield caught
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                file.seek(0)
                caught.append(file.read().decode(errors="replace"))
    finally:
        os.close(saved)


def onnxruntime_reason(text: str) -> str | None:
    """What onnxruntime's log says about an execution provider that did not start: the error
    (e.g. a CUDA library that did not load; CUDA's before TensorRT's), else its warning."""
    errors, warnings = [], []
    for line in text.splitlines():
        if "] " not in line or ("[E:onnxruntime" not in line and "[W:onnxruntime" not in line):
            continue
        message = line.split("] ", 1)[1].rsplit("FAIL : ", 1)[-1].split(". Please ", 1)[0]
        (errors if "[E:onnxruntime" in line else warnings).append(message.strip())
    found = errors or warnings
    return next((m for m in found if "cuda" in m.lower()), found[0]) if found else None


def start_session(ort: Any, path: Path, options: Any, device: str,
                  providers: list[tuple[str, dict[str, Any]]]) -> tuple[Any, str]:
    """An onnxruntime session on ``providers``, and the device it runs on (``auto`` becomes
    ``cpu`` when no GPU started). A GPU that did not start is an error for ``gpu``/``cuda:N``
    (naming what onnxruntime reported), a warning for ``auto``."""
    def create(chosen: list[tuple[str, dict[str, Any]]]) -> Any:
        # No fallback: a GPU that did not start is reported below, not printed on stdout.
        return ort.InferenceSession(str(path), options, providers=chosen, enable_fallback=0)

    def refused(exc: Exception, on: str = "") -> PopgenHubError:
        return PopgenHubError(f"onnxruntime cannot load {path}{on}: {first_line(exc)}")

    wanted = [name for name, _ in providers if name != CPU]
    if not wanted:
        try:
            return create(providers), device
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise refused(exc) from None
    with captured_stderr() as reported:
        try:
            session, failure = create(providers), None
        except Exception as exc:  # e.g. cuda:N with no GPU number N
            session, failure = None, exc
    started = [p for p in session.get_providers() if p in wanted] if session else []
    if started == wanted:
        sys.stderr.write("".join(reported))
        return session, device
    reason = onnxruntime_reason("".join(reported)) or "onnxruntime gave no reason"
    if started:  # TensorRT did not start, CUDA did
        log.info("TensorRT did not start (%s); running on CUDA", reason)
        return session, device
    if failure is not None:
        if device != "auto":
            raise refused(failure, f" on --device {device}") from None
        why = first_line(failure)
    else:
        why = f"onnxruntime-gpu is installed but {' and '.join(wanted)} did not start: {reason}"
        if device != "auto":
            raise PopgenHubError(f"--device {device}: {why}; check that the NVIDIA driver, CUDA "
                                 f"and cuDNN match onnxruntime-gpu's requirements, or use "
                                 f"--device cpu")
    log.warning("--device auto: no GPU (%s); running on the CPU", why)
    if failure is None:
        return session, "cpu"
    try:
        return create([(CPU, {})]), "cpu"
    except Exception as exc:
        raise refused(exc) from None


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
        available = ort.get_available_providers()
        providers = choose_providers(device, available, model_sha256=(
            model_sha256(self.path, contract) if TENSORRT in available and device != "cpu"
            and self.path.is_file() else None))
        for _, provider in providers:
            if "trt_engine_cache_path" in provider:
                try:
                    Path(provider["trt_engine_cache_path"]).mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # e.g. a read-only home: TensorRT builds every time
                    log.info("no TensorRT engine cache (%s): %s", exc.strerror, exc.filename)
                    for key in ("trt_engine_cache_enable", "trt_engine_cache_path"):
                        del provider[key]
        # The device it runs on: workers started from this model need not try a GPU again.
        self.session, self.device = start_session(ort, self.path, options, device, providers)
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
        try:
            return self.session.run([self.contract.output_name], feed)[0]
        except Exception as exc:  # onnxruntime's own types: e.g. a GPU out of memory
            if self.device == "cpu":
                raise
            raise PopgenHubError(
                f"{self.contract.name} failed on --device {self.device} "
                f"({self.provider}): {first_line(exc)}; try a smaller --batch-size, or "
                f"--device cpu") from None


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
