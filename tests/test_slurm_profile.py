"""The SLURM profile without a cluster: Snakemake accepts it, and `make test-slurm`'s comparison of two
runs' outputs (scripts/slurm/test_slurm.py) tells wall-clock fields from real differences."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
from conftest import REPO, load_script

BIN = Path(sys.executable).parent
SCRIPT = "scripts/slurm/test_slurm.py"


def test_snakemake_accepts_the_slurm_profile(tmp_path):
    result = subprocess.run(
        [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--profile", str(REPO / "workflow/profiles/slurm"),
         "--configfile", str(REPO / "config/tiny.yaml"), "--directory", str(tmp_path), "-n"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Using profile" in result.stdout + result.stderr


def test_the_cluster_scripts_are_valid_bash():
    for name in ("start_cluster.sh", "stop_cluster.sh"):
        result = subprocess.run(["bash", "-n", str(REPO / "scripts/slurm" / name)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def keras_like(date: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3", "date_saved": date}))
        z.writestr("model.weights.h5", b"\x00weights")
    return buf.getvalue()


def write_run(root: Path, accuracy: float, seconds: float, date: str) -> None:
    out = root / "results/tiny"
    (out / "models").mkdir(parents=True)
    (out / "logs").mkdir()
    (out / "models/m.json").write_text(json.dumps({"test_accuracy": accuracy, "train_seconds": seconds,
                                                   "history": {"seconds": [seconds]}}))
    (out / "models/m.keras").write_bytes(keras_like(date))
    meta = json.dumps({"attack": "l2", "wall_seconds": seconds})
    (out / "models/a.npz").write_bytes(npz_bytes(x=np.arange(3.0), seconds=np.full(3, seconds), meta=np.array(meta)))
    (out / "models/m.json.prov.json").write_text(json.dumps({"end": date}))
    (out / "logs/m.log").write_text(date)


def test_wall_clock_fields_are_the_only_differences_allowed(tmp_path):
    script = load_script(SCRIPT)
    write_run(tmp_path / "a", accuracy=0.5, seconds=1.0, date="2026-01-01@00:00:00")
    write_run(tmp_path / "b", accuracy=0.5, seconds=2.0, date="2026-01-02@00:00:00")
    write_run(tmp_path / "c", accuracy=0.6, seconds=1.0, date="2026-01-01@00:00:00")
    assert script.compare_trees(tmp_path / "a", tmp_path / "b") == []
    differ = script.compare_trees(tmp_path / "a", tmp_path / "c")
    assert len(differ) == 1 and "models/m.json" in differ[0] and "test_accuracy" in differ[0]
