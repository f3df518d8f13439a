"""The softmax F and the loss of F (the cross-entropy FGS, IGS and L-BFGS minimise), in float32.

They live beside the attacks that use them; ``fragility`` measures where their gradients vanish.
"""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (first: it sets KERAS_BACKEND for keras)

# isort: split
import numpy as np
from keras import ops

# The loss of F is -log F_t in float32, with F_t floored at the smallest normal float32
# (1.2e-38) so that its gradient is exactly 0, not NaN, where F_t has really underflowed
# (a logit gap above ~87) -- and only there. Keras' categorical cross-entropy clips at 1e-7
# instead (``KERAS_EPSILON``): that zeroes the gradient of every target with F_t < 1e-7 (a
# logit gap above ~16), which is common on a *standard* MNIST network too, and would make
# FGS, IGS and L-BFGS fail there for a reason that is not the paper's.
PROB_FLOOR = float(np.finfo(np.float32).tiny)
KERAS_EPSILON = 1e-7


def softmax(logits, axis: int = -1):
    """F = softmax(Z) in float32 from IEEE operations: exp(Z - max Z) / sum.

    Section VIII.A's argument is about float32 numbers: on a distilled network the winning
    probability is exactly 1.0 and the others 0.0, so the gradient of F is exactly zero. Written
    this way that holds on every CPU (exp(0) = 1, and 1 / 1 = 1; the gradient of the winning
    component is then 1/S - e/S**2 = 0). TensorFlow's fused softmax kernel does not promise it: on
    an AMD EPYC it gives 1 - 2**-24, whose gradient is about 6e-8 instead of 0, enough for
    DeepFool on F to succeed on 80% of the mnist10 distilled network's images, where it fails on
    the Intel CPUs we ran before. The shift by max Z is a constant for the gradient (stopped).
    """
    shifted = logits - ops.stop_gradient(ops.max(logits, axis=axis, keepdims=True))
    e = ops.exp(shifted)
    return e / ops.sum(e, axis=axis, keepdims=True)


def loss_f(logits, target, output_temperature: float = 1.0, floor: float = PROB_FLOOR):
    """Cross-entropy of F'(x) = softmax(Z(x) / T) for the target class, per example: (N,).

    logits: (N, K) float32 Z(x); target: (N,) int.
    Computed the way the 2016 attacks computed it -- from the float32 probabilities, not the
    numerically stable log-softmax. That is the point: once F_t underflows its gradient is
    exactly 0 (F_t is floored at ``floor``; unfloored it would be NaN), which is the failure
    the paper diagnoses; ``output_temperature`` = T is its "divide the logits by T" fix.
    ``floor`` = ``KERAS_EPSILON`` gives Keras' clipped reading, for comparison.
    """
    probs = softmax(ops.divide(logits, output_temperature), axis=-1)
    p_target = ops.take_along_axis(probs, ops.expand_dims(ops.cast(target, "int32"), 1), axis=1)
    return -ops.log(ops.maximum(p_target[:, 0], floor))
