"""Checkpoints of unfinished attack jobs carried in the store (cw_distillation.inflight)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cw_distillation import inflight


def folders(tmp_path: Path) -> tuple[Path, Path]:
    store, results = tmp_path / "store/p", tmp_path / "results/p"
    (results / "attacks/mnist/standard").mkdir(parents=True)
    return store, results


def test_save_copies_every_attack_checkpoint_and_forgets_only_finished_jobs(tmp_path):
    store, results = folders(tmp_path)
    running = results / "attacks/mnist/standard/.l2.checkpoint.npz"
    running.write_bytes(b"l2 state")
    (results / "attacks/mnist/standard/linf.npz").write_bytes(b"a finished job's result")
    finished = store / "inflight/attacks/mnist/standard/.linf.checkpoint.npz"
    not_yet_resumed = store / "inflight/attacks/cifar10/distilled_T100/.l0.checkpoint.npz"
    for path in (finished, not_yet_resumed):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"saved state")

    assert inflight.save(store, results) == ["attacks/mnist/standard/.l2.checkpoint.npz"]
    assert (store / "inflight/attacks/mnist/standard/.l2.checkpoint.npz").read_bytes() == b"l2 state"
    assert not finished.exists(), "its job has finished here"
    assert not_yet_resumed.read_bytes() == b"saved state", "its job has not run here: kept"

    running.unlink()
    (results / "attacks/mnist/standard/l2.npz").write_bytes(b"result")
    assert inflight.save(store, results) == []
    assert not (store / "inflight/attacks/mnist").exists() and not_yet_resumed.exists()


def test_save_refuses_a_results_folder_that_does_not_exist_and_keeps_what_is_saved(tmp_path):
    store, _ = folders(tmp_path)
    saved = store / "inflight/attacks/mnist/standard/.l2.checkpoint.npz"
    saved.parent.mkdir(parents=True)
    saved.write_bytes(b"saved state")
    with pytest.raises(FileNotFoundError, match="results/q does not exist"):
        inflight.save(store, tmp_path / "results/q")
    assert saved.exists()


def test_resume_copies_a_saved_checkpoint_only_where_results_has_none(tmp_path):
    store, results = folders(tmp_path)
    out = results / "attacks/mnist/standard/l2.npz"
    assert inflight.saved_for(store, results, out) is None and inflight.resume(store, results, out) is None
    saved = store / "inflight/attacks/mnist/standard/.l2.checkpoint.npz"
    saved.parent.mkdir(parents=True)
    saved.write_bytes(b"saved state")

    local = inflight.resume(store, results, out)
    assert local == results / "attacks/mnist/standard/.l2.checkpoint.npz" and local.read_bytes() == b"saved state"
    local.write_bytes(b"newer local state")
    assert inflight.saved_for(store, results, out) is None, "the job's own checkpoint is never overwritten"
    assert inflight.resume(store, results, out) is None and local.read_bytes() == b"newer local state"


def test_discard_removes_a_finished_jobs_saved_checkpoint_and_its_empty_folders(tmp_path):
    store, results = folders(tmp_path)
    out = results / "attacks/mnist/standard/l2.npz"
    other = store / "inflight/attacks/mnist/distilled_T100/.l0.checkpoint.npz"
    for path in (store / "inflight/attacks/mnist/standard/.l2.checkpoint.npz", other):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"state")

    assert inflight.discard(store, results, out) is True
    assert not (store / "inflight/attacks/mnist/standard").exists() and other.exists()
    assert inflight.discard(store, results, out) is False
    inflight.discard(store, results, results / "attacks/mnist/distilled_T100/l0.npz")
    assert not (store / "inflight").exists() and store.is_dir()


def test_training_checkpoints_travel_like_attack_ones(tmp_path):
    """A 50-epoch training outlives a session: its per-epoch checkpoint
    (checkpoints/<dataset>/<network>/checkpoint.npz) is saved, resumed where results/ has none,
    and forgotten once the network (models/<dataset>/<network>.keras) exists."""
    from cw_distillation import train

    assert inflight.TRAINING_FILE == train.CHECKPOINT_FILE
    store, results = folders(tmp_path)
    out = results / "models/mnist/teacher_T100.keras"
    local = results / "checkpoints/mnist/teacher_T100/checkpoint.npz"
    assert inflight.checkpoint_of(out) == local
    local.parent.mkdir(parents=True)
    local.write_bytes(b"epoch 12")

    assert inflight.save(store, results) == ["checkpoints/mnist/teacher_T100/checkpoint.npz"]
    local.unlink()
    assert inflight.resume(store, results, out) == local and local.read_bytes() == b"epoch 12"

    out.parent.mkdir(parents=True)
    out.write_bytes(b"the trained network")
    local.unlink()
    assert inflight.save(store, results) == []
    assert not (store / "inflight").exists(), "its job has finished: the saved checkpoint goes"


def test_the_attack_step_and_the_store_read_one_definition_of_where_an_attack_checkpoints():
    """checkpoint.py, below both, defines it; the attack step and inflight import it."""
    from cw_distillation import checkpoint
    from cw_distillation.steps import attacking

    assert attacking.checkpoint_path is checkpoint.attack_checkpoint
    assert inflight.checkpoint_of is checkpoint.checkpoint_of
    out = Path("results/p/attacks/mnist/standard/l2.npz")
    assert checkpoint.attack_checkpoint(out) == out.with_name(".l2.checkpoint.npz")
