"""ONNX-zoo test data: ``test_data_set_0/input_0.pb`` and ``output_0.pb``.

Serialised TensorProtos of a few encoded windows and the probabilities torch gave them at
export, so that any ONNX runtime can check it reproduces the model (needs the ``onnx`` package,
in the ``train`` and ``publish`` extras).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import PopgenHubError
from ..files import ModelFolder

if TYPE_CHECKING:
    from ..runtime import OnnxModel

TEST_DATA_DIR = ModelFolder.test_data
TOLERANCE = 1e-5


def write_test_data(directory: Path, inputs: dict[str, np.ndarray], outputs: np.ndarray, *,
                    output_name: str) -> None:
    """``input_K.pb`` for each graph input (in ``inputs``' order) and ``output_0.pb``."""
    from onnx import numpy_helper

    directory.mkdir(parents=True, exist_ok=True)
    files = [(f"input_{k}.pb", array, name) for k, (name, array) in enumerate(inputs.items())]
    for file_name, array, name in (*files, ("output_0.pb", outputs, output_name)):
        tensor = numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name)
        (directory / file_name).write_bytes(tensor.SerializeToString())


def read_test_data(directory: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(inputs by tensor name, expected outputs) of an ONNX-zoo test data set."""
    import onnx
    from onnx import numpy_helper

    def load(path: Path) -> onnx.TensorProto:
        return onnx.load_tensor(str(path))

    output = directory / "output_0.pb"
    inputs = sorted(directory.glob("input_*.pb"))
    if not inputs or not output.is_file():
        raise PopgenHubError(f"{directory} lacks input_0.pb or output_0.pb; export the model "
                             f"again with `popgen-hub export`")
    tensors = [load(path) for path in inputs]
    return ({t.name: numpy_helper.to_array(t) for t in tensors},
            numpy_helper.to_array(load(output)))


def check_test_data(model: OnnxModel, directory: Path) -> float:
    """Largest absolute difference between ``model``'s outputs and the recorded ones."""
    inputs, expected = read_test_data(directory)
    worst = float(np.abs(model.predict(inputs) - expected).max())
    if worst > TOLERANCE:
        raise PopgenHubError(f"{model.path} does not reproduce its test data in {directory} "
                             f"(max difference {worst:.1e} > {TOLERANCE:.0e})")
    return worst
