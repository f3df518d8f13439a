"""The verbs of ``cw_distillation.autodiff`` on TensorFlow (KERAS_BACKEND=tensorflow)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

Tensor = Any
COMPILES_PER_BATCH_SIZE = False  # one graph serves every batch size (compile_for_any_batch)


def compile_fn(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Trace ``fn`` into a graph once per input signature (XLA off: slower on CPU here)."""
    return tf.function(fn, reduce_retracing=True)


def compile_for_any_batch(fn: Callable[[Any], Any], example: Any) -> Callable[[Any], Any]:
    """``compile_fn`` for ``fn(state)``, state a structure of arrays that share a leading
    batch dimension: traced once with that dimension unknown, so batches of any size (an
    attack's batch shrinks as its pairs finish) reuse one graph."""
    spec = tf.nest.map_structure(
        lambda a: tf.TensorSpec((None, *a.shape[1:]), tf.as_dtype(a.dtype)), example
    )
    return tf.function(fn, input_signature=[spec])


def value_and_grad(fn: Callable[[Tensor], Tensor], x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-example loss ``fn(x)`` (shape (N,)) and d sum(fn(x)) / dx (shape of x).

    Summing is safe because example i's loss depends on x[i] alone (no batch
    statistics at inference), so the gradient of the sum is each example's own.
    """
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
        total = tf.reduce_sum(value)
    return value, tape.gradient(total, x)


def value_and_grad_aux(
    fn: Callable[[Tensor], tuple[Tensor, Any]], x: Tensor
) -> tuple[Tensor, Any, Tensor]:
    """Like ``value_and_grad`` for ``fn(x) -> (value (N,), aux)``: aux comes from the same
    forward pass, so an attack step reads logits and images without a second model call."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value, aux = fn(x)
        total = tf.reduce_sum(value)
    return value, aux, tape.gradient(total, x)


def repeat(
    body: Callable[[Any], Any], n: int, state: Any, until: Callable[[Any], Tensor]
) -> Any:
    """``state = body(state)`` up to n times inside one compiled call, stopping early once
    ``until(state)`` (a scalar bool) holds: a graph loop, so the host is visited only when
    it has work to do (or every n steps), not after every step."""
    return tf.while_loop(
        lambda s: tf.logical_not(until(s)), lambda s: (body(s),), (state,),
        maximum_iterations=n,
    )[0]


def jacobian_rows(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """d fn(x)[:, k] / dx for every output k: shape (N, K, *x.shape[1:])."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fn(x)
    return tape.batch_jacobian(out, x)


def gpu_available() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


def enable_determinism(seed: int) -> None:
    """Seed every generator and make TF ops deterministic (same machine, same bits)."""
    import keras

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
