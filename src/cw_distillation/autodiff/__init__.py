"""The only framework-specific code: gradients, compilation and determinism.

Everything else (models, attacks, training loops) is written with Keras 3 and ``keras.ops``.
The backend is Keras's: ``KERAS_BACKEND`` (``tensorflow``, the default we ship and the
faster one on a CPU, or ``jax``; the config key ``backend`` sets it for every workflow step).
Each backend implements the same verbs, in its own module:

- ``compile_fn(fn)``: ``fn`` compiled (traced once per input signature).
- ``compile_for_any_batch(fn, example)``: ``fn(state)`` compiled for states like ``example``
  whatever their leading (batch) dimension: an attack's batch shrinks as its pairs finish.
- ``value_and_grad(fn, x)``: per-example loss ``fn(x)`` (N,) and d sum(fn(x)) / dx.
- ``value_and_grad_aux(fn, x)``: the same for ``fn(x) -> (value, aux)``, aux from the same pass.
- ``repeat(body, n, state, until)``: ``state = body(state)`` up to n times in one compiled
  loop, stopping as soon as ``until(state)`` holds.
- ``jacobian_rows(fn, x)``: d fn(x)[:, k] / dx for every output k, (N, K, *x.shape[1:]).
- ``gpu_available()``, ``enable_determinism(seed)``.
- ``COMPILES_PER_BATCH_SIZE``: whether each new batch size costs a compilation (the attacks'
  batches then shrink in a few large steps rather than pair by pair).

Summing over the batch is safe in the gradients because example i's output depends on x[i]
alone (no batch statistics at inference), so the gradient of the sum is each example's own.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BACKENDS = ("tensorflow", "jax")
BACKEND = os.environ["KERAS_BACKEND"]

# Static imports (not importlib): the store's code digest follows them into both modules.
if BACKEND == "tensorflow":
    from cw_distillation.autodiff import _tensorflow as _backend
elif BACKEND == "jax":
    # one of the two backend modules, chosen at import
    from cw_distillation.autodiff import _jax as _backend  # type: ignore[no-redef]
else:
    raise ImportError(f"KERAS_BACKEND={BACKEND!r}: cw_distillation runs on {' or '.join(BACKENDS)}")

COMPILES_PER_BATCH_SIZE = _backend.COMPILES_PER_BATCH_SIZE
Tensor = _backend.Tensor
compile_fn = _backend.compile_fn
compile_for_any_batch = _backend.compile_for_any_batch
enable_determinism = _backend.enable_determinism
gpu_available = _backend.gpu_available
jacobian_rows = _backend.jacobian_rows
repeat = _backend.repeat
value_and_grad = _backend.value_and_grad
value_and_grad_aux = _backend.value_and_grad_aux

__all__ = [
    "BACKEND", "BACKENDS", "COMPILES_PER_BATCH_SIZE", "Tensor", "compile_fn", "compile_for_any_batch",
    "enable_determinism", "gpu_available", "jacobian_rows", "repeat", "value_and_grad", "value_and_grad_aux",
]
