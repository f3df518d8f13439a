"""Training as in the reference code, distillation's four steps, and exact resume."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np
import pytest

from cw_distillation import train
from cw_distillation.models import build_model, predict_logits
from cw_distillation.train import (
    LegacyDecay,
    TemperatureCrossEntropy,
    accuracy,
    epoch_order,
    make_optimizer,
    one_hot,
    soft_labels,
    split_validation,
    train_distilled,
    train_network,
)

N, BATCH = 64, 16  # 4 steps per epoch: enough to exercise shuffling, momentum, dropout


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """MNIST-shaped synthetic data: x (64, 28, 28, 1) in [-0.5, 0.5], y (64,) labels."""
    rng = np.random.default_rng(0)
    return rng.uniform(-0.5, 0.5, (N, 28, 28, 1)).astype(np.float32), rng.integers(0, 10, N)


def weights_equal(a: keras.Model, b: keras.Model) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights(), strict=True))


def entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log(np.clip(p, 1e-30, None))).sum(axis=1)


def quiet(**kwargs: Any) -> dict[str, Any]:
    return {"batch_size": BATCH, "progress": False, "log": lambda _: None, **kwargs}


# ------------------------------------------------------------------ reference hyperparameters


def test_learning_rate_schedule_is_keras_legacy_decay() -> None:
    schedule = LegacyDecay()
    for step in (0, 1, 10, 430, 1_000_000):
        assert float(schedule(step)) == pytest.approx(0.01 / (1 + 1e-6 * step), rel=1e-6)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(clone, LegacyDecay) and clone.get_config() == schedule.get_config()


def test_optimizer_is_nesterov_sgd_with_momentum_point_nine() -> None:
    opt = make_optimizer()
    assert isinstance(opt, keras.optimizers.SGD)
    assert opt.momentum == 0.9 and opt.nesterov
    assert isinstance(opt._learning_rate, LegacyDecay)


def test_loss_is_crossentropy_of_softmax_at_temperature() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(scale=20, size=(5, 10)).astype(np.float32)
    y = rng.dirichlet(np.ones(10), size=5).astype(np.float32)
    for t in (1.0, 7.0, 100.0):
        zt = z.astype(np.float64) / t
        log_p = zt - zt.max(1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
        expected = -(y * log_p).sum(1).mean()
        assert float(TemperatureCrossEntropy(t)(y, z)) == pytest.approx(expected, rel=1e-5)


def test_trained_model_reports_the_loss_at_its_temperature(data: tuple) -> None:
    x, labels = data
    model = build_model("mnist", seed=1)
    train_network(model, x, labels, temperature=5.0, epochs=1, seed=0, checkpoint_dir=None,
                  **quiet())
    out = model.get_layer("logits")  # make logits large so that T changes the loss a lot
    out.kernel.assign(50 * np.asarray(out.kernel))
    out.bias.assign(50 * np.asarray(out.bias))
    keras_loss = model.evaluate(x, one_hot(labels), batch_size=N, verbose=0)[0]
    p5 = soft_labels(model, x, 5.0)
    hand = -np.log(p5[np.arange(N), labels]).mean()
    assert keras_loss == pytest.approx(hand, rel=1e-4)
    p1 = soft_labels(model, x, 1.0)
    assert abs(-np.log(p1[np.arange(N), labels]).mean() - hand) > 0.1, "T must matter"


@pytest.mark.parametrize("t", [0.0, -1.0, math.nan, math.inf])
def test_non_positive_temperature_is_a_value_error_naming_temperature(
    data: tuple, t: float
) -> None:
    x, labels = data
    model = build_model("mnist")
    with pytest.raises(ValueError, match="temperature"):
        train_network(model, x, labels, temperature=t, epochs=1, seed=0, checkpoint_dir=None,
                      **quiet())
    with pytest.raises(ValueError, match="temperature"):
        soft_labels(model, x[:2], t)
    with pytest.raises(ValueError, match="temperature"):
        TemperatureCrossEntropy(t)


def test_validation_set_is_the_first_images() -> None:
    x, y = np.arange(20).reshape(20, 1), np.arange(20)
    x_train, y_train, x_val, y_val = split_validation(x, y, n=5)
    assert x_val.ravel().tolist() == [0, 1, 2, 3, 4] and y_val.tolist() == [0, 1, 2, 3, 4]
    assert x_train.ravel().tolist() == list(range(5, 20)) and len(y_train) == 15


def test_epoch_order_is_a_permutation_fixed_by_seed_and_epoch() -> None:
    a = epoch_order(100, seed=3, epoch=2)
    assert sorted(a.tolist()) == list(range(100))
    assert np.array_equal(a, epoch_order(100, seed=3, epoch=2))
    assert not np.array_equal(a, epoch_order(100, seed=3, epoch=3))
    assert not np.array_equal(a, epoch_order(100, seed=4, epoch=2))


# ------------------------------------------------------------------ soft labels and accuracy


def test_soft_labels_sum_to_one_and_get_softer_with_temperature(data: tuple) -> None:
    x, _ = data
    model = build_model("mnist", seed=2)
    z = predict_logits(model, x)
    model_scaled = build_model("mnist", seed=2)  # logits x50: a confident model
    w = model.get_weights()
    w[-2], w[-1] = 50 * w[-2], 50 * w[-1]
    model_scaled.set_weights(w)
    assert np.allclose(predict_logits(model_scaled, x), 50 * z, rtol=1e-4, atol=1e-4)
    entropies = []
    for t in (1.0, 10.0, 100.0, 1e4):
        p = soft_labels(model_scaled, x, t)
        assert p.shape == (N, 10) and p.dtype == np.float32
        assert np.allclose(p.sum(axis=1), 1.0, atol=1e-6) and (p >= 0).all()
        entropies.append(entropy(p))
    for low, high in itertools.pairwise(entropies):
        assert (high > low).all()
    assert entropies[-1] == pytest.approx(np.log(10), abs=1e-3), "T -> inf gives uniform"


def test_accuracy_is_argmax_of_raw_logits_for_labels_or_one_hot(data: tuple) -> None:
    x, labels = data
    model = build_model("mnist", seed=3)
    pred = predict_logits(model, x).argmax(1)
    assert accuracy(model, x, labels) == pytest.approx(np.mean(pred == labels))
    assert accuracy(model, x, one_hot(labels)) == accuracy(model, x, labels)
    assert accuracy(model, x, pred) == 1.0


# ------------------------------------------------------------------ determinism and resume


def test_two_runs_with_one_seed_give_identical_weights(data: tuple) -> None:
    x, labels = data
    runs = []
    for seed in (11, 11, 12):
        model = build_model("mnist", seed=4)
        train_network(model, x, labels, temperature=2.0, epochs=2, seed=seed,
                      checkpoint_dir=None, **quiet())
        runs.append(model)
    assert weights_equal(runs[0], runs[1])
    assert not weights_equal(runs[0], runs[2]), "the training seed must matter"


class Crash(RuntimeError):
    pass


@pytest.mark.backends
def test_resumed_training_equals_uninterrupted_training_bit_for_bit(
    data: tuple, tmp_path: Path
) -> None:
    x, labels = data
    y = one_hot(labels)
    full = build_model("mnist", seed=5)
    h_full = train_network(full, x, y, temperature=3.0, epochs=2, seed=9,
                           checkpoint_dir=tmp_path / "full", **quiet(progress=True))

    def crash_after_epoch_1(line: str) -> None:
        if line.startswith("epoch 1/"):
            raise Crash(line)

    with pytest.raises(Crash):
        train_network(build_model("mnist", seed=5), x, y, temperature=3.0, epochs=2, seed=9,
                      checkpoint_dir=tmp_path / "crashed", **quiet(log=crash_after_epoch_1))
    # a new process would build a fresh (differently initialised) model: state must come
    # from the checkpoint alone
    resumed = build_model("mnist", seed=6)
    lines: list[str] = []
    h_resumed = train_network(resumed, x, y, temperature=3.0, epochs=2, seed=9,
                              checkpoint_dir=tmp_path / "crashed", **quiet(log=lines.append))
    assert lines[0].startswith("resuming") and lines[1].startswith("epoch 2/")
    assert weights_equal(full, resumed)
    for u, v in zip(full.optimizer.variables, resumed.optimizer.variables, strict=True):
        assert np.array_equal(np.asarray(u), np.asarray(v)), u.path
    assert h_resumed["loss"] == h_full["loss"]
    assert int(resumed.optimizer.iterations) == 2 * N // BATCH


def test_finished_training_is_not_repeated(data: tuple, tmp_path: Path) -> None:
    x, labels = data
    model = build_model("mnist", seed=7)
    history = train_network(model, x, labels, temperature=1.0, epochs=1, seed=0,
                            checkpoint_dir=tmp_path, **quiet())
    again = build_model("mnist", seed=8)
    lines: list[str] = []
    assert train_network(again, x, labels, temperature=1.0, epochs=1, seed=0,
                         checkpoint_dir=tmp_path, **quiet(log=lines.append)) == history
    assert weights_equal(model, again)
    assert not any(line.startswith("epoch") for line in lines)
    with pytest.raises(ValueError, match="different training"):
        train_network(again, x, labels, temperature=2.0, epochs=1, seed=0,
                      checkpoint_dir=tmp_path, **quiet())


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_checkpoint_is_named_discarded_and_training_starts_over(
    data: tuple, tmp_path: Path, damage: str
) -> None:
    x, labels = data
    clean = build_model("mnist", seed=7)
    h_clean = train_network(clean, x, labels, temperature=1.0, epochs=2, seed=0,
                            checkpoint_dir=None, **quiet())
    model = build_model("mnist", seed=7)
    train_network(model, x, labels, temperature=1.0, epochs=1, seed=0,
                  checkpoint_dir=tmp_path, **quiet())
    ckpt = tmp_path / train.CHECKPOINT_FILE
    raw = bytearray(ckpt.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":
        raw[len(raw) // 2] ^= 0xFF
    else:
        raw = bytearray(b"not a checkpoint")
    ckpt.write_bytes(bytes(raw))
    lines: list[str] = []
    again = build_model("mnist", seed=7)
    history = train_network(again, x, labels, temperature=1.0, epochs=2, seed=0,
                            checkpoint_dir=tmp_path, **quiet(log=lines.append))
    assert lines[0].startswith("discarding") and str(ckpt) in lines[0] and "\n" not in lines[0]
    assert weights_equal(clean, again), "a clean restart gives the uninterrupted result"
    assert history["loss"] == h_clean["loss"]


# ------------------------------------------------------------------ defensive distillation


def test_student_is_trained_on_teacher_soft_labels_from_the_shared_init(
    data: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, labels = data
    calls: list[dict[str, Any]] = []
    real = train.train_network

    def recording(model: keras.Model, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> Any:
        calls.append({"y": np.array(y), "w0": model.get_weights(), **kwargs})
        return real(model, x, y, **kwargs)

    monkeypatch.setattr(train, "train_network", recording)
    result = train_distilled("mnist", x, labels, temperature=100.0, epochs=1, seed=0, **quiet())

    assert [c["temperature"] for c in calls] == [1.0, 100.0, 100.0]
    init_call, teacher_call, student_call = calls
    assert np.array_equal(teacher_call["y"], labels), "the teacher learns the hard labels"
    expected = soft_labels(result.teacher, x, 100.0)
    assert np.array_equal(student_call["y"], expected) and np.array_equal(
        result.soft_labels, expected)
    assert not np.allclose(student_call["y"], one_hot(labels), atol=0.5), "soft, not hard"
    init_w = result.init.get_weights()
    for call in (teacher_call, student_call):
        assert all(np.array_equal(u, v) for u, v in zip(call["w0"], init_w, strict=True))
    assert not np.array_equal(init_call["w0"][0], init_w[0]), "init was trained one epoch"
    assert set(result.histories) == {"init", "teacher", "student"}
    assert not weights_equal(result.teacher, result.student)
