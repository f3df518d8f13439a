"""The Carlini & Wagner L-infinity attack (paper Section V-C), batched: every pair has its own tau.

||delta||_inf is a poor objective for gradient descent (only the largest coordinate gets a
gradient), so each round minimises c * f(x') + sum_i max(|delta_i| - tau, 0), penalising
only the coordinates above tau. When a round succeeds (the penalty has vanished and the
target wins) tau shrinks to 0.9 * min(tau, max|delta|) and a new round starts there, warm;
the first round that fails ends the pair, which keeps the last successful example.

Difference from the released li_attack.py: the reference checks the argmax at the point
just after the update that brought the loss below its threshold; here that check reads
the next step's forward pass (the same point, no extra model call). At the end of a
value of c a due check therefore comes one step later, before c doubles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Unpack

import cw_distillation.autodiff as autodiff

# isort: split
import keras
import numpy as np
from keras import ops

from cw_distillation.attacks import cw_batch
from cw_distillation.attacks.box import EPS_L0_LINF, from_tanh_space, to_tanh_space
from cw_distillation.attacks.cw_batch import AdamState, RunOptions, State, Tensor
from cw_distillation.attacks.result import AttackResult

SOLVED = 1e-4  # a round is solved once its loss is below 1e-4 * c (and the target wins)
SMALLEST_TAU = 1 / 256  # below one grey level of an 8-bit image there is nothing to gain


class LinfState(AdamState):
    """A row of the L-infinity attack (AdamState's fields and these)."""

    tau: Tensor  # (B,) the threshold above which a coordinate is penalised
    c: Tensor  # (B,) the constant (carried from round to round)
    it: Tensor  # (B,) int32 steps at this c
    pending: Tensor  # (B,) bool: the loss fell below its threshold; the next step checks the argmax
    x_best: Tensor  # (B, H, W, C) the last round's success (x itself until there is one)


def _step_fn(
    model: keras.Model, learning_rate: float, max_iterations: int,
    largest_const: float, const_factor: float, decrease_factor: float,
) -> Callable[[State], State]:
    """One Adam step of every row on its round's tau-penalty problem; a solved round shrinks
    tau and restarts from its solution, a failed one (or tau below 1/256) ends the pair.

    A row's fields: LinfState.
    """

    def one_step(s: State) -> State:
        def loss_fn(w: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
            x_new = from_tanh_space(w)
            z = model(x_new, training=False)
            real, other = cw_batch.target_and_other(z, s["onehot"])
            excess = ops.maximum(ops.abs(x_new - s["x0"]) - cw_batch.per_row(s["tau"], x_new), 0.0)
            loss = s["c"] * ops.maximum(other - real, 0.0) + ops.sum(excess, axis=(1, 2, 3))
            wins = ops.argmax(z, axis=1) == ops.argmax(s["onehot"], axis=1)
            return loss, (x_new, wins)

        loss, (x_new, wins), grad = autodiff.value_and_grad_aux(loss_fn, s["w"])
        run = ~s["ended"]
        # The reference checks the argmax right after the update that followed a small
        # loss; that point is this step's forward pass.
        solved = run & s["pending"] & wins
        going = run & ~solved
        pending = going & (loss < SOLVED * s["c"])
        it = s["it"] + ops.cast(going, "int32")
        # max_iterations at one c without success: double c, keep w and Adam's state. A
        # check that is due comes first, as in the reference (which makes it before moving
        # c); if it fails, that one step was taken at the old c where the reference's
        # next step uses the doubled one.
        more = going & (it >= max_iterations) & ~pending
        c = ops.where(more, s["c"] * const_factor, s["c"])
        failed = more & (c >= largest_const)
        s = {**cw_batch.adam_step(s, grad, going, learning_rate), "c": c, "pending": pending,
             "it": ops.where(more, 0, it), "steps": s["steps"] + ops.cast(run, "int32")}

        # A solved round: keep its solution; tau drops below its largest change; the next
        # round starts there with the same c, unless tau is below one grey level.
        largest_change = ops.max(ops.abs(x_new - s["x0"]), axis=(1, 2, 3))
        tau = ops.where(solved, ops.minimum(s["tau"], largest_change) * decrease_factor,
                        s["tau"])
        again = solved & (tau > SMALLEST_TAU)
        return {
            **cw_batch.restart_adam(s, again, to_tanh_space(x_new, EPS_L0_LINF)), "tau": tau,
            "x_best": ops.where(cw_batch.per_row(solved, x_new), x_new, s["x_best"]),
            "it": ops.where(again, 0, s["it"]),
            "ended": s["ended"] | failed | (solved & ~again),
        }

    return one_step


def attack(
    model: keras.Model, x: np.ndarray, target: np.ndarray, *,
    learning_rate: float = 5e-3, max_iterations: int = 1000, initial_const: float = 1e-5,
    largest_const: float = 20.0, const_factor: float = 2.0, decrease_factor: float = 0.9,
    **run_options: Unpack[RunOptions],
) -> AttackResult:
    """Targeted C&W L-infinity adversarial examples, one per (x[i], target[i]).

    The arguments it shares with the L0 attack (model, x, target, learning_rate,
    max_iterations, initial_const, largest_const, const_factor) mean what they mean there
    (cw_l0.attack); run_options: batch_size, image_index, label, checkpoint (cw_batch.RunOptions).
    decrease_factor: tau shrinks by this after a success; closer to 1 is more precise, slower.
    """
    def load(pairs: np.ndarray, x: np.ndarray, onehot: np.ndarray) -> LinfState:
        k = len(pairs)
        # round_rows returns the shared fields as a plain State dict (dict[str, Any])
        return {**cw_batch.round_rows(pairs, x, onehot, initial_const), "tau": np.ones(k, np.float32),  # type: ignore[typeddict-item]
                "pending": np.zeros(k, bool)}

    one_step = _step_fn(model, learning_rate, max_iterations, largest_const, const_factor,
                        decrease_factor)
    meta = {
        "attack": "cw_linf", "learning_rate": learning_rate, "max_iterations": max_iterations,
        "initial_const": initial_const, "largest_const": largest_const,
        "const_factor": const_factor, "decrease_factor": decrease_factor,
        "batch_size": run_options.get("batch_size", cw_batch.BATCH_SIZE),
    }
    # solve's load returns a State (dict[str, Any]); to mypy a TypedDict is not one
    return cw_batch.solve(model, x, target, load=load, one_step=one_step, meta=meta, desc="C&W Linf",  # type: ignore[arg-type]
                          **run_options)
