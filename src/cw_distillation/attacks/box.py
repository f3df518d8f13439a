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

# arctanh(+-1) is infinite: the released code maps x to arctanh(x * 1.999999), i.e. 2x
# shrunk by 5e-7, so a pixel on the box edge gets a finite w (and moves by < 3e-7).
EPS = 5e-7


def to_tanh_space(x: Any) -> Any:
    """w = arctanh(2 x (1 - EPS)); x: (N, H, W, C) in [-0.5, 0.5] -> w float32, same shape."""
    return ops.arctanh(2.0 * ops.cast(x, "float32") * (1.0 - EPS))


def from_tanh_space(w: Any) -> Any:
    """x = tanh(w) / 2, inside (-0.5, 0.5) for every real w."""
    return ops.tanh(w) / 2
