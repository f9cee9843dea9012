"""Pieces of a scan scored on a Dask distributed cluster (``scan --scheduler``).

The model travels to the workers as its ONNX bytes and contract (:class:`ShippedModel`,
scattered once to every worker); each worker process builds its onnxruntime session once per
model (by sha256) and device, on one thread. The reader travels pickled, as to the local
worker processes, and each task unpickles its own copy, which opens the input files again by
path: the workers need popgen-hub installed and the inputs at the same path, not the model.
The pieces are planned for the cluster's threads (:func:`cluster_threads`, when the scan is
prepared) and yielded as they finish, so that a resumable scan saves each at once.
"""

from __future__ import annotations

import pickle
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import cluster as connection
from ..contract import ModelContract
from ..errors import PopgenHubError
from ..readers import Reader
from ..runtime import OnnxModel, model_sha256
from ..schema import first_line


@dataclass(frozen=True)
class ShippedModel:
    """A model as the cluster's workers get it: the ONNX file's bytes, their sha256, the
    contract and the device to run it on."""

    onnx: bytes
    sha256: str
    contract: ModelContract
    device: str


def ship(model: OnnxModel) -> ShippedModel:
    return ShippedModel(model.path.read_bytes(), model_sha256(model.path, model.contract),
                        model.contract, model.device)


#: sessions a worker process keeps (the models of the latest scans it served)
KEPT_SESSIONS = 4
_SESSIONS: dict[tuple[str, str], OnnxModel] = {}
_SESSIONS_LOCK = threading.Lock()  # a worker may run several tasks at once, on threads


def worker_model(shipped: ShippedModel) -> OnnxModel:
    """In a worker: the shipped model's session on one thread, built once per process."""
    key = (shipped.sha256, shipped.device)
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            # onnxruntime reads the whole file (exports have no external data) when it builds
            # the session, so the file need not outlive it
            with tempfile.TemporaryDirectory(prefix="popgen-hub-model-") as folder:
                path = Path(folder) / f"{shipped.sha256}.onnx"
                path.write_bytes(shipped.onnx)
                model = OnnxModel(path, shipped.contract, device=shipped.device, threads=1)
            while len(_SESSIONS) >= KEPT_SESSIONS:
                del _SESSIONS[next(iter(_SESSIONS))]
            _SESSIONS[key] = model
        return _SESSIONS[key]


def cluster_threads(scheduler: str) -> int:
    """The threads of the cluster's workers, that a scan's pieces are planned for (waiting
    for a first worker to join)."""
    with connection.dask_client(scheduler) as client:
        try:
            client.wait_for_workers(1, timeout=connection.CONNECT_TIMEOUT)
        except TimeoutError:
            raise PopgenHubError(
                f"the Dask scheduler at {scheduler} has no workers; start some (`dask worker "
                f"{scheduler}`) where popgen-hub is installed and the inputs are at the same "
                f"path") from None
        return max(1, sum(client.nthreads().values()))


def score_on_cluster(scheduler: str, score_piece: Callable[..., Any], model: OnnxModel,
                     reader: Reader, todo: list[tuple[int, Any]], args: tuple, bar: tqdm
                     ) -> Iterator[tuple[int, Any]]:
    """``score_piece(model, reader, piece, *args, None)`` of each ``(index, piece)`` of
    ``todo`` on the cluster at ``scheduler``, yielded as each finishes; what is still running
    is cancelled when the caller stops early."""
    if not todo:  # every piece kept by an interrupted scan
        return
    from distributed import as_completed

    with connection.dask_client(scheduler) as client:
        shipped = client.scatter(ship(model), broadcast=True, hash=False)
        pickled = client.scatter(pickle.dumps(reader), broadcast=True, hash=False)
        # pure=False: a task runs even where Dask has seen the same arguments
        futures = {client.submit(_score_on_worker, score_piece, shipped, pickled, piece, args,
                                 pure=False): (i, piece) for i, piece in todo}
        try:
            for future in as_completed(futures):
                i, piece = futures.pop(future)
                result = _result(future, scheduler)
                bar.update(len(piece.starts))
                yield i, result
        finally:
            client.cancel(list(futures))


def _score_on_worker(score_piece: Callable[..., Any], shipped: ShippedModel, pickled: bytes,
                     piece: Any, args: tuple) -> Any:
    # a reader of its own: tasks may run at once on one worker's threads
    return score_piece(worker_model(shipped), pickle.loads(pickled), piece, *args, None)


def _result(future: Any, scheduler: str) -> Any:
    """The task's result; its PopgenHubError as it is (a bad record), any other failure as
    one line naming the cluster."""
    try:
        return future.result()
    except PopgenHubError:
        raise
    except Exception as exc:  # a worker died (KilledWorker), the scheduler went away, a bug
        raise PopgenHubError(f"a piece of the scan failed on the Dask cluster at {scheduler}: "
                             f"{type(exc).__name__}: {first_line(exc)}") from exc
