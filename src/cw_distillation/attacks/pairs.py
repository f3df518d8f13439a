"""What every attack on (image, target) pairs shares: input checks, the model's class, and
the AttackResult contract (success judged by the model at T = 1, failed pairs keep x).

The earlier attacks (fgs, igs, jsma, lbfgs, deepfool) build their results here; the
C&W attacks have their own batched machinery in cw_batch and the same contract in its finish().
"""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (first: it sets KERAS_BACKEND for keras)

# isort: split
import keras
import numpy as np

from cw_distillation.attacks.result import AttackResult, distances

BOX_MIN, BOX_MAX = -0.5, 0.5


def to_numpy(tensor) -> np.ndarray:
    return keras.ops.convert_to_numpy(tensor)


def predict_class(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """argmax of Z, i.e. the class at T = 1, for x (n, H, W, C): (n,) int."""
    x = np.asarray(x, np.float32)
    if len(x) == 0:
        return np.zeros(0, np.int64)
    # predict_on_batch reuses Keras' compiled predict function: ~10x faster than an eager call.
    return np.concatenate(
        [np.argmax(model.predict_on_batch(x[b]), axis=1) for b in batches(len(x), batch_size)]
    )


def batches(n: int, batch_size: int) -> list[slice]:
    """Consecutive slices of at most batch_size covering range(n)."""
    return [slice(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]


def check_pairs(
    model: keras.Model,
    x: np.ndarray,
    target: np.ndarray,
    label: np.ndarray | None,
    image_index: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate one row per pair -- x (N, H, W, C) in the box, target (N,) -- and fill the
    defaults of label (the model's class of x, as the C&W attacks do) and image_index (0..N-1)."""
    x = np.asarray(x, dtype=np.float32)
    assert x.ndim == 4, f"x must be (N, H, W, C), got {x.shape}"
    assert x.min() >= BOX_MIN and x.max() <= BOX_MAX, "x must lie in [-0.5, 0.5]"
    target = np.asarray(target, dtype=np.int64)
    assert target.shape == (len(x),), f"target must be ({len(x)},), got {target.shape}"
    label = predict_class(model, x) if label is None else np.asarray(label, np.int64)
    index = np.arange(len(x)) if image_index is None else np.asarray(image_index, np.int64)
    assert label.shape == index.shape == (len(x),), "label and image_index must be (N,)"
    return x, target, label, index


def attack_result(
    model: keras.Model,
    x: np.ndarray,
    x_adv: np.ndarray,
    target: np.ndarray,
    label: np.ndarray,
    image_index: np.ndarray,
    iterations: np.ndarray,
    seconds: np.ndarray,
    meta: dict,
    *,
    untargeted: bool = False,
) -> AttackResult:
    """The AttackResult contract: success judged by the model at T = 1 on x_adv (target hit,
    or for untargeted attacks label missed); failed pairs keep x and get NaN distances."""
    predicted = predict_class(model, x_adv)
    success = predicted != label if untargeted else predicted == target
    x_adv = np.where(success[:, None, None, None], x_adv, x).astype(np.float32)
    l0, l2, linf = distances(x, x_adv)
    for d in (l0, l2, linf):
        d[~success] = np.nan
    return AttackResult(
        x_adv=x_adv, success=success, l0=l0, l2=l2, linf=linf,
        iterations=np.asarray(iterations, np.int64), seconds=np.asarray(seconds, np.float64),
        image_index=image_index, target=target, label=label, meta=meta,
    )
