"""A step says which device it runs on, records it, and warns when a GPU was asked for but is missing."""

from __future__ import annotations

import logging
import subprocess

from conftest import REPO

from cw_distillation import device, provenance


def test_a_requested_gpu_that_is_missing_is_a_loud_warning_and_the_manifest_says_cpu(monkeypatch, caplog):
    monkeypatch.setenv(device.WANT_GPU, "1")
    monkeypatch.delenv("CW_DEVICE", raising=False)
    with caplog.at_level(logging.INFO, logger="cw_distillation"):
        ran_on = device.setup()
    assert ran_on == "CPU"  # no GPU on the test machines
    messages = [r.getMessage() for r in caplog.records]
    assert "running on CPU (Keras backend tensorflow)" in messages
    assert any(r.levelno == logging.WARNING and "tensorflow sees none" in r.getMessage() for r in caplog.records)
    provenance.hardware.cache_clear()
    try:
        recorded = provenance.hardware()
    finally:
        provenance.hardware.cache_clear()
    assert recorded["device"] == "CPU" and recorded["gpu"] == []


def test_no_warning_when_no_gpu_was_asked_for(monkeypatch, caplog):
    monkeypatch.delenv(device.WANT_GPU, raising=False)
    with caplog.at_level(logging.INFO, logger="cw_distillation"):
        device.setup()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_make_gpu_passes_the_gpu_resource_to_snakemake():
    def plan(*args: str) -> str:
        return subprocess.run(["make", "-n", "replicate", "PROFILE=tiny", *args], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout

    assert "--resources gpu=2" in plan("GPU=2") and "pip install --quiet -e '.[gpu,dev]'" in plan("GPU=2")
    assert "--resources gpu" not in plan()


def test_setup_asks_for_full_float32_products_and_the_manifest_records_it(monkeypatch):
    monkeypatch.delenv(device.PRECISION, raising=False)
    device.setup()
    provenance.hardware.cache_clear()
    try:
        assert provenance.hardware()["matmul_precision"] == "tensor_float_32_execution=off"
    finally:
        provenance.hardware.cache_clear()


def test_tensorflow_starts_without_its_cpp_start_up_lines_and_stderr_still_works():
    import sys

    code = ("import sys; from cw_distillation import device; device.import_tensorflow(); "
            "print('stderr after the import', file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "stderr after the import" in run.stderr
    assert "oneDNN" not in run.stderr and "absl::InitializeLog" not in run.stderr


def test_a_mirror_folder_with_a_space_and_an_apostrophe_reaches_snakemake_whole(tmp_path):
    """DATA_MIRROR travels through the environment, never pasted into a shell line (issue 34)."""
    mirror = tmp_path / "a mirror's folder"
    mirror.mkdir()
    run = subprocess.run(["make", "dry-run", "PROFILE=tiny", "TARGET=results/tiny/data/mnist.npz",
                          f"DATA_MIRROR={mirror}"], cwd=REPO, capture_output=True, text=True)
    assert f'data={{mirror: "{mirror}"}}' in run.stdout + run.stderr, run.stdout[-2000:] + run.stderr[-2000:]
