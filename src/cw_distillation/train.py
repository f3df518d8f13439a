"""Training the Table I networks, plain and defensively distilled.

Faithful to the reference ``train_models.py`` (carlini/nn_robust_attacks): SGD with
lr 0.01, Nesterov momentum 0.9 and Keras's legacy ``decay=1e-6``; loss = cross-entropy
of softmax(Z/T) against hard or soft labels. Distillation (Section VIII) adds the
reference's init epoch: one epoch at T=1 whose weights start both teacher and student.

Every epoch ends with a checkpoint; an interrupted training resumes from the last
finished epoch and ends with bit-identical weights, because the batch order and the
dropout masks are functions of (seed, epoch) alone.

Shapes: ``x: (N, H, W, C) float32 in [-0.5, 0.5]``; targets ``y: (N, 10) float32`` rows
summing to 1 (one-hot or soft), or ``(N,)`` int labels where noted.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cw_distillation.autodiff as autodiff

# isort: split
import keras
import numpy as np

from cw_distillation.checkpoint import TRAINING_FILE
from cw_distillation.files import atomic_path
from cw_distillation.models import N_CLASSES, build_model, copy_model, predict_logits

LEARNING_RATE = 0.01
MOMENTUM = 0.9
LEGACY_DECAY = 1e-6
BATCH_SIZE = 128
VALIDATION_SIZE = 5000
CHECKPOINT_FILE = TRAINING_FILE

History = dict[str, list[float]]
Log = Callable[[str], None]


# --------------------------------------------------------------------------- pieces


def check_temperature(temperature: float) -> float:
    if not (isinstance(temperature, int | float) and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a finite number, got {temperature!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return float(temperature)


@keras.saving.register_keras_serializable(package="cw_distillation")
class LegacyDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Keras 1/2's ``SGD(decay=d)``: lr_t = lr / (1 + d * t), t = updates done so far."""

    def __init__(
        self, initial_learning_rate: float = LEARNING_RATE, decay: float = LEGACY_DECAY
    ) -> None:
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay = float(decay)

    def __call__(self, step: Any) -> Any:
        step = keras.ops.cast(step, "float32")
        return self.initial_learning_rate / (1.0 + self.decay * step)

    def get_config(self) -> dict[str, float]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay": self.decay}


