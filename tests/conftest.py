"""Shared fixtures: a local HTTP server on 127.0.0.1 and tiny files in the official formats."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]


def load_script(path: str) -> ModuleType:
    """The script at ``path`` (from the repository root) as a module: scripts are no package, so
    tests cannot import them."""
    spec = importlib.util.spec_from_file_location(f"script_{Path(path).stem}", REPO / path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Route:
    body: bytes
    status: int = 200
    declared_length: int | None = None  # a larger value imitates a connection cut mid-transfer


@dataclass
class LocalServer:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def serve(self, name: str, body: bytes, **kw) -> str:
        self.routes["/" + name] = Route(body, **kw)
        return f"{self.base}/{name}"


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    server_state = LocalServer(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.hits.append(self.path)
            route = server_state.routes.get(self.path)
            if route is None or route.status != 200:
                self.send_response(404 if route is None else route.status)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(route.declared_length or len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


def idx(array: np.ndarray) -> bytes:
    from cw_distillation.data.synthetic import idx_bytes

    return idx_bytes(array)


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fh:
        fh.write(data)
    return buf.getvalue()


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def tiny_mnist_payloads() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte": idx(rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte": idx(np.array([5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5], dtype=np.uint8)),
        "t10k-images-idx3-ubyte": idx(rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte": idx(np.array([7, 2, 1, 0], dtype=np.uint8)),
    }


@pytest.fixture
def tiny_cifar_payloads() -> dict[str, bytes]:
    from cw_distillation.data.synthetic import cifar_bytes

    rng = np.random.default_rng(1)
    out = {}
    for i, name in enumerate([*(f"data_batch_{k}.bin" for k in range(1, 6)), "test_batch.bin"]):
        x = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
        y = np.array([(i + j) % 10 for j in range(3)], dtype=np.uint8)
        out[name] = cifar_bytes(x, y)
    return out


# ----------------------------------------------------------------------------- a toy classifier


@pytest.fixture(scope="session")
def toy():
    """A tiny undistilled classifier (6x6x1 inputs, 10 classes) trained on separable synthetic
    data, and its first ten training images (one per class)."""
    import keras  # here, not at the top: most tests never need TensorFlow

    rng = np.random.default_rng(0)
    prototypes = rng.uniform(-0.4, 0.4, (10, 6, 6, 1))
    y = np.arange(300) % 10
    x = np.clip(prototypes[y] + rng.normal(0, 0.1, (300, 6, 6, 1)), -0.5, 0.5).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(True))
    model.fit(x, y, epochs=10, batch_size=50, verbose=0)
    return model, x[:10], y[:10]


def every_other_target(x, y):
    """One row per (image, wrong class) pair: x (9N, H, W, C), target (9N,), label (9N,)."""
    target = np.array([[t for t in range(10) if t != label] for label in y]).ravel()
    return np.repeat(x, 9, axis=0), target, np.repeat(y, 9)
