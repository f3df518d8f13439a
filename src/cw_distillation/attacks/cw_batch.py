"""The batched optimisation the three C&W attacks share, built for a GPU: one row per
(image, target) pair, each with its own constant, search state, Adam moments and early stop.

A queue refills the rows of finished pairs (``PairBatch``), one compiled call runs up to
STEPS_PER_CALL steps of every row (``compile_loop``), and ``run`` drives it to the end;
``solve`` is the whole driver an attack calls with its own rows (``load``) and step.
The logits are checked first (``check_logits``): a model that outputs probabilities is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypedDict, Unpack

import cw_distillation.autodiff as autodiff

# isort: split
import keras
import numpy as np
from keras import ops

from cw_distillation.attacks.box import EPS_L0_LINF, to_tanh_space
from cw_distillation.attacks.result import AttackResult, distances
from cw_distillation.checkpoint import Checkpoint
from cw_distillation.progress import Progress

Tensor = Any
State = dict[str, Any]  # name -> (B, ...) array, one row per pair in the batch


class AdamState(TypedDict):
    """The fields every C&W row has: Adam's (``adam_step``) and the driver's (``solve``)."""

    w: Tensor  # (B, H, W, C) the optimised variable, in tanh space
    m: Tensor  # Adam's first moment, like w
    v: Tensor  # Adam's second moment, like w
    t: Tensor  # (B,) float32 Adam steps since the row's last restart
    x0: Tensor  # (B, H, W, C) the original image
    onehot: Tensor  # (B, K) bool, the target
    steps: Tensor  # (B,) int32 every step of the pair
    ended: Tensor  # (B,) bool: the pair is done; the driver collects it


class RunOptions(TypedDict, total=False):
    """The keyword options every C&W attack hands to ``solve`` as they are.

    batch_size: pairs optimised together in one compiled step (memory vs throughput;
        BATCH_SIZE when not given).
    image_index, label: stored in the result (default 0..N-1 and the model's class of x).
    checkpoint: where to save the run's state now and then and resume it from (``run``).
    """

    batch_size: int
    image_index: np.ndarray | None
    label: np.ndarray | None
    checkpoint: Checkpoint | None


BATCH_SIZE = 100

# Adam steps per compiled call at most. New values of c and new rounds happen inside the
# compiled loop; a call returns earlier as soon as a pair is done (the host collects it and
# loads the next), so this only bounds the time between host visits.
STEPS_PER_CALL = 100


def check_logits(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Z(x) (N, K) for a model that outputs logits; ValueError for one that outputs probabilities.

    The attacks' loss is on Z: on softmax outputs (a distilled network at T = 1) the margin
    saturates and its gradient vanishes, so the attack would fail silently.
    """
    last = model
    while isinstance(last, keras.Model) and last.layers:
        last = last.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    z = ops.convert_to_numpy(model(x, training=False))
    probabilities = np.all((z >= 0) & (z <= 1)) and np.all(np.abs(z.sum(axis=1) - 1) < 1e-3)
    if isinstance(last, keras.layers.Softmax) or activation == "softmax" or probabilities:
        raise ValueError(
            "the attack needs logits Z(x), but the model outputs probabilities "
            "(a softmax last layer); pass the network without its softmax"
        )
    return z


def target_and_other(z: Tensor, onehot: Tensor) -> tuple[Tensor, Tensor]:
    """Z_t and max_{i != t} Z_i, each (N,), from logits z (N, K) and onehot (N, K) bool.

    The target is masked with -inf: zeroing it (z * (1 - onehot)) would make 'other' 0
    whenever every other logit is negative, which is common on distilled networks.
    """
    real = ops.sum(ops.where(onehot, z, 0.0), axis=1)
    other = ops.max(ops.where(onehot, -np.inf, z), axis=1)
    return real, other


def per_row(a: Tensor, like: Tensor) -> Tensor:
    """(N,) -> (N, 1, 1, ...) to broadcast a per-row value over images shaped like ``like``."""
    return ops.reshape(a, (-1,) + (1,) * (len(like.shape) - 1))


def adam_step(s: State, grad: Tensor, active: Tensor, lr: float) -> State:
    """One Adam update of s["w"] (N, ...) per row, with tf.train.AdamOptimizer's defaults.

    s["t"] (N,) counts each row's steps since its own restart (its bias correction); rows
    with ``active`` False keep w, m, v and t unchanged.
    """
    b1, b2, eps = 0.9, 0.999, 1e-8
    w, m, v, t = s["w"], s["m"], s["v"], s["t"]
    t1 = t + 1.0
    m1 = b1 * m + (1.0 - b1) * grad
    v1 = b2 * v + (1.0 - b2) * grad * grad
    rate = lr * ops.sqrt(1.0 - ops.power(b2, t1)) / (1.0 - ops.power(b1, t1))
    w1 = w - per_row(rate, w) * m1 / (ops.sqrt(v1) + eps)
    keep = per_row(active, w)
    return {
        **s, "w": ops.where(keep, w1, w), "m": ops.where(keep, m1, m),
        "v": ops.where(keep, v1, v), "t": ops.where(active, t1, t),
    }


def fresh_adam(w: np.ndarray) -> State:
    """Rows that start the optimiser at w (k, H, W, C): zero moments and step counts."""
    return {"w": w, "m": np.zeros_like(w), "v": np.zeros_like(w),
            "t": np.zeros(len(w), np.float32)}


def round_rows(pairs: np.ndarray, x: np.ndarray, onehot: np.ndarray, initial_const: float) -> State:
    """The fresh fields the L0 and L-infinity rows share: Adam at x (in tanh space), the
    first c, no step taken, x itself as the best example so far."""
    k = len(pairs)
    return {
        **fresh_adam(ops.convert_to_numpy(to_tanh_space(x[pairs], EPS_L0_LINF))), "x0": x[pairs],
        "onehot": onehot[pairs], "c": np.full(k, initial_const, np.float32),
        "it": np.zeros(k, np.int32), "steps": np.zeros(k, np.int32), "x_best": x[pairs],
        "ended": np.zeros(k, bool),
    }


def restart_adam(s: State, restart: Tensor, w: Tensor) -> State:
    """Rows where ``restart`` (N,) start afresh at w: zero moments and step count."""
    r = per_row(restart, w)
    return {
        **s, "w": ops.where(r, w, s["w"]), "m": ops.where(r, 0.0, s["m"]),
        "v": ops.where(r, 0.0, s["v"]), "t": ops.where(restart, 0.0, s["t"]),
    }


class PairBatch:
    """The rows of one compiled batch, each holding one (image, target) pair.

    Pairs wait in a queue; when a pair finishes, its row takes the next one, so the batch
    stays full although pairs need different numbers of steps (aborts, L0 and L-inf rounds).
    Once the queue is empty, finished rows are dropped (the batch shrinks; the compiled step
    serves any batch size), so the tail of a run computes no idle rows.

    A backend that compiles once per batch size (JAX; ``park`` defaults to
    ``autodiff.COMPILES_PER_BATCH_SIZE``)
    would compile again for every pair of the tail; there finished rows are *parked* instead
    (``dev["parked"]``: they keep ``ended`` set, so they stay frozen, and no longer stop the
    loop) and the batch is compacted only once half of its rows are parked: a handful of
    sizes per run.

    load(pairs) -> the device state of fresh rows for the pairs ``pairs`` (k,).
    dev: name -> (B, ...) tensors that stay on the device between steps.
    pair: (B,) which pair each row holds.
    """

    def __init__(
        self, n_pairs: int, batch_size: int, load: Callable[[np.ndarray], State],
        park: bool | None = None,
    ) -> None:
        assert n_pairs > 0 and batch_size > 0
        self.n_pairs, self.load = n_pairs, load
        park = autodiff.COMPILES_PER_BATCH_SIZE if park is None else park
        self.pair = np.arange(min(batch_size, n_pairs))
        self.next_pair = len(self.pair)
        self.dev = {k: ops.convert_to_tensor(v) for k, v in load(self.pair).items()}
        if park:
            self.dev["parked"] = ops.convert_to_tensor(np.zeros(len(self.pair), bool))

    def live(self) -> np.ndarray:
        """The rows that hold a pair still in flight (all rows, unless some are parked)."""
        if "parked" not in self.dev:
            return np.arange(len(self.pair))
        return np.flatnonzero(~ops.convert_to_numpy(self.dev["parked"]))

    def finished(self) -> np.ndarray:
        """The live rows whose pair is done."""
        ended = ops.convert_to_numpy(self.dev["ended"])
        if "parked" in self.dev:
            ended = ended & ~ops.convert_to_numpy(self.dev["parked"])
        return np.flatnonzero(ended)

    def get(self, name: str, rows: np.ndarray) -> np.ndarray:
        """dev[name] at ``rows`` as numpy, (k, ...)."""
        return ops.convert_to_numpy(ops.take(self.dev[name], rows, axis=0))

    def replace(self, rows: np.ndarray) -> None:
        """Hand finished ``rows`` the next pairs in the queue; drop them when it is empty."""
        pairs = np.arange(self.next_pair, min(self.next_pair + len(rows), self.n_pairs))
        self.next_pair += len(pairs)
        if len(pairs):
            filled = rows[: len(pairs)]
            for name, value in self.load(pairs).items():
                old = self.dev[name]
                value = ops.cast(ops.convert_to_tensor(value), old.dtype)
                self.dev[name] = ops.scatter_update(old, filled[:, None], value)
            self.pair[filled] = pairs
        if len(pairs) < len(rows):
            gone = rows[len(pairs):]
            if "parked" in self.dev:
                parked = ops.convert_to_numpy(self.dev["parked"]).copy()
                parked[gone] = True
                if np.sum(~parked) > len(parked) // 2:
                    self.dev["parked"] = ops.convert_to_tensor(parked)
                    return
                gone = np.flatnonzero(parked)
            keep = np.setdiff1d(np.arange(len(self.pair)), gone)
            self.dev = {k: ops.take(v, keep, axis=0) for k, v in self.dev.items()}
            self.pair = self.pair[keep]


def compile_loop(
    one_step: Callable[[State], State], example: State, n: int = STEPS_PER_CALL
) -> Callable[[State], State]:
    """Compiled for batches like ``example``, of any size: ``one_step(state)`` up to n times,
    back to the host as soon as a row has s["ended"] set (its pair is done)."""

    def pair_done(st: State) -> Tensor:  # a parked row (PairBatch) is done and collected already
        return ops.any(st["ended"] & ~st["parked"]) if "parked" in st else ops.any(st["ended"])

    def steps(s: State) -> State:
        return autodiff.repeat(one_step, n, s, pair_done)

    return autodiff.compile_for_any_batch(steps, example)


def run(
    batch: PairBatch, steps: Callable[[State], State], collect: Callable[[np.ndarray], None],
    desc: str = "attack", progress: bool = True, checkpoint: Checkpoint | None = None,
    outputs: dict[str, np.ndarray] | None = None, max_steps: int = 0,
) -> np.ndarray:
    """Step the batch until every pair is done, ``collect(rows)`` taking each finished
    row's result. Returns seconds per pair (n_pairs,): each call's time split over its rows.

    With ``checkpoint``, the whole state -- the rows in flight (``batch.dev``), the queue,
    ``outputs`` (the arrays ``collect`` fills, updated in place) and the seconds -- is saved
    between two calls whenever it is due, and a run resumes from it: the calls that follow
    see the same state as in an uninterrupted run, so the result is the same. ``max_steps``
    (a pair's step budget, if the attack has one) is shown beside the steps taken.
    """
    outputs = outputs or {}
    seconds = np.zeros(batch.n_pairs)
    state = checkpoint.load() if checkpoint is not None else None
    if state is not None:
        batch.dev = {k.removeprefix("dev/"): ops.convert_to_tensor(v) for k, v in state.items()
                     if k.startswith("dev/")}
        batch.pair, batch.next_pair = state["pair"], int(state["next_pair"])
        seconds[:] = state["seconds"]
        for name, array in outputs.items():
            array[...] = state[f"out/{name}"]
    done_steps = int(sum(np.sum(a) for k, a in outputs.items() if k == "iterations"))
    budget = f"/{max_steps * batch.n_pairs:,} at most" if max_steps else ""
    # Long runs (hours on a CPU) show pairs done and the optimiser steps taken so far.
    with Progress(batch.n_pairs, batch.next_pair - len(batch.pair), desc, enabled=progress) as bar:
        while len(batch.pair):
            start, held = time.perf_counter(), batch.pair[batch.live()]
            batch.dev = steps(batch.dev)
            ended = batch.finished()
            if len(ended):
                collect(ended)
                done_steps += int(np.sum(ops.convert_to_numpy(ops.take(batch.dev["steps"], ended, axis=0))))
                batch.replace(ended)
                bar.advance(len(ended))
            seconds[held] += (time.perf_counter() - start) / len(held)
            live = batch.live()
            in_flight = int(np.sum(batch.get("steps", live))) if len(live) else 0
            bar.status(steps=f"{done_steps + in_flight:,}{budget}", in_flight=len(live))
            if checkpoint is not None and len(batch.pair) and checkpoint.due():
                checkpoint.save({
                    **{f"dev/{k}": ops.convert_to_numpy(v) for k, v in batch.dev.items()},
                    "pair": batch.pair, "next_pair": np.array(batch.next_pair),
                    "seconds": seconds, **{f"out/{k}": v for k, v in outputs.items()},
                })
    return seconds


def prepare(
    model: keras.Model, x: np.ndarray, target: np.ndarray, batch_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked inputs: x (N, H, W, C) float32, target (N,) int64, onehot (N, K) bool."""
    x = np.asarray(x, np.float32)
    target = np.asarray(target, np.int64)
    assert x.ndim == 4 and target.shape == (len(x),), (x.shape, target.shape)
    assert x.min() >= -0.5 and x.max() <= 0.5, "x must lie in the box [-0.5, 0.5]"
    n_classes = check_logits(model, x[:batch_size]).shape[1]
    assert target.min() >= 0 and target.max() < n_classes, "target out of range"
    return x, target, np.eye(n_classes, dtype=bool)[target]


def solve(
    model: keras.Model, x: np.ndarray, target: np.ndarray, *,
    load: Callable[[np.ndarray, np.ndarray, np.ndarray], State],
    one_step: Callable[[State], State], meta: dict, desc: str, best: str = "x_best",
    max_steps: int = 0, **run_options: Unpack[RunOptions],
) -> AttackResult:
    """The driver of every C&W attack: checked inputs, the queue of pairs, the compiled loop,
    checkpoints, and the result.

    load(pairs, x, onehot) -> the fresh rows of ``pairs`` (x, onehot: the checked inputs);
    one_step(state) -> the state after one step of every row; a row's pair is over when its
    ``ended`` is set, and its example is the row's ``best`` field (x itself where the attack
    never succeeded, as every attack initialises it), with its ``steps``; run_options:
    RunOptions.
    """
    batch_size = run_options.get("batch_size", BATCH_SIZE)
    x, target, onehot = prepare(model, x, target, batch_size)
    batch = PairBatch(len(x), batch_size, lambda pairs: load(pairs, x, onehot))
    x_adv, iterations = x.copy(), np.zeros(len(x), np.int64)

    def collect(rows: np.ndarray) -> None:
        pairs = batch.pair[rows]
        x_adv[pairs] = batch.get(best, rows)
        iterations[pairs] = batch.get("steps", rows)

    steps = compile_loop(one_step, batch.dev)
    seconds = run(batch, steps, collect, desc=desc, checkpoint=run_options.get("checkpoint"),
                  outputs={"x_adv": x_adv, "iterations": iterations}, max_steps=max_steps)
    return finish(model, x, target, x_adv, iterations, seconds, meta,
                  run_options.get("image_index"), run_options.get("label"), batch_size)


def finish(
    model: keras.Model, x: np.ndarray, target: np.ndarray, x_adv: np.ndarray,
    iterations: np.ndarray, seconds: np.ndarray, meta: dict,
    image_index: np.ndarray | None, label: np.ndarray | None, batch_size: int,
) -> AttackResult:
    """The AttackResult, with ``success`` read from the model's argmax on x_adv.

    image_index defaults to 0..N-1 and label to the model's class of the original x.
    """

    def predict(images: np.ndarray) -> np.ndarray:
        return np.concatenate([
            np.argmax(ops.convert_to_numpy(model(images[i:i + batch_size], training=False)), 1)
            for i in range(0, len(images), batch_size)
        ])

    success = predict(x_adv) == target
    l0, l2, linf = distances(x, x_adv)
    for d in (l0, l2, linf):
        d[~success] = np.nan
    return AttackResult(
        x_adv=x_adv.astype(np.float32), success=success, l0=l0, l2=l2, linf=linf,
        iterations=np.asarray(iterations, np.int64), seconds=seconds,
        image_index=np.arange(len(x)) if image_index is None else np.asarray(image_index),
        target=target, label=predict(x) if label is None else np.asarray(label),
        meta=meta,
    )
