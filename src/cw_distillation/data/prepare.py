"""Prepared arrays: one .npz per dataset, uint8, official order; scaled only when loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cw_distillation.data.formats import FormatError, parse_cifar_binary, parse_idx
from cw_distillation.files import atomic_path

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def read_mnist(raw_dir: Path) -> dict[str, np.ndarray]:
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


def read_cifar10(raw_dir: Path) -> dict[str, np.ndarray]:
    train = [parse_cifar_binary(raw_dir / f"data_batch_{i}.bin") for i in range(1, 6)]
    x_test, y_test = parse_cifar_binary(raw_dir / "test_batch.bin")
    return {
        "x_train": np.concatenate([x for x, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "x_test": x_test,
        "y_test": y_test,
    }


READERS = {"mnist": read_mnist, "cifar10": read_cifar10}


def prepare(dataset: str, raw_dir: str | Path, out: str | Path) -> dict[str, np.ndarray]:
    """Parse the verified payloads and write ``out`` (.npz, uint8, images N x H x W x C)."""
    if dataset not in READERS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(READERS)}")
    arrays = READERS[dataset](Path(raw_dir))
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        # numpy's stub lets **arrays fill savez's allow_pickle: bool, which no array name is
        np.savez(fh, **arrays)  # type: ignore[arg-type]
    return arrays


def load_dataset(path: str | Path) -> dict[str, np.ndarray]:
    """The prepared arrays, images scaled to float32 in [-0.5, 0.5] as the paper's models expect."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file {path} does not exist; run the workflow's prepare step")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ARRAYS if k not in z.files]
            if missing:
                raise FormatError(f"{path}: missing arrays {missing}")
            raw = {k: z[k] for k in ARRAYS}
    except (OSError, ValueError) as err:
        if isinstance(err, FormatError):
            raise
        raise FormatError(f"{path}: not a readable dataset npz ({err})") from err
    return {
        "x_train": scale(raw["x_train"]),
        "y_train": raw["y_train"].astype(np.int64),
        "x_test": scale(raw["x_test"]),
        "y_test": raw["y_test"].astype(np.int64),
    }


def scale(x: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [-0.5, 0.5] (the reference code's scaling)."""
    return (x.astype(np.float32) / 255.0) - 0.5
