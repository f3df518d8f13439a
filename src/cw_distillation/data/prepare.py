"""Prepared arrays: one .npz per dataset, uint8, official order; scaled only when loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cw_distillation import datasets
from cw_distillation.data.formats import READERS, FormatError
from cw_distillation.files import atomic_path

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def prepare(dataset: str, raw_dir: str | Path, out: str | Path) -> dict[str, np.ndarray]:
    """Parse the verified payloads and write ``out`` (.npz, uint8, images N x H x W x C)."""
    arrays = READERS[datasets.spec(dataset).format](Path(raw_dir))
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
