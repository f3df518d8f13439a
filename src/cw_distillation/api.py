"""One call for every attack, shaped as users of Foolbox, torchattacks and ART call theirs:

    result = run("l2", model, x, y)                       # untargeted: any class but y
    result = run("l2", model, x, y, target=t)             # targeted
    result = run("apgd", model, x, y, bounds=(0, 1), eps=8 / 255, loss="dlr")

``model`` maps images in ``bounds`` to logits (no softmax); ``x`` is (N, H, W, C) in
``bounds``; ``y`` the true labels. The attack modules work on [-0.5, 0.5] (the paper's box);
here the model is given an affine input layer that maps that box onto ``bounds``, so every
attack runs unchanged and its L2 and L-inf distances come back multiplied by the box's width
(L0 counts pixels, whatever the box). Success is re-checked on the caller's own model at the
returned ``x_adv``.

Untargeted runs of the targeted attacks (C&W, JSMA, FGS, IGS, L-BFGS) attack every other
class and keep, per image, the closest success in the attack's own distance: the paper's
"best case" (Sec. VI), at (K - 1) times the cost of one target. APGD and FMN are untargeted
natively; DeepFool only untargeted.

Names: the rows of Tables IV and VI (``registry.TABLE_ATTACKS``: l0, l2, linf, jsma_z, jsma_f,
deepfool, lbfgs, fgs, igs) and the attacks beyond the paper (apgd, fmn). Keyword options go to
the attack function unchanged (``help(cw_distillation.attacks.cw_l2.attack)``); their defaults
are the released code's (C&W) or the papers' (APGD, FMN).

Not imported by the workflow's steps: it shapes no stored result, so its code is no part of
any store key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from cw_distillation.attacks import apgd, fmn
from cw_distillation.attacks.registry import RUNNERS, TABLE_ATTACKS
from cw_distillation.attacks.result import AttackResult

BOX = (-0.5, 0.5)  # what every attack module works on


@dataclass(frozen=True)
class Entry:
    """How ``run`` calls one attack."""

    attack: Callable[..., AttackResult]
    targeted: bool  # takes a target; False: untargeted only (DeepFool)
    native_untargeted: bool  # takes target=None itself
    metric: str  # the distance the closest success is chosen in
    fixed: dict[str, Any]


def entries() -> dict[str, Entry]:
    """Every attack ``run`` knows, the paper's from the registry."""
    table = {
        name: Entry(RUNNERS[a.runner].attack, RUNNERS[a.runner].targeted, not RUNNERS[a.runner].targeted,
                    RUNNERS[a.runner].metric, dict(a.fixed))
        for name, a in TABLE_ATTACKS.items()
    }
    table["apgd"] = Entry(apgd.attack, True, True, "linf", {})
    table["fmn"] = Entry(fmn.attack, True, True, "l2", {})
    return table


def run(
    name: str,
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    target: np.ndarray | None = None,
    bounds: tuple[float, float] = BOX,
    **options: Any,
) -> AttackResult:
    """Attack ``name`` on (x, y), targeted when ``target`` is given; an AttackResult in the
    caller's units (x_adv in ``bounds``; L2 and L-inf in them too)."""
    table = entries()
    if name not in table:
        raise ValueError(f"name: no attack is called {name!r}; known: {', '.join(sorted(table))}")
    entry = table[name]
    lo, hi = _check_bounds(bounds)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    _check_inputs(x, y, target, lo, hi)
    if target is not None and not entry.targeted:
        raise ValueError(f"target: {name} is untargeted; leave target=None")
    width, centre = hi - lo, (lo + hi) / 2
    inner = model if (lo, hi) == BOX else _on_box(model, x.shape[1:], width, centre)
    x_box = np.clip((x - centre) / width, *BOX).astype(np.float32)
    opts = {**entry.fixed, **options}
    if target is not None or entry.native_untargeted:
        goal = None if target is None else np.asarray(target).astype(np.int64).reshape(-1)
        result = entry.attack(inner, x_box, goal, label=y, **opts)
    else:
        result = _closest_over_targets(entry.attack, inner, x_box, y, entry.metric, opts)
    return _to_bounds(result, model, x, x_box, y, lo, hi, untargeted=target is None)


