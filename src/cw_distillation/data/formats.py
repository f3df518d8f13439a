"""Parsers for the two official formats, MNIST's IDX and CIFAR-10's binary records, and a reader
per format that turns a folder of verified payloads into the four arrays (``READERS``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

_IDX_UBYTE = 0x08
CIFAR_SHAPE = (3, 32, 32)  # stored as R, G, B planes, row-major
CIFAR_RECORD = 1 + 3 * 32 * 32


class FormatError(ValueError):
    """A file is not in the format it claims."""


def parse_idx(path: str | Path) -> np.ndarray:
    """An IDX file (unsigned bytes) as a uint8 array of the shape its header declares."""
    raw = Path(path).read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise FormatError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != _IDX_UBYTE:
        raise FormatError(f"{path}: IDX data type 0x{raw[2]:02x}, expected unsigned byte (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise FormatError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        raise FormatError(f"{path}: {len(raw)} bytes, but its header {shape} implies {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def parse_cifar_binary(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A CIFAR-10 binary batch as (x: (N, 32, 32, 3) uint8, y: (N,) uint8)."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR_RECORD:
        raise FormatError(f"{path}: {raw.size} bytes is not a whole number of {CIFAR_RECORD}-byte records")
    records = raw.reshape(-1, CIFAR_RECORD)
    y = records[:, 0].copy()
    if y.max() > 9:
        raise FormatError(f"{path}: label {int(y.max())} out of range 0-9")
    x = records[:, 1:].reshape(-1, *CIFAR_SHAPE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), y


def read_idx(raw_dir: Path) -> dict[str, np.ndarray]:
    """MNIST's four IDX files (train/t10k images and labels), images given a channel axis."""
    arrays = {
        "x_train": parse_idx(raw_dir / "train-images-idx3-ubyte")[..., None],
        "y_train": parse_idx(raw_dir / "train-labels-idx1-ubyte"),
        "x_test": parse_idx(raw_dir / "t10k-images-idx3-ubyte")[..., None],
        "y_test": parse_idx(raw_dir / "t10k-labels-idx1-ubyte"),
    }
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise FormatError(f"{raw_dir}: MNIST {split} images and labels differ in count")
    return arrays


def read_cifar_binary(raw_dir: Path) -> dict[str, np.ndarray]:
    """CIFAR-10's five training batches and its test batch."""
    train = [parse_cifar_binary(raw_dir / f"data_batch_{i}.bin") for i in range(1, 6)]
    x_test, y_test = parse_cifar_binary(raw_dir / "test_batch.bin")
    return {
        "x_train": np.concatenate([x for x, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "x_test": x_test,
        "y_test": y_test,
    }


# A dataset's format (``datasets.Dataset.format``) -> the reader of its payloads' folder.
READERS = {"idx": read_idx, "cifar_binary": read_cifar_binary}
