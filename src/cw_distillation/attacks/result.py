"""One result type for every attack, so that evaluation and tables never special-case an attack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class AttackResult:
    """Per (image, target) pair results, all arrays of length N (pairs) unless noted.

    x_adv: (N, H, W, C) float32 in [-0.5, 0.5]; the best adversarial example found,
        or the original image where the attack failed.
    success: (N,) bool; the model's argmax at T = 1 on x_adv equals target
        (untargeted attacks: differs from the true label).
    l0, l2, linf: (N,) float32 distances from the original on the [-0.5, 0.5] scale;
        l0 counts pixels (a pixel counts once whatever channels change); NaN where
        the attack failed.
    iterations: (N,) int; optimiser steps (or gradient evaluations) spent on the pair.
    seconds: (N,) float; wall time attributed to the pair (batch time / batch size).
    image_index, target, label: (N,) int; which test image, which target, its true label.
    meta: free-form settings of the run (hyperparameters), stored with the result.
    """

    x_adv: np.ndarray
    success: np.ndarray
    l0: np.ndarray
    l2: np.ndarray
    linf: np.ndarray
    iterations: np.ndarray
    seconds: np.ndarray
    image_index: np.ndarray
    target: np.ndarray
    label: np.ndarray
    meta: dict = field(default_factory=dict)

    ARRAYS = (
        "x_adv",
        "success",
        "l0",
        "l2",
        "linf",
        "iterations",
        "seconds",
        "image_index",
        "target",
        "label",
    )

    def __post_init__(self) -> None:
        n = len(self.x_adv)
        for name in self.ARRAYS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"AttackResult.{name} has length {len(getattr(self, name))}, expected {n}")

    def save(self, path: str | Path) -> None:
        """Write an .npz (the caller makes it atomic)."""
        import json

        with open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                **{name: getattr(self, name) for name in self.ARRAYS},
                meta=np.array(json.dumps(self.meta, sort_keys=True)),
            )

    @classmethod
    def load(cls, path: str | Path) -> AttackResult:
        import json

        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in cls.ARRAYS}
            meta = json.loads(str(z["meta"]))
        return cls(**arrays, meta=meta)


# A pixel counts as changed once some channel moved by at least this much: the released
# l0_attack.py's rule (its equal_count, and its freezing rule, treat |delta| < 1e-4 as
# unchanged), so that the L0 attack's own notion of a changed pixel is the one reported.
L0_CHANGED = 1e-4


def distances(
    x: np.ndarray, x_adv: np.ndarray, l0_changed: float = L0_CHANGED
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L0 (pixels changed, any channel by >= l0_changed), L2 and L-infinity of x_adv - x, each (N,).

    x, x_adv: (N, H, W, C) float32 in [-0.5, 0.5].
    """
    delta = (x_adv.astype(np.float64) - x.astype(np.float64)).reshape(len(x), *x.shape[1:])
    # in float32, as the released code compares its float32 images with .0001
    delta32 = np.abs(x_adv.astype(np.float32) - x.astype(np.float32)).reshape(delta.shape)
    changed = np.any(delta32 >= np.float32(l0_changed), axis=-1)  # (N, H, W): a pixel counts once
    l0 = changed.reshape(len(x), -1).sum(axis=1).astype(np.float32)
    flat = delta.reshape(len(x), -1)
    l2 = np.sqrt((flat**2).sum(axis=1)).astype(np.float32)
    linf = np.abs(flat).max(axis=1).astype(np.float32)
    return l0, l2, linf
