"""Tiny stand-ins for MNIST and CIFAR-10, written in the official formats.

The tiny profile and the tests run the real download -> parse -> prepare chain
on these, from a local mirror, with a registry of their own digests. Each class
is a fixed random pattern plus noise, so that a small network can learn it in
an epoch or two (an attack on an untrained network would test little).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from cw_distillation import datasets
from cw_distillation.data.sources import Archive, DatasetSource, Payload
from cw_distillation.files import sha256_file, write_text_atomic


def make_images(dataset: str, n: int, rng: np.random.Generator, templates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x: (n, H, W, C) uint8, y: (n,) uint8), classes balanced and shuffled."""
    y = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    noise = rng.uniform(0, 90, size=(n, *datasets.spec(dataset).shape))
    x = np.clip(templates[y] * 165 + noise, 0, 255).astype(np.uint8)
    return x, y


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def cifar_bytes(x: np.ndarray, y: np.ndarray) -> bytes:
    planes = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
    return np.concatenate([y[:, None].astype(np.uint8), planes], axis=1).tobytes()


def write_mirror(out_dir: str | Path, dataset: str, *, n_train: int, n_test: int, seed: int) -> Path:
    """Write a mirror folder ``out_dir/<dataset>/`` and its registry; return the registry path."""
    spec = datasets.spec(dataset)
    rng = np.random.default_rng(seed)
    templates = (rng.random((10, *spec.shape)) > 0.6).astype(np.float64)
    x_train, y_train = make_images(dataset, n_train, rng, templates)
    x_test, y_test = make_images(dataset, n_test, rng, templates)
    folder = Path(out_dir) / dataset
    folder.mkdir(parents=True, exist_ok=True)
    payloads: list[tuple[str, bytes]] = []
    if spec.format == "idx":
        payloads = [
            ("train-images-idx3-ubyte", idx_bytes(x_train[..., 0])),
            ("train-labels-idx1-ubyte", idx_bytes(y_train)),
            ("t10k-images-idx3-ubyte", idx_bytes(x_test[..., 0])),
            ("t10k-labels-idx1-ubyte", idx_bytes(y_test)),
        ]
    else:
        chunks = np.array_split(np.arange(n_train), 5)
        payloads = [(f"data_batch_{i + 1}.bin", cifar_bytes(x_train[c], y_train[c])) for i, c in enumerate(chunks)]
        payloads.append(("test_batch.bin", cifar_bytes(x_test, y_test)))
    archives = []
    for name, data in payloads:
        if spec.format == "idx":  # gzip-wrapped like the official archives (mtime 0: reproducible bytes)
            with open(folder / f"{name}.gz", "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
                gz.write(data)
            (folder / name).write_bytes(data)
            digest = sha256_file(folder / name)
            (folder / name).unlink()
            archives.append(Archive(f"{name}.gz", (), None, "gzip", (Payload(name, digest, len(data)),)))
        else:
            (folder / name).write_bytes(data)
            payload = Payload(name, sha256_file(folder / name), len(data))
            archives.append(Archive(name, (), None, "raw", (payload,)))
    if spec.format == "cifar_binary":  # one archive of six payloads, like the official tar
        archives = [
            Archive(
                "cifar-10-binary.tar.gz",
                (),
                None,
                "tar.gz",
                tuple(p for a in archives for p in a.payloads),
                "cifar-10-batches-bin",
            )
        ]
    registry = Path(out_dir) / f"{dataset}.registry.json"
    write_text_atomic(registry, DatasetSource(dataset, tuple(archives)).to_json())
    return registry
