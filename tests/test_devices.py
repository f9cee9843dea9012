"""Devices: the ``--device`` values, the execution providers (with their options) asked of
onnxruntime for each, and the errors that say what is missing.

CI has no GPU (and onnxruntime here is the CPU build), so a GPU session itself is never
exercised: the provider lists are computed from given lists of available providers, and the
GPU outcomes of :func:`start_session` (a provider that did not start, an unknown GPU number)
from a stand-in for the onnxruntime module that reports as onnxruntime does.
"""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace

import onnxruntime as ort
import pytest

import popgen_hub
from conftest import BUNDLED_MODEL, ROOT
from popgen_hub import cli
from popgen_hub.errors import PopgenHubError
from popgen_hub.runtime import (
    CPU,
    CUDA,
    TENSORRT,
    captured_stderr,
    choose_providers,
    onnxruntime_reason,
    parse_device,
    start_session,
    tensorrt_cache_dir,
)

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
CPU_BUILD = ["AzureExecutionProvider", CPU]  # what the onnxruntime package offers
GPU_BUILD = [TENSORRT, CUDA, CPU]  # what onnxruntime-gpu offers
SHA = "ab" * 32
HAS_GPU_BUILD = CUDA in ort.get_available_providers()

# What onnxruntime-gpu writes on stderr when cuDNN is missing (github.com/microsoft/onnxruntime
# issues; paths shortened), and the error it raises for a GPU number the machine lacks.
MISSING_CUDNN = (
    "2026-03-11 02:37:29.660496950 [E:onnxruntime:Default, provider_bridge_ort.cc:1548 "
    "TryGetProviderInfo_CUDA] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:"
    "1209 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : "
    "FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: libcudnn.so.9: "
    "cannot open shared object file: No such file or directory\n\n"
    "2026-03-11 02:37:29.660520259 [W:onnxruntime:Default, onnxruntime_pybind_state.cc:861 "
    "CreateExecutionProviderInstance] Failed to create CUDAExecutionProvider. Please reference "
    "https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html#requirements"
    "to ensure all dependencies are met.\n")
NO_SUCH_GPU = ("CUDA failure 101: invalid device ordinal ; GPU=0 ; hostname=node ; "
               "file=cuda_execution_provider.cc ; line=282 ; expr=cudaSetDevice(info_.device_id);")


# ---------------------------------------------------------------- device values
@pytest.mark.parametrize(("value", "parsed"), [
    ("auto", ("auto", 0)), ("cpu", ("cpu", 0)), ("gpu", ("gpu", 0)), ("cuda:0", ("gpu", 0)),
    ("cuda:3", ("gpu", 3)), ("cuda:12", ("gpu", 12)),
])
def test_device_values(value, parsed):
    assert parse_device(value) == parsed


@pytest.mark.parametrize("value", ["cuda:x", "cuda:-1", "cuda:", "cuda", "cuda:1.5", " gpu",
                                   "GPU", "gpu:1", "cuda:٣", "tpu", "", None, 0])
def test_other_device_values_are_refused_in_one_line_naming_the_forms(value):
    with pytest.raises(PopgenHubError) as refused:
        parse_device(value)
    message = str(refused.value)
    assert message.startswith(f"device {value!r} is not one of auto, cpu, gpu, cuda:N (")
    assert "\n" not in message and "cuda:N: GPU number N (from 0)" in message


def test_load_refuses_a_bad_device_before_anything_else():
    with pytest.raises(PopgenHubError, match="device 'cuda:-1' is not one of"):
        popgen_hub.load("no-such-model", device="cuda:-1")


# ---------------------------------------------------------------- providers and options
def test_cpu_and_auto_on_the_cpu_build_ask_for_the_cpu_only():
    for device in ("cpu", "auto"):
        assert choose_providers(device, CPU_BUILD) == [(CPU, {})]
    assert choose_providers("cpu", GPU_BUILD, model_sha256=SHA) == [(CPU, {})]


@pytest.mark.parametrize(("device", "gpu"), [("auto", 0), ("gpu", 0), ("cuda:0", 0),
                                             ("cuda:2", 2)])
