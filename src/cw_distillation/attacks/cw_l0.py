"""The Carlini & Wagner L0 attack (paper Section V-B), batched: every pair has its own rounds.

L0 is not differentiable, so the attack shrinks a set of free pixels: each round solves the
L2 problem with every other pixel fixed to the original, warm-started from the previous
round's example; on success it freezes the free pixels that matter least (smallest
|delta| * |gradient|) and goes again; the first round that fails ends the pair, which keeps
the last successful example. A pixel counts once, whatever channels change.

Differences from the released l0_attack.py, none of which changes a result: a round with
no free pixel left fails at once (the reference runs every c up to largest_const with a
zero gradient first); a solution that changed nothing ends the pair with x (the reference
gets there freezing one pixel per round); pixels with equal scores freeze in index order
(the reference's order among ties is unspecified). Its options abort_early (on: a round
stops at its first valid solution) and independent_channels (off) are fixed at their
defaults; reduce_const (off by default, as released: "faster to set to false") halves c
after each solved round, so that later rounds may solve with a smaller c. The reference keeps
c in a Python float (float64) and feeds it to a float32 loss; here c is float32, so with
reduce_const the halvings below TINY are counted instead (see halve_const): after hundreds of
solved rounds c climbs back as the reference's does, where a float32 c would underflow to 0
and never grow again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NotRequired, Unpack

import cw_distillation.autodiff as autodiff

# isort: split
import keras
import numpy as np
from keras import ops

from cw_distillation.attacks import cw_batch
from cw_distillation.attacks.box import EPS_L0_LINF, from_tanh_space, to_tanh_space
from cw_distillation.attacks.cw_batch import AdamState, RunOptions, State, Tensor
from cw_distillation.attacks.result import L0_CHANGED, AttackResult

MARGIN = 0.01  # the reference's inner L2 wants Z_t to beat the others by 0.01 ...
SOLVED = 1e-4  # ... and calls a round solved once that hinge loss is below 1e-4
CHANGED = L0_CHANGED  # a pixel "changed" (freezing rule and reported L0) when a channel moved this much


class L0State(AdamState):
    """A row of the L0 attack (AdamState's fields and these)."""

    free: Tensor  # (B, H, W, 1) float 1 = free pixel, 0 = frozen to the original
    c: Tensor  # (B,) the constant (carried from round to round)
    it: Tensor  # (B,) int32 steps at this c
    x_best: Tensor  # (B, H, W, C) the last round's success (x itself until there is one)
    debt: NotRequired[Tensor]  # (B,) int32 halvings of c owed (reduce_const only: halve_const)


def freeze_pixels(free: Tensor, x: Tensor, x_new: Tensor, grad: Tensor) -> Tensor:
    """The reference's rule for which pixels leave the free set after a successful round.

    free: (N, H, W, 1) float 1 = free, 0 = frozen; x, x_new: (N, H, W, C) original and
    solution; grad: (N, H, W, C) gradient of the round's loss at x_new (in tanh-space).
    Each pixel scores |sum_c delta| * sum_c |grad| (little change, little effect). Free
    pixels are frozen lowest score first: always one, then more while the last one frozen
    scored <= 0.01, up to 0.3 sqrt(number of changed pixels) of them, so the attack drops
    many pixels while many are changed and one at a time near the end. Returns the new free.
    """
    n = ops.shape(x)[0]
    delta = x_new - x
    score = ops.reshape(ops.abs(ops.sum(delta, -1)) * ops.sum(ops.abs(grad), -1), (n, -1))
    is_free = ops.reshape(free, (n, -1)) > 0
    n_free = ops.sum(ops.cast(is_free, "int32"), axis=1)
    n_changed = ops.sum(ops.cast(ops.any(ops.abs(delta) >= CHANGED, -1), "int32"), (1, 2))
    order = ops.argsort(ops.where(is_free, score, np.inf), axis=1)  # free ones first
    mattered = ops.take_along_axis(score, order, axis=1) > 0.01
    after_first_that_mattered = ops.where(
        ops.any(mattered, axis=1), ops.cast(ops.argmax(mattered, axis=1), "int32") + 1, n_free)
    count = ops.minimum(ops.minimum(n_free, after_first_that_mattered), _cap(n_changed))
    rank = ops.argsort(order, axis=1)  # each pixel's place in the order
    frozen = rank < ops.expand_dims(count, 1)
    return ops.reshape(ops.cast(is_free & ~frozen, free.dtype), ops.shape(free))


def _cap(n_changed: Tensor) -> Tensor:
    """The smallest d >= 1 with d >= 0.3 sqrt(n_changed), in integers (float32 would round
    0.3 * 10 up to 3.0000002 and freeze 4 pixels where the reference freezes 3)."""
    d = ops.cast(ops.ceil(0.3 * ops.sqrt(ops.cast(n_changed, "float32"))), "int32")
    d = ops.where(100 * (d - 1) ** 2 >= 9 * n_changed, d - 1, d)
    d = ops.where(100 * d**2 < 9 * n_changed, d + 1, d)
    return ops.maximum(d, 1)


TINY = 2.0**-100  # with reduce_const, c stays at or above this (a normal float32: halving is exact)


def halve_const(c: Tensor, debt: Tensor) -> tuple[Tensor, Tensor]:
    """c / 2 for reduce_const, with the true constant c * 2**-debt (debt: (N,) int32).

    A float32 c would reach 0 after about 140 halvings (mnist50 pairs did, and then never
    ended); the reference's float64 c would not. So a halving that would take c below TINY
    is owed instead: c stays, debt grows. Returns (c, debt).
    """
    fits = c / 2 >= TINY
    return ops.where(fits, c / 2, c), ops.where(fits, debt, debt + 1)


def grow_const(c: Tensor, debt: Tensor, factor: float) -> tuple[Tensor, Tensor]:
    """c * factor for reduce_const: the growth first pays back owed halvings, as many as keep
    c at or above TINY, so c * 2**-debt is the reference's c * factor. Returns (c, debt)."""
    c = c * factor
    pay = ops.minimum(debt, ops.maximum(ops.cast(ops.floor(ops.log2(c / TINY)), "int32"), 0))
    return c / ops.power(2.0, ops.cast(pay, "float32")), debt - pay


def effective_const(c: Tensor, debt: Tensor) -> Tensor:
    """The constant the loss sees, c * 2**-debt in float32 (0 once it underflows), as the
    reference's float32 loss sees its float64 c."""
    return c * ops.power(2.0, -ops.cast(debt, "float32"))


def _step_fn(
    model: keras.Model, learning_rate: float, max_iterations: int,
    largest_const: float, const_factor: float, reduce_const: bool = False,
) -> Callable[[State], State]:
    """One Adam step of every row on its round's L2 problem over its free pixels; a solved
    round freezes pixels and restarts from its solution, a failed one ends the pair.

    A row's fields: L0State.
    """

    def one_step(s: State) -> State:
        const = effective_const(s["c"], s["debt"]) if reduce_const else s["c"]

        def loss_fn(w: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
            x_new = from_tanh_space(w) * s["free"] + (1.0 - s["free"]) * s["x0"]
            real, other = cw_batch.target_and_other(model(x_new, training=False), s["onehot"])
            hinge = ops.maximum(other - real + MARGIN, 0.0)
            dist = ops.sum(ops.square(x_new - s["x0"]), axis=(1, 2, 3))
            return const * hinge + dist, (x_new, hinge)

        _, (x_new, hinge), grad = autodiff.value_and_grad_aux(loss_fn, s["w"])
        run = ~s["ended"]
        # Solved at the point before the update, as the reference (which restores it).
        solved = run & (hinge < SOLVED)
        going = run & ~solved
        it = s["it"] + ops.cast(going, "int32")
        # max_iterations at one c without success: double c, keep w and Adam's state.
        more = going & (it >= max_iterations)
        if reduce_const:
            grown, grown_debt = grow_const(s["c"], s["debt"], const_factor)
            c, debt = ops.where(more, grown, s["c"]), ops.where(more, grown_debt, s["debt"])
            failed = more & (effective_const(c, debt) >= largest_const)
        else:
            c = ops.where(more, s["c"] * const_factor, s["c"])
            failed = more & (c >= largest_const)
        # No free pixel left: nothing can move, so the round has failed already.
        stuck = going & (ops.sum(s["free"], axis=(1, 2, 3)) == 0)
        failed = failed | stuck
        s = {**cw_batch.adam_step(s, grad, going, learning_rate), "c": c,
             "it": ops.where(more, 0, it), "steps": s["steps"] + ops.cast(run, "int32")}

        # A solved round: keep its solution, freeze pixels, start the next round there with
        # the same c (reduce_const: half of it). If nothing changed, x itself is adversarial:
        # zero pixels, done (the reference gets there too, freezing one pixel per instantly
        # solved round).
        moved = ops.any(ops.abs(x_new - s["x0"]) >= CHANGED, axis=(1, 2, 3))
        again = solved & moved
        if reduce_const:
            halved, halved_debt = halve_const(c, debt)
            s = {**s, "c": ops.where(again, halved, c), "debt": ops.where(again, halved_debt, debt)}
        return {
            **cw_batch.restart_adam(s, again, to_tanh_space(x_new, EPS_L0_LINF)),
            "free": ops.cond(  # sorting pixels costs, so only in steps that solve a round
                ops.any(again),
                lambda: ops.where(cw_batch.per_row(again, s["free"]),
                                  freeze_pixels(s["free"], s["x0"], x_new, grad), s["free"]),
                lambda: s["free"]),
            "x_best": ops.where(cw_batch.per_row(solved, x_new),
                                ops.where(cw_batch.per_row(moved, x_new), x_new, s["x0"]), s["x_best"]),
            "it": ops.where(again, 0, s["it"]),
            "ended": s["ended"] | failed | (solved & ~moved),
        }

    return one_step


def attack(
    model: keras.Model, x: np.ndarray, target: np.ndarray, *,
    learning_rate: float = 1e-2, max_iterations: int = 1000,
    initial_const: float = 1e-3, largest_const: float = 2e6, const_factor: float = 2.0,
    reduce_const: bool = False, **run_options: Unpack[RunOptions],
) -> AttackResult:
    """Targeted C&W L0 adversarial examples, one per (x[i], target[i]).

    model: maps (N, H, W, C) float32 in [-0.5, 0.5] to logits Z (N, K).
    x: (N, H, W, C) float32 in [-0.5, 0.5]; target: (N,) int.
    learning_rate: Adam step; larger converges faster to less accurate results.
    max_iterations: Adam steps per value of c in a round; more are more accurate, slower.
    initial_const: c of the first round (later rounds start at the previous round's c).
    largest_const: c at which a round gives up; larger finds more, slower to fail.
    const_factor: growth of c after a failed value; smaller is more precise, slower.
    reduce_const: halve c after each solved round (the released code's REDUCE_CONST, off
        there "faster to set to false"); may find fewer pixels, slower. Halvings below TINY
        are counted, not applied (halve_const), so c never underflows to 0.
    run_options: batch_size, image_index, label, checkpoint (cw_batch.RunOptions).
    """
    def load(pairs: np.ndarray, x: np.ndarray, onehot: np.ndarray) -> L0State:
        # round_rows returns the shared fields as a plain State dict (dict[str, Any])
        return {**cw_batch.round_rows(pairs, x, onehot, initial_const),  # type: ignore[typeddict-item]
                "free": np.ones((*x[pairs].shape[:3], 1), np.float32),
                **({"debt": np.zeros(len(pairs), np.int32)} if reduce_const else {})}

    one_step = _step_fn(model, learning_rate, max_iterations, largest_const, const_factor, reduce_const)
    meta = {
        "attack": "cw_l0", "learning_rate": learning_rate, "max_iterations": max_iterations,
        "initial_const": initial_const, "largest_const": largest_const,
        "const_factor": const_factor, "batch_size": run_options.get("batch_size", cw_batch.BATCH_SIZE),
        **({"reduce_const": True} if reduce_const else {}),  # absent: off, as released
    }
    # solve's load returns a State (dict[str, Any]); to mypy a TypedDict is not one
    return cw_batch.solve(model, x, target, load=load, one_step=one_step, meta=meta, desc="C&W L0",  # type: ignore[arg-type]
                          **run_options)
