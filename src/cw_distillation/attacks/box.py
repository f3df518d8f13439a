"""The attack space: C&W optimise w, and x = tanh(w)/2 lies in the box [-0.5, 0.5] for any w.

The change of variables replaces clipping (which stalls gradient descent at the box edge)
with a smooth map: the attacks start from ``to_tanh_space(x)`` and read images back with
``from_tanh_space(w)``. Both are keras.ops, so they also run inside compiled steps.
"""

from __future__ import annotations

from typing import Any

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
from keras import ops

# arctanh(+-1) is infinite, so the released code shrinks 2x a little before the arctanh, and
# a pixel on the box edge gets a finite w. Its attacks differ in how much (carlini/
# nn_robust_attacks c6b8f6a): l0_attack.py and li_attack.py use arctanh(x * 1.999999), i.e.
# 2x (1 - 5e-7); l2_attack.py uses arctanh((x - boxplus) / boxmul * 0.999999), i.e. with its
# box [-0.5, 0.5] 2x (1 - 1e-6). Each attack passes its own factor.
EPS_L0_LINF = 5e-7
EPS_L2 = 1e-6


def to_tanh_space(x: Any, eps: float) -> Any:
    """w = arctanh(2 x (1 - eps)); x: (N, H, W, C) in [-0.5, 0.5] -> w float32, same shape."""
    return ops.arctanh(2.0 * ops.cast(x, "float32") * (1.0 - eps))


def from_tanh_space(w: Any) -> Any:
    """x = tanh(w) / 2, inside (-0.5, 0.5) for every real w."""
    return ops.tanh(w) / 2
