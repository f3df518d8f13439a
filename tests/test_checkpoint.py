"""Attack checkpoints: a run interrupted after a checkpoint resumes to the uninterrupted result."""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import logging

import numpy as np
import pytest
from test_cw_l2 import conv_model, pairs_on

from cw_distillation.attacks import cw_l0, cw_l2, cw_linf, fgs
from cw_distillation.checkpoint import Checkpoint
from cw_distillation.steps.attacking import _in_batches

QUICK = {
    cw_l2.attack: dict(max_iterations=60, binary_search_steps=4, initial_const=0.1),
    cw_l0.attack: dict(max_iterations=40),
    cw_linf.attack: dict(max_iterations=40),
}


class Killed(RuntimeError):
    pass


def crash_after_first_save(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Checkpoint.save

    def save(self, arrays):
        real(self, arrays)
        raise Killed("killed after the first checkpoint")

    monkeypatch.setattr(Checkpoint, "save", save)


def same(a, b) -> None:
    assert a.x_adv.tobytes() == b.x_adv.tobytes()
    for name in ("success", "l0", "l2", "linf", "iterations"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("attack", list(QUICK), ids=["l2", "l0", "linf"])
def test_a_cw_attack_killed_after_a_checkpoint_resumes_to_the_same_result(attack, tmp_path, monkeypatch):
    model = conv_model(1)
    x, target = pairs_on(model, 3, 2, seed=2)
    settings = dict(batch_size=2, image_index=np.repeat([0, 1, 2], 2), **QUICK[attack])
    whole = attack(model, x, target, **settings)
    path = tmp_path / "ckpt.npz"
    with monkeypatch.context() as m:
        crash_after_first_save(m)
        with pytest.raises(Killed):
            attack(model, x, target, checkpoint=Checkpoint(path, "job", every_s=0), **settings)
    assert path.exists()
    resumed = attack(model, x, target, checkpoint=Checkpoint(path, "job", every_s=0), **settings)
    same(resumed, whole)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other job"])
def test_a_damaged_or_foreign_checkpoint_is_named_and_discarded(damage, tmp_path, monkeypatch, caplog):
    model = conv_model(1)
    x, target = pairs_on(model, 2, 2, seed=2)
    settings = dict(batch_size=2, **QUICK[cw_l2.attack])
    whole = cw_l2.attack(model, x, target, **settings)
    path = tmp_path / "ckpt.npz"
    with monkeypatch.context() as m:
        crash_after_first_save(m)
        with pytest.raises(Killed):
            cw_l2.attack(model, x, target, checkpoint=Checkpoint(path, "job", every_s=0), **settings)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 64)
    with caplog.at_level(logging.WARNING, logger="cw_distillation"):
        fingerprint = "another job" if damage == "other job" else "job"
        again = cw_l2.attack(model, x, target, checkpoint=Checkpoint(path, fingerprint, every_s=1e9), **settings)
    [message] = [r.getMessage() for r in caplog.records if "discarding" in r.getMessage()]
    assert str(path) in message and "\n" not in message
    same(again, whole)


def test_earlier_attacks_resume_from_their_finished_batches(tmp_path, monkeypatch):
    model = conv_model(1)
    x, target = pairs_on(model, 3, 3, seed=3)
    kwargs = {"image_index": np.repeat([0, 1, 2], 3), "batch_size": 4, "grid_steps": 20}
    whole = fgs.attack(model, x, target, **kwargs)
    path = tmp_path / "ckpt.npz"
    with monkeypatch.context() as m:
        crash_after_first_save(m)
        with pytest.raises(Killed):
            _in_batches(fgs.attack, model, x, target, kwargs, 4, Checkpoint(path, "job", every_s=0))
    resumed = _in_batches(fgs.attack, model, x, target, kwargs, 4, Checkpoint(path, "job", every_s=0))
    same(resumed, whole)
    np.testing.assert_array_equal(resumed.image_index, whole.image_index)


def test_a_reader_that_does_not_discard_leaves_a_foreign_checkpoint_in_place(tmp_path):
    """scripts/l0_reduce_const.py --summarize-checkpoint only reads: a wrong option must not delete an hour's run."""
    path = tmp_path / "ckpt.npz"
    Checkpoint(path, "job").save({"a": np.arange(3)})
    assert Checkpoint(path, "another job").load(discard=False) is None and path.exists()
    assert Checkpoint(path, "job").load(discard=False)["a"].tolist() == [0, 1, 2]
    assert Checkpoint(path, "another job").load() is None and not path.exists()
