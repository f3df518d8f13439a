"""The verbs of ``cw_distillation.autodiff`` on JAX (KERAS_BACKEND=jax).

A Keras 3 model called inside a traced function reads its weights as constants, so the
attacks' losses are pure functions of their inputs, which is all ``jax.grad`` and
``jax.jit`` need. ``jax.jit`` compiles once per input shape: an attack's batch that
shrinks in its last pairs compiles again for each new size (seconds each on a CPU).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

# Before JAX starts its backends: on a GPU, XLA picks deterministic kernels (same bits each run).
if "xla_gpu_deterministic_ops" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_gpu_deterministic_ops=true".strip()

import jax
import jax.numpy as jnp

Tensor = Any
COMPILES_PER_BATCH_SIZE = True  # jax.jit compiles once per input shape


def compile_fn(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled by XLA, once per input shape and dtype."""
    return jax.jit(fn)


def compile_for_any_batch(fn: Callable[[Any], Any], example: Any) -> Callable[[Any], Any]:
    """``compile_fn`` for ``fn(state)``: jax.jit serves any batch size (one compilation each)."""
    del example  # the shapes come with each call
    return jax.jit(fn)


def value_and_grad(fn: Callable[[Tensor], Tensor], x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-example loss ``fn(x)`` (shape (N,)) and d sum(fn(x)) / dx (shape of x)."""

    def total(v: Tensor) -> tuple[Tensor, Tensor]:
        value = fn(v)
        return jnp.sum(value), value

    (_, value), grad = jax.value_and_grad(total, has_aux=True)(jnp.asarray(x))
    return value, grad


def value_and_grad_aux(
    fn: Callable[[Tensor], tuple[Tensor, Any]], x: Tensor
) -> tuple[Tensor, Any, Tensor]:
    """Like ``value_and_grad`` for ``fn(x) -> (value (N,), aux)``."""

    def total(v: Tensor) -> tuple[Tensor, tuple[Tensor, Any]]:
        value, aux = fn(v)
        return jnp.sum(value), (value, aux)

    (_, (value, aux)), grad = jax.value_and_grad(total, has_aux=True)(jnp.asarray(x))
    return value, aux, grad


def repeat(
    body: Callable[[Any], Any], n: int, state: Any, until: Callable[[Any], Tensor]
) -> Any:
    """``state = body(state)`` up to n times in one ``lax.while_loop``, stopping early once
    ``until(state)`` holds. Each field keeps its dtype (a loop's carry must not change type;
    Keras ops may return a wider one, which TensorFlow's loop would refuse as well)."""
    state = jax.tree.map(jnp.asarray, state)

    def step(carry: tuple[Tensor, Any]) -> tuple[Tensor, Any]:
        i, s = carry
        new = jax.tree.map(lambda a, old: jnp.asarray(a, old.dtype), body(s), s)
        return i + 1, new

    def going(carry: tuple[Tensor, Any]) -> Tensor:
        i, s = carry
        return (i < n) & jnp.logical_not(until(s))

    return jax.lax.while_loop(going, step, (jnp.asarray(0), state))[1]


def jacobian_rows(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """d fn(x)[:, k] / dx for every output k: shape (N, K, *x.shape[1:]). The Jacobian of
    the batch sum of the outputs is each example's own (examples do not interact)."""
    rows = jax.jacrev(lambda v: jnp.sum(fn(v), axis=0))(jnp.asarray(x))  # (K, N, ...)
    return jnp.moveaxis(rows, 0, 1)


def gpu_available() -> bool:
    return any(d.platform == "gpu" for d in jax.devices())


def enable_determinism(seed: int) -> None:
    """Seed every generator (Python, NumPy, Keras's). XLA's CPU and GPU kernels used here
    are deterministic on one machine; there is no switch like TensorFlow's to set."""
    import keras

    keras.utils.set_random_seed(seed)
