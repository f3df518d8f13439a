"""The real workflow: lint-clean, planned quickly, stopped by a bad config, and run end to end (tiny profile)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
TINY = REPO / "workflow/profiles/tiny/config.yaml"


def snakemake(*args: str, cwd: Path = REPO, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_snakefmt_finds_nothing_to_change():
    result = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_snakemake_lint_is_clean():
    result = snakemake("--lint")
    assert result.returncode == 0 and "Congratulations" in result.stdout + result.stderr, result.stdout + result.stderr


def test_paper_profile_plans_its_dag():
    result = snakemake("-n", "--configfile", str(REPO / "workflow/profiles/paper/config.yaml"), timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_misspelled_key_stops_the_run_before_any_job(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    result = snakemake("--cores", "1", "--directory", str(tmp_path), "--config", "data={mirorr: /x}", cwd=tmp_path)
    assert result.returncode != 0
    assert "config key 'data'" in result.stderr and "'mirorr' was unexpected" in result.stderr
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny profile end to end, in a scratch folder (as a user would run it, via snakemake)."""
    work = tmp_path_factory.mktemp("tiny")
    shutil.copy(REPO / "config.yaml", work / "config.yaml")
    result = snakemake("--cores", "2", "--directory", str(work), "--configfile", str(TINY), cwd=work)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return work


def test_tiny_profile_runs_end_to_end(tiny_run):
    import numpy as np

    for dataset, shape in [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))]:
        with np.load(tiny_run / f"results/tiny/data/{dataset}.npz") as z:
            assert z["x_train"].shape == (300, *shape) and z["x_train"].dtype == np.uint8
            assert z["x_test"].shape == (60, *shape)
            assert np.bincount(z["y_train"], minlength=10).tolist() == [30] * 10


def test_tiny_run_passes_its_audit(tiny_run):
    result = subprocess.run(
        [str(BIN / "cw-distillation"), "audit", "results/tiny"], cwd=tiny_run, env=ENV, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_a_second_run_has_nothing_to_do(tiny_run):
    result = snakemake("-n", "--directory", str(tiny_run), "--configfile", str(TINY), cwd=tiny_run)
    assert "Nothing to be done" in result.stdout + result.stderr