@keras.saving.register_keras_serializable(package="cw_distillation")
class TemperatureCrossEntropy(keras.losses.Loss):
    """Cross-entropy of softmax(Z/T) against target distributions; mean over the batch.

    y_true: (B, 10) rows summing to 1; logits: (B, 10) raw Z(x).
    """

    def __init__(self, temperature: float = 1.0, name: str = "temperature_crossentropy",
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.temperature = check_temperature(temperature)

    def call(self, y_true: Any, logits: Any) -> Any:
        return keras.ops.categorical_crossentropy(
            y_true, logits / self.temperature, from_logits=True
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "temperature": self.temperature}


def make_optimizer() -> keras.optimizers.SGD:
    """The reference optimizer: SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)."""
    return keras.optimizers.SGD(
        learning_rate=LegacyDecay(LEARNING_RATE, LEGACY_DECAY), momentum=MOMENTUM, nesterov=True
    )


def compile_for_training(model: keras.Model, temperature: float) -> keras.Model:
    """Attach a fresh reference optimizer and the loss at ``temperature`` (in place)."""
    model.compile(
        optimizer=make_optimizer(),
        loss=TemperatureCrossEntropy(temperature),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    model.optimizer.build(model.trainable_variables)
    return model


def one_hot(labels: np.ndarray, n_classes: int = N_CLASSES) -> np.ndarray:
    """labels: (N,) int -> (N, n_classes) float32."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.min(initial=0) < 0 or labels.max(initial=0) >= n_classes:
        raise ValueError(f"labels must be (N,) ints in [0, {n_classes}), got shape {labels.shape}")
    return np.eye(n_classes, dtype=np.float32)[labels]


def as_targets(y: np.ndarray) -> np.ndarray:
    """(N,) int labels or (N, 10) distributions -> (N, 10) float32 distributions."""
    y = np.asarray(y)
    if y.ndim == 1:
        return one_hot(y)
    if y.ndim != 2 or y.shape[1] != N_CLASSES:
        raise ValueError(f"targets must be (N,) labels or (N, {N_CLASSES}), got {y.shape}")
    y = y.astype(np.float32, copy=False)
    if not np.allclose(y.sum(axis=1), 1.0, atol=1e-3) or (y < 0).any():
        raise ValueError("target rows must be probability distributions (>= 0, sum to 1)")
    return y


def split_validation(
    x: np.ndarray, y: np.ndarray, n: int = VALIDATION_SIZE
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val): the first ``n`` images are the validation set."""
    if not 0 <= n < len(x) or len(x) != len(y):
        raise ValueError(f"cannot hold out {n} of {len(x)} images ({len(y)} labels)")
    return x[n:], y[n:], x[:n], y[:n]


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The batch order of one epoch: a permutation of range(n) fixed by (seed, epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def _reseed_dropout(model: keras.Model, seed: int, epoch: int) -> None:
    """Set every dropout RNG to a state fixed by (seed, epoch, layer): resumable masks."""
    for k, layer in enumerate(model.layers):
        gen = getattr(layer, "seed_generator", None)
        if isinstance(gen, keras.random.SeedGenerator):
            s = int(np.random.SeedSequence([seed, epoch, k]).generate_state(1)[0]) % (2**31 - 1)
            gen.state.assign(np.array([s, 0], dtype=gen.state.dtype))


# --------------------------------------------------------------------------- checkpoints


def _fingerprint(x: np.ndarray, y: np.ndarray) -> str:
    """Hash of the training data: refuse to resume a run on different data."""
    h = hashlib.blake2b(digest_size=16)
    for a in (x, y):
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        # numpy's stub gives ndarray the buffer protocol (__buffer__) for Python >= 3.12 only
        h.update(memoryview(a).cast("B"))  # type: ignore[arg-type]
    return h.hexdigest()


def _save_checkpoint(path: Path, model: keras.Model, epoch: int, history: History,
                     config: dict[str, Any]) -> None:
    """Weights (incl. RNG state) + optimizer state + epoch + history, written atomically."""
    arrays = {f"model_{i:03d}": np.asarray(v) for i, v in enumerate(model.variables)}
    arrays.update(
        {f"optimizer_{i:03d}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)}
    )
    meta = {"epoch": epoch, "history": history, "config": config}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        # numpy's stub lets **arrays fill savez's allow_pickle: bool, which no array name is
        np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]


class CorruptCheckpoint(Exception):
    """A checkpoint file that cannot be read whole (truncated, flipped bytes, not an npz)."""


def _read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of a checkpoint, read whole before anything is assigned, so that a
    damaged file never leaves a model half overwritten."""
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        return json.loads(str(arrays.pop("meta"))), arrays
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as err:
        raise CorruptCheckpoint(f"{path}: unreadable checkpoint ({type(err).__name__}: {err})") from err


def _restore_checkpoint(path: Path, model: keras.Model, config: dict[str, Any]
                        ) -> tuple[int, History]:
    """Load a checkpoint into ``model`` (compiled, optimizer built); return (epoch, history).

    CorruptCheckpoint for a file that cannot be read; ValueError for one written by another
    training (other data, temperature, batch size or seed)."""
    meta, data = _read_checkpoint(path)
    if meta.get("config") != config:
        raise ValueError(
            f"{path}: checkpoint was written by a different training "
            f"({meta.get('config')}), not {config}; delete it to start over"
        )
    for prefix, variables in (("model", model.variables),
                              ("optimizer", model.optimizer.variables)):
        keys = sorted(k for k in data if k.startswith(prefix + "_"))
        if len(keys) != len(variables):
            raise CorruptCheckpoint(f"{path}: {len(keys)} {prefix} variables, expected {len(variables)}")
        for key, var in zip(keys, variables, strict=True):
            if tuple(data[key].shape) != tuple(var.shape):
                raise CorruptCheckpoint(f"{path}: {key} has shape {data[key].shape}, "
                                        f"expected {tuple(var.shape)} ({var.path})")
    for prefix, variables in (("model", model.variables),
                              ("optimizer", model.optimizer.variables)):
        keys = sorted(k for k in data if k.startswith(prefix + "_"))
        for key, var in zip(keys, variables, strict=True):
            var.assign(data[key])
    return int(meta["epoch"]), meta["history"]


# --------------------------------------------------------------------------- training


class _BatchProgress(keras.callbacks.Callback):
    """Advance a tqdm bar once per batch (the bar spans the whole training)."""

    def __init__(self, bar: Any) -> None:
        super().__init__()
        self.bar = bar

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.bar.update(1)


def train_network(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    temperature: float,
    epochs: int,
    seed: int,
    checkpoint_dir: str | os.PathLike[str] | None,
    batch_size: int = BATCH_SIZE,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    progress: bool = True,
    log: Log = print,
) -> History:
    """Train ``model`` in place for ``epochs`` epochs at ``temperature``; return its history.

    x: (N, H, W, C) float32 in [-0.5, 0.5]; y: (N, 10) one-hot or soft labels, or (N,) ints.
    A fresh reference optimizer is attached (as the reference does for every training).
    With ``checkpoint_dir``, every finished epoch is checkpointed there and a later call
    with the same arguments resumes after the last finished epoch (weights, optimizer,
    history); the result equals an uninterrupted run bit for bit. ``epochs`` is the total,
    so a finished run returns at once. Calls ``autodiff.enable_determinism(seed)``.

    History keys: loss, accuracy, lr, seconds (+ val_loss, val_accuracy with x_val), one
    entry per epoch; accuracy is agreement of argmax Z with argmax y.
    """
    temperature = check_temperature(temperature)
    if epochs < 0 or seed < 0 or batch_size < 1:
        raise ValueError(f"need epochs >= 0, seed >= 0, batch_size >= 1; got "
                         f"{epochs}, {seed}, {batch_size}")
    x = np.asarray(x, dtype=np.float32)
    y = as_targets(y)
    if x.shape[1:] != tuple(model.input_shape[1:]) or len(x) != len(y):
        raise ValueError(f"x {x.shape} / y {y.shape} do not fit the model's input "
                         f"{model.input_shape}")
    validation = None
    if x_val is not None:
        if y_val is None:
            raise ValueError("x_val given without y_val")
        validation = (np.asarray(x_val, dtype=np.float32), as_targets(y_val))

    autodiff.enable_determinism(seed)
    compile_for_training(model, temperature)
    history: History = {}
    start = 0
    ckpt: Path | None = None
    config = {"temperature": temperature, "batch_size": batch_size, "seed": seed,
              "data": _fingerprint(x, y)}
    if checkpoint_dir is not None:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        ckpt = Path(checkpoint_dir) / CHECKPOINT_FILE
        if ckpt.exists():
            try:
                start, history = _restore_checkpoint(ckpt, model, config)
                log(f"resuming from {ckpt} after epoch {start}")
            except CorruptCheckpoint as err:
                log(f"discarding {err}; training starts from epoch 0")
                ckpt.unlink()
    if start >= epochs:
        return history

    steps = math.ceil(len(x) / batch_size)
    bar = None
    callbacks: list[keras.callbacks.Callback] = []
    if progress:
        import sys

        from tqdm.auto import tqdm

        # In a log file (not a terminal) a redraw per batch would bury the per-epoch lines.
        bar = tqdm(total=(epochs - start) * steps, unit="batch", desc=f"train T={temperature:g}",
                   mininterval=0.1 if sys.stderr.isatty() else 30.0)
        callbacks.append(_BatchProgress(bar))
    try:
        for epoch in range(start, epochs):
            t0 = time.perf_counter()
            order = epoch_order(len(x), seed, epoch)
            _reseed_dropout(model, seed, epoch)
            fit = model.fit(x[order], y[order], batch_size=batch_size, epochs=1, shuffle=False,
                            validation_data=validation, callbacks=callbacks, verbose=0)
            record = {k: float(v[-1]) for k, v in fit.history.items()}
            record["lr"] = float(model.optimizer.learning_rate)
            record["seconds"] = time.perf_counter() - t0
            for key, value in record.items():
                history.setdefault(key, []).append(value)
            if ckpt is not None:
                _save_checkpoint(ckpt, model, epoch + 1, history, config)
            line = f"epoch {epoch + 1}/{epochs} T={temperature:g}: " + " ".join(
                f"{k} {v:.4g}" for k, v in record.items())
            if bar is None:
                log(line)
            else:
                bar.set_postfix(loss=f"{record['loss']:.4f}", acc=f"{record['accuracy']:.4f}")
                with bar.external_write_mode():  # keep the bar from garbling the log line
                    log(line)
    finally:
        if bar is not None:
            bar.close()
    return history


# --------------------------------------------------------------------------- evaluation


def softmax(z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T) along the last axis, computed stably in float64, returned float32."""
    t = np.asarray(z, dtype=np.float64) / check_temperature(temperature)
    e = np.exp(t - t.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def soft_labels(model: keras.Model, x: np.ndarray, temperature: float,
                batch_size: int = 512) -> np.ndarray:
    """Step 2 of distillation: softmax(Z(x)/T), (N, 10) float32, rows sum to 1."""
    check_temperature(temperature)
    return softmax(predict_logits(model, x, batch_size), temperature)


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 512) -> float:
    """Fraction of argmax Z(x) == label: the T=1 (test-time) decision. y: (N,) or (N, 10)."""
    y = np.asarray(y)
    labels = y if y.ndim == 1 else y.argmax(axis=1)
    return float(np.mean(predict_logits(model, x, batch_size).argmax(axis=1) == labels))


# --------------------------------------------------------------------------- distillation


def train_init(
    dataset: str, x: np.ndarray, y: np.ndarray, *, seed: int,
    checkpoint_dir: str | os.PathLike[str] | None = None, **kwargs: Any,
) -> tuple[keras.Model, History]:
    """Reference step 0: one epoch from scratch at T=1; the start of teacher and student.

    ``kwargs`` go to ``train_network`` (batch_size, x_val, y_val, progress, log).
    """
    model = build_model(dataset, seed=seed)
    history = train_network(model, x, y, temperature=1.0, epochs=1, seed=seed,
                            checkpoint_dir=checkpoint_dir, **kwargs)
    return model, history


def train_teacher(
    init: keras.Model, x: np.ndarray, y: np.ndarray, *, temperature: float, epochs: int,
    seed: int, checkpoint_dir: str | os.PathLike[str] | None = None, **kwargs: Any,
) -> tuple[keras.Model, History]:
    """Step 1: from the init weights, train on the hard labels ``y`` at T."""
    model = copy_model(init)
    history = train_network(model, x, y, temperature=temperature, epochs=epochs, seed=seed,
                            checkpoint_dir=checkpoint_dir, **kwargs)
    return model, history


def train_student(
    init: keras.Model, x: np.ndarray, y_soft: np.ndarray, *, temperature: float,
    epochs: int, seed: int, checkpoint_dir: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> tuple[keras.Model, History]:
    """Step 3: from the same init weights, train on the teacher's soft labels at T.

    y_soft: (N, 10) from ``soft_labels(teacher, x, T)``; tested at T=1 (step 4) by
    ``accuracy`` / raw logits.
    """
    y_soft = np.asarray(y_soft)
    if y_soft.ndim != 2:
        raise ValueError(f"the student needs (N, 10) soft labels, got shape {y_soft.shape}")
    model = copy_model(init)
    history = train_network(model, x, y_soft, temperature=temperature, epochs=epochs,
                            seed=seed, checkpoint_dir=checkpoint_dir, **kwargs)
    return model, history


@dataclass
class Distillation:
    """Everything defensive distillation produced; ``student`` is the defended network."""

    init: keras.Model
    teacher: keras.Model
    student: keras.Model
    soft_labels: np.ndarray  # (N, 10) float32, teacher's softmax(Z/T) on the training set
    histories: dict[str, History]


def train_distilled(
    dataset: str, x: np.ndarray, y: np.ndarray, *, temperature: float, epochs: int,
    seed: int, workdir: str | os.PathLike[str] | None = None, **kwargs: Any,
) -> Distillation:
    """Defensive distillation in one call: init epoch, teacher, soft labels, student.

    Seeds: init ``seed``, teacher ``seed + 1``, student ``seed + 2``. With ``workdir``,
    each training checkpoints in its own subfolder and resumes. ``kwargs`` go to
    ``train_network``; ``y`` are the hard labels, (N,) or (N, 10).
    """
    sub = (lambda name: None) if workdir is None else (lambda name: Path(workdir) / name)
    init, h_init = train_init(dataset, x, y, seed=seed, checkpoint_dir=sub("init"), **kwargs)
    teacher, h_teacher = train_teacher(init, x, y, temperature=temperature, epochs=epochs,
                                       seed=seed + 1, checkpoint_dir=sub("teacher"), **kwargs)
    y_soft = soft_labels(teacher, x, temperature)
    student, h_student = train_student(init, x, y_soft, temperature=temperature,
                                       epochs=epochs, seed=seed + 2,
                                       checkpoint_dir=sub("student"), **kwargs)
    return Distillation(init, teacher, student, y_soft,
                        {"init": h_init, "teacher": h_teacher, "student": h_student})