def _check_bounds(bounds: tuple[float, float]) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"bounds: a pair (lo, hi), not {bounds!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"bounds: lo < hi, both finite; got {bounds!r}")
    return lo, hi


def _check_inputs(x: np.ndarray, y: np.ndarray, target, lo: float, hi: float) -> None:
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"x: (N, H, W, C) with N >= 1, not shape {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"y: one label per image ({len(x)}), not {len(y)}")
    slack = 1e-6 * (hi - lo)
    if float(x.min()) < lo - slack or float(x.max()) > hi + slack:
        raise ValueError(f"x: values in bounds [{lo:g}, {hi:g}], found [{float(x.min()):g}, {float(x.max()):g}]")
    if target is not None and np.asarray(target).reshape(-1).shape != y.shape:
        raise ValueError(f"target: one class per image ({len(x)}), not shape {np.shape(target)}")


def _on_box(model: keras.Model, shape: tuple[int, ...], width: float, centre: float) -> keras.Model:
    """``model`` behind a layer that maps [-0.5, 0.5] onto [centre - width/2, centre + width/2]."""
    inputs = keras.Input(shape)
    return keras.Model(inputs, model(keras.layers.Rescaling(width, offset=centre)(inputs)))


def _closest_over_targets(fn, model, x: np.ndarray, y: np.ndarray, metric: str, opts: dict) -> AttackResult:
    """Every other class as target; per image the success closest in ``metric`` (else the
    first target's failure)."""
    n_classes = int(keras.ops.shape(model(x[:1]))[-1])
    rows = np.repeat(np.arange(len(x)), n_classes - 1)
    others = np.array([[c for c in range(n_classes) if c != label] for label in y]).reshape(-1)
    every = fn(model, x[rows], others, label=y[rows], image_index=rows, **opts)
    distance = np.where(every.success, getattr(every, metric), np.inf)
    best = np.argmin(distance.reshape(len(x), n_classes - 1), axis=1) + np.arange(len(x)) * (n_classes - 1)
    picked = {name: getattr(every, name)[best] for name in AttackResult.ARRAYS}
    picked["image_index"] = np.arange(len(x))
    return AttackResult(**picked, meta={**every.meta, "untargeted": "closest success over every other class"})


def _to_bounds(result: AttackResult, model: keras.Model, x: np.ndarray, x_box: np.ndarray, y: np.ndarray,
               lo: float, hi: float, untargeted: bool) -> AttackResult:
    """The result in the caller's units, success re-checked on the caller's model. Pixels the
    attack left alone keep the caller's exact values (a round trip through the box would move
    them by a rounding error, and L0 would count them)."""
    from cw_distillation.attacks.result import distances

    width, centre = hi - lo, (lo + hi) / 2
    moved = result.x_adv != x_box
    x_adv = np.where(moved, np.clip(result.x_adv * width + centre, lo, hi), x).astype(np.float32)
    predicted = np.concatenate([
        np.argmax(keras.ops.convert_to_numpy(model(x_adv[i:i + 256], training=False)), 1)
        for i in range(0, len(x_adv), 256)
    ])
    success = predicted != y if untargeted else predicted == result.target
    x_adv = np.where(success[:, None, None, None], x_adv, x).astype(np.float32)
    l0, l2, linf = distances(x_box, np.where(success[:, None, None, None], result.x_adv, x_box))
    failed = np.where(success, 1.0, np.nan)
    return AttackResult(
        x_adv=x_adv, success=success,
        l0=(l0 * failed).astype(np.float32), l2=(l2 * width * failed).astype(np.float32),
        linf=(linf * width * failed).astype(np.float32),
        iterations=result.iterations, seconds=result.seconds, image_index=result.image_index,
        target=np.where(success, predicted, -1) if untargeted else result.target, label=y,
        meta={**result.meta, "bounds": [lo, hi]},
    )
