"""Both Keras backends: the attacks' exactness tests pass on JAX too, and one saved network
gives the same C&W L2 distances on TensorFlow and on JAX.

The suite itself runs on TensorFlow (Keras fixes its backend when it is first imported), so
the JAX half runs in subprocesses with KERAS_BACKEND=jax.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import REPO
from test_cw_l2 import conv_model, pairs_on

# The tests marked `backends`: C&W L2/L0/L-inf optimality and batching, training's bit-exact resume,
# APGD's and FMN's closed forms, scale invariance and batching.
MARKED_FILES = ["tests/test_cw_l2.py", "tests/test_cw_l0.py", "tests/test_cw_linf.py", "tests/test_train.py",
                "tests/test_apgd.py", "tests/test_fmn.py"]


def on_backend(backend: str, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_exactness_tests_pass_on_jax():
    done = on_backend("jax", "-m", "pytest", "-q", "-m", "backends", "-p", "no:cacheprovider", *MARKED_FILES)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 13 and "skipped" not in summary, summary


def test_one_network_gives_the_same_l2_distances_on_tensorflow_and_jax(tmp_path: Path):
    # Saved by this (TensorFlow) process, loaded by both: a network moves between backends.
    model = conv_model(3)
    model.save(tmp_path / "net.keras")
    x, target = pairs_on(model, 3, 3, seed=2)
    np.savez(tmp_path / "pairs.npz", x=x, target=target)
    out = {}
    for backend in ("tensorflow", "jax"):
        done = on_backend(backend, "tests/backend_attack.py", str(tmp_path / "net.keras"),
                          str(tmp_path / "pairs.npz"), str(tmp_path / f"{backend}.npz"))
        assert done.returncode == 0, done.stderr[-3000:]
        out[backend] = np.load(tmp_path / f"{backend}.npz")
        assert str(out[backend]["backend"]) == backend
    tf, jx = out["tensorflow"], out["jax"]
    np.testing.assert_allclose(jx["logits"], tf["logits"], rtol=1e-5, atol=1e-5)
    assert tf["success"].all() and (jx["success"] == tf["success"]).all()
    np.testing.assert_allclose(jx["l2"], tf["l2"], rtol=1e-3)
