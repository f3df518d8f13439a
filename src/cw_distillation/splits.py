"""Which training images a network sees: the reference's hold-out, a subset, or one of two halves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray  # (N, H, W, C) float32 in [-0.5, 0.5]
    y_train: np.ndarray  # (N,) int
    x_val: np.ndarray
    y_val: np.ndarray


def training_split(
    arrays: dict[str, np.ndarray], *, validation_size: int, train_subset: int | None = None, half: str | None = None
) -> Split:
    """The first ``validation_size`` training images are held out (as the reference code does);
    of the rest, the first ``train_subset`` (all if None) are used; ``half`` "a"/"b" takes the
    first/second half of those (two networks trained on disjoint data, for the transfer experiment).
    """
    x, y = arrays["x_train"], arrays["y_train"]
    if not 0 <= validation_size < len(x):
        raise ValueError(f"validation_size {validation_size} must be below the {len(x)} training images")
    x_val, y_val = x[:validation_size], y[:validation_size]
    x_tr, y_tr = x[validation_size:], y[validation_size:]
    if train_subset is not None:
        if train_subset < 1:
            raise ValueError(f"train_subset must be positive, got {train_subset}")
        x_tr, y_tr = x_tr[:train_subset], y_tr[:train_subset]
    if half is not None:
        if half not in ("a", "b"):
            raise ValueError(f"half must be 'a' or 'b', got {half!r}")
        mid = len(x_tr) // 2
        x_tr, y_tr = (x_tr[:mid], y_tr[:mid]) if half == "a" else (x_tr[mid:], y_tr[mid:])
    return Split(x_tr, y_tr, x_val, y_val)
