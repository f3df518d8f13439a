"""Checkpoints of unfinished attack jobs carried in the store (cw_distillation.inflight)."""

from __future__ import annotations

from pathlib import Path

from cw_distillation import inflight


def folders(tmp_path: Path) -> tuple[Path, Path]:
    store, results = tmp_path / "store/p", tmp_path / "results/p"
    (results / "attacks/mnist/standard").mkdir(parents=True)
    return store, results


def test_save_copies_every_attack_checkpoint_and_forgets_finished_ones(tmp_path):
    store, results = folders(tmp_path)
    running = results / "attacks/mnist/standard/.l2.checkpoint.npz"
    running.write_bytes(b"l2 state")
    (results / "attacks/mnist/standard/l2.npz").write_bytes(b"not a checkpoint")
    stale = store / "inflight/attacks/cifar10/distilled_T100/.l0.checkpoint.npz"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"a job that has finished since")

    assert inflight.save(store, results) == ["attacks/mnist/standard/.l2.checkpoint.npz"]
    assert (store / "inflight/attacks/mnist/standard/.l2.checkpoint.npz").read_bytes() == b"l2 state"
    assert not (store / "inflight/attacks/cifar10").exists(), "the finished job's folders go with it"

    running.unlink()
    assert inflight.save(store, results) == []
    assert not (store / "inflight").exists()


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
