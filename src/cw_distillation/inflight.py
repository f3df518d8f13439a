"""Checkpoints of attack and training jobs still running when a machine stops, carried in the store.

A long job (a CIFAR-10 C&W attack or a 50-epoch training: hours on a CPU) can outlive the
session that started it, and a new machine starts with an empty results/. ``save`` copies
every attack and training checkpoint under results/<profile>/ into store/<profile>/inflight/
(the same relative paths), which is committed with the store; before such a job starts, the
workflow copies its saved checkpoint back (``saved_for`` / ``resume``) where results/ has
none. Nothing here decides what a result is: the attack step checks a checkpoint's
fingerprint (its job's network, images, targets and options) and discards, with a warning,
one that belongs to other inputs, so a stale saved checkpoint costs a restart, never a wrong
result; the training step refuses one written by another training (other data, temperature,
batch size or seed), naming it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cw_distillation import jobs
from cw_distillation.checkpoint import TRAINING_FILE, checkpoint_of
from cw_distillation.files import atomic_path
from cw_distillation.store import rel_path

INFLIGHT = "inflight"
ATTACK_PATTERN = ".*.checkpoint.npz"  # an attack's: beside its output, hidden
TRAINING_PATTERN = f"checkpoints/*/*/{TRAINING_FILE}"


def _output_of(checkpoint: Path) -> Path:
    """The output file of the job a checkpoint belongs to (checkpoint_of's inverse)."""
    if checkpoint.name == TRAINING_FILE:
        network = checkpoint.parent  # checkpoints/<dataset>/<name>/, as checkpoint_of names it
        return network.parents[2] / jobs.path("model", ".keras", dataset=network.parent.name, name=network.name)
    return checkpoint.with_name(checkpoint.name.removeprefix(".").removesuffix(".checkpoint.npz") + ".npz")


def _checkpoints(root: Path) -> list[str]:
    """Relative paths of every attack and training checkpoint under ``root``."""
    found = [*root.rglob(ATTACK_PATTERN), *root.glob(TRAINING_PATTERN)]
    return sorted(p.relative_to(root).as_posix() for p in found if p.is_file())


def save(store: Path, results: Path) -> list[str]:
    """Copy every attack and training checkpoint now under ``results`` into store/inflight/;
    their relative paths. A saved checkpoint whose job has finished here (its output exists)
    is removed; one whose job has not (yet) run here is kept: nothing saved is lost before
    its job resumes."""
    if not results.is_dir():
        raise FileNotFoundError(f"results folder {results} does not exist: no checkpoint to save")
    found = _checkpoints(results)
    target = store / INFLIGHT
    for rel in found:
        with atomic_path(target / rel) as tmp:
            shutil.copyfile(results / rel, tmp)
    if target.is_dir():
        for rel in _checkpoints(target):
            if rel not in found and (results / _output_of(Path(rel))).exists():
                discard(store, results, results / _output_of(Path(rel)))
    return found


def saved_for(store: Path, results: Path, out: Path) -> Path | None:
    """The saved checkpoint of the job writing ``out``, where results/ has none of its own."""
    local = checkpoint_of(out)
    saved = store / INFLIGHT / rel_path(results, local)
    return saved if saved.is_file() and not local.exists() else None


def resume(store: Path, results: Path, out: Path) -> Path | None:
    """Copy the saved checkpoint of the job writing ``out`` beside it; the copy, or None."""
    saved = saved_for(store, results, out)
    if saved is None:
        return None
    local = checkpoint_of(out)
    with atomic_path(local) as tmp:
        shutil.copyfile(saved, tmp)
    return local


def discard(store: Path, results: Path, out: Path) -> bool:
    """Remove the saved checkpoint of the job that wrote ``out`` (it has finished); whether there was one."""
    saved = store / INFLIGHT / rel_path(results, checkpoint_of(out))
    if not saved.is_file():
        return False
    saved.unlink()
    for folder in saved.relative_to(store).parents[:-1]:  # inflight/... up to inflight itself
        path = store / folder
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return True
