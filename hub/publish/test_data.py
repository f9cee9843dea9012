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

if TYPE_CHECKING:
    from ..runtime import OnnxModel

TEST_DATA_DIR = "test_data_set_0"
TOLERANCE = 1e-5


def write_test_data(directory: Path, inputs: np.ndarray, outputs: np.ndarray, *,
                    input_name: str, output_name: str) -> None:
    from onnx import numpy_helper

    directory.mkdir(parents=True, exist_ok=True)
    for file_name, array, name in (("input_0.pb", inputs, input_name),
                                   ("output_0.pb", outputs, output_name)):
        tensor = numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name)
        (directory / file_name).write_bytes(tensor.SerializeToString())


def read_test_data(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, expected outputs) of an ONNX-zoo test data set."""
    import onnx
    from onnx import numpy_helper

    arrays = []
    for file_name in ("input_0.pb", "output_0.pb"):
        path = directory / file_name
        if not path.is_file():
            raise PopgenHubError(f"{directory} lacks {file_name}; export the model again with "
                                 f"`popgen-hub export`")
        arrays.append(numpy_helper.to_array(onnx.load_tensor(str(path))))
    return arrays[0], arrays[1]


def check_test_data(model: OnnxModel, directory: Path) -> float:
    """Largest absolute difference between ``model``'s outputs and the recorded ones."""
    inputs, expected = read_test_data(directory)
    worst = float(np.abs(model.predict(inputs) - expected).max())
    if worst > TOLERANCE:
        raise PopgenHubError(f"{model.path} does not reproduce its test data in {directory} "
                             f"(max difference {worst:.1e} > {TOLERANCE:.0e})")
    return worst
