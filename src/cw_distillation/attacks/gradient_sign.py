"""What fast gradient sign (``fgs``, Goodfellow et al. 2015) and iterative gradient sign (``igs``,
Kurakin et al. 2016) share: the gradient of the loss whose sign they step along.

Both are targeted L-infinity attacks on the cross-entropy of F (``losses.loss_f``), as in
the C&W comparison. Neither has a distance to minimise, so, like C&W, we search each pair
for the smallest eps that reaches the target. On a distilled network the loss gradient is
exactly 0, its sign is 0, and no eps helps; ``output_temperature`` = T is the paper's
"divide the logits by T" fix.
"""

from __future__ import annotations

import cw_distillation.autodiff as autodiff  # first: it sets KERAS_BACKEND for keras

# isort: split
import keras
import numpy as np

from cw_distillation.attacks.losses import loss_f


def loss_gradient_fn(model: keras.Model, output_temperature: float):
    """Compiled (x (n, H, W, C), target (n,)) -> d loss_f / dx, a tensor shaped like x."""

    def grad(x, target):
        loss = lambda v: loss_f(model(v, training=False), target, output_temperature)  # noqa: E731
        return autodiff.value_and_grad(loss, x)[1]

    compiled = autodiff.compile_fn(grad)
    return lambda x, target: compiled(np.asarray(x, np.float32), np.asarray(target, np.int32))