def test_gpu_providers_get_the_device_number_and_options(device, gpu, monkeypatch, tmp_path):
    monkeypatch.setenv("POPGEN_HUB_CACHE", str(tmp_path))
    assert choose_providers(device, GPU_BUILD, model_sha256=SHA) == [
        (TENSORRT, {"device_id": gpu, "trt_fp16_enable": False, "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(tmp_path / "tensorrt" / SHA)}),
        (CUDA, {"device_id": gpu, "cudnn_conv_algo_search": "EXHAUSTIVE"}),
        (CPU, {})]
    assert choose_providers(device, [CUDA, CPU]) == [
        (CUDA, {"device_id": gpu, "cudnn_conv_algo_search": "EXHAUSTIVE"}), (CPU, {})]
    # Without the model's sha256 TensorRT keeps no engine cache (it could not be told apart).
    assert choose_providers(device, GPU_BUILD)[0] == (TENSORRT, {"device_id": gpu,
                                                                 "trt_fp16_enable": False})


@pytest.mark.parametrize("device", ["gpu", "cuda:1"])
def test_a_gpu_without_a_gpu_provider_says_what_to_install(device):
    with pytest.raises(PopgenHubError) as refused:
        choose_providers(device, CPU_BUILD)
    message = str(refused.value)
    assert message.startswith(f"--device {device}: this onnxruntime has no GPU provider (it has "
                              f"AzureExecutionProvider, CPUExecutionProvider)")
    assert "pip uninstall onnxruntime, then pip install 'popgen-hub[gpu]'" in message
    assert "\n" not in message


def test_the_tensorrt_cache_has_a_folder_per_model(monkeypatch, tmp_path):
    monkeypatch.setenv("POPGEN_HUB_CACHE", str(tmp_path / "hub-cache"))
    one, other = tensorrt_cache_dir("ab" * 32), tensorrt_cache_dir("CD" * 32)
    assert one != other and one.parent == other.parent == tmp_path / "hub-cache" / "tensorrt"
    assert other.name == "cd" * 32
    monkeypatch.delenv("POPGEN_HUB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tensorrt_cache_dir(SHA) == tmp_path / "xdg" / "popgen-hub" / "tensorrt" / SHA


# ---------------------------------------------------------------- what onnxruntime reports
def test_stderr_of_the_process_is_caught_and_given_back(capfd):
    with captured_stderr() as caught:
        os.write(2, b"from C++\n")
    os.write(2, b"after\n")
    assert caught == ["from C++\n"] and capfd.readouterr().err == "after\n"


def test_the_reason_onnxruntime_gives_is_found_in_its_log():
    assert onnxruntime_reason(MISSING_CUDNN) == (
        "Failed to load library libonnxruntime_providers_cuda.so with error: libcudnn.so.9: "
        "cannot open shared object file: No such file or directory")
    warning_only = MISSING_CUDNN.split("\n\n")[1]
    assert onnxruntime_reason(warning_only) == "Failed to create CUDAExecutionProvider"
    assert onnxruntime_reason("nothing of onnxruntime's\n") is None


def fake_onnxruntime(started: list[str] | None, log: str = "", error: str = ""):
    """A stand-in for the onnxruntime module whose sessions start the CPU and the ``started``
    providers among those asked for, after writing ``log`` on stderr, or raise ``error`` when
    asked for a GPU."""
    class Session:
        def __init__(self, path, options, providers, enable_fallback):
            assert enable_fallback == 0
            names = [name for name, _ in providers]
            os.write(2, log.encode())
            if error and names != [CPU]:
                raise RuntimeError(error)
            self.providers = [p for p in names if p in [*(started or []), CPU]]

        def get_providers(self):
            return self.providers

    return SimpleNamespace(InferenceSession=Session)


def start(ort_module, device, path="m.onnx"):
    return start_session(ort_module, path, None, device, choose_providers(device, GPU_BUILD))


@pytest.mark.parametrize("device", ["gpu", "cuda:1"])
def test_a_gpu_that_did_not_start_is_an_error_naming_what_onnxruntime_reported(device, capfd):
    with pytest.raises(PopgenHubError) as refused:
        start(fake_onnxruntime(None, MISSING_CUDNN), device)
    message = str(refused.value)
    assert message.startswith(f"--device {device}: onnxruntime-gpu is installed but "
                              f"TensorrtExecutionProvider and CUDAExecutionProvider did not "
                              f"start: Failed to load library libonnxruntime_providers_cuda.so "
                              f"with error: libcudnn.so.9: cannot open shared object file")
    assert "\n" not in message and "or use --device cpu" in message
    assert capfd.readouterr().err == ""  # onnxruntime's own lines are not shown besides


def test_a_gpu_number_the_machine_lacks_is_onnxruntimes_error_in_one_line():
    with pytest.raises(PopgenHubError) as refused:
        start(fake_onnxruntime(None, error=NO_SUCH_GPU + "\nmore"), "cuda:5")
    assert str(refused.value) == (f"onnxruntime cannot load m.onnx on --device cuda:5: "
                                  f"{NO_SUCH_GPU}")


@pytest.mark.parametrize("error", ["", NO_SUCH_GPU])
def test_auto_warns_and_runs_on_the_cpu_when_no_gpu_starts(error, caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("popgen_hub"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="popgen_hub"):
        session, device = start(fake_onnxruntime(None, MISSING_CUDNN, error), "auto")
    assert session.get_providers() == [CPU] and device == "cpu"
    (record,) = caplog.records
    assert record.getMessage().startswith("--device auto: no GPU (")
    assert record.getMessage().endswith("); running on the CPU")
    assert ("invalid device ordinal" if error else "libcudnn.so.9") in record.getMessage()


def test_cuda_without_tensorrt_is_enough(capfd):
    session, device = start(fake_onnxruntime([CUDA], "[E:onnxruntime:x] no libnvinfer\n"), "gpu")
    assert session.get_providers() == [CUDA, CPU] and device == "gpu"
    assert capfd.readouterr().err == ""


def test_a_session_that_started_gives_back_what_onnxruntime_wrote(capfd):
    session, device = start(fake_onnxruntime([TENSORRT, CUDA], "a notice\n"), "cuda:0")
    assert session.get_providers() == [TENSORRT, CUDA, CPU] and device == "cuda:0"
    assert capfd.readouterr().err == "a notice\n"


# ---------------------------------------------------------------- through the CLI
def scan(tmp_path, device: str) -> int:
    return cli.main(["scan", "--vcf", str(EXAMPLE_VCF), "--model", BUNDLED_MODEL, "--device",
                     device, "--region", "chr1:1-200000", "-q", "-o", str(tmp_path / "out")])


@pytest.mark.skipif(HAS_GPU_BUILD, reason="onnxruntime-gpu is installed")
@pytest.mark.parametrize("device", ["gpu", "cuda:1"])
def test_scan_on_a_gpu_without_onnxruntime_gpu_says_what_to_install(device, tmp_path, capsys):
    assert scan(tmp_path, device) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"popgen-hub scan: error: --device {device}: this onnxruntime has no "
                           f"GPU provider")
    assert "pip install 'popgen-hub[gpu]'" in line and not (tmp_path / "out").exists()


def test_scan_on_the_cpu_runs_as_before(tmp_path, capsys):
    assert scan(tmp_path, "cpu") == 0
    assert (tmp_path / "out").is_dir() and capsys.readouterr().err == ""


def test_a_malformed_device_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        scan(tmp_path, "cuda:x")
    assert exit_.value.code == 2
    assert ("argument --device: device 'cuda:x' is not one of auto, cpu, gpu, cuda:N"
            in capsys.readouterr().err)


@pytest.mark.skipif(HAS_GPU_BUILD, reason="onnxruntime-gpu is installed")
def test_auto_on_the_cpu_build_runs_on_the_cpu_quietly(caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("popgen_hub"), "propagate", True)
    with caplog.at_level(logging.DEBUG, logger="popgen_hub"):
        model = popgen_hub.load(BUNDLED_MODEL, device="auto")
    assert model.provider == CPU and model.device == "auto" and not caplog.records
