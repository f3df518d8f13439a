"""Checkpoints of a long attack: its state written atomically every few minutes, so that a
killed job resumes where it was and ends with the result of an uninterrupted run.

A checkpoint holds named numpy arrays and the job's fingerprint (a digest of its inputs and
settings). One that cannot be read, or that another job wrote, is named in one line and
discarded: the job then starts cleanly, never stuck on a traceback.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from cw_distillation.files import atomic_path

TRAINING_FILE = "checkpoint.npz"  # a training job's, in the --checkpoint-dir its rule passes


def attack_checkpoint(out: str | Path) -> Path:
    """Where the attack job writing ``out`` keeps its checkpoint: beside it, hidden."""
    out = Path(out)
    return out.with_name(f".{out.stem}.checkpoint.npz")


def checkpoint_of(out: str | Path) -> Path:
    """Where the job writing ``out`` keeps its checkpoint: a network's (models/<dataset>/<name>.keras)
    in checkpoints/<dataset>/<name>/, as the training rules pass it; an attack's beside its result."""
    out = Path(out)
    if out.suffix == ".keras":
        return out.parents[2] / "checkpoints" / out.parent.name / out.stem / TRAINING_FILE
    return attack_checkpoint(out)

log = logging.getLogger("cw_distillation")


def fingerprint(*parts: Any) -> str:
    """A digest of a job's inputs: arrays by their bytes, shape and dtype; the rest as JSON."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            a = np.ascontiguousarray(part)
            digest.update(f"{a.shape} {a.dtype.str}".encode())
            digest.update(a.data.cast("B"))  # a.data is memoryview(a)
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class Checkpoint:
    """One job's checkpoint file.

    path: where it lives (beside the job's output); fingerprint: the job's identity;
    every_s: seconds between saves (``due``).
    """

    def __init__(self, path: str | Path, fingerprint: str, every_s: float = 300.0) -> None:
        self.path, self.fingerprint, self.every_s = Path(path), fingerprint, every_s
        self.last = time.monotonic()
        self.saves = 0

    def load(self, discard: bool = True) -> dict[str, np.ndarray] | None:
        """The saved arrays, or None (no checkpoint; or a damaged or foreign one, discarded
        unless ``discard`` is off: a reader that only looks at it must not lose it)."""
        if not self.path.exists():
            return None
        outcome, then = ("discarding", "starting over") if discard else ("ignoring", "left as it is")
        try:
            with np.load(self.path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            written_for = str(arrays.pop("__fingerprint__"))
        except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as err:
            log.warning("%s unreadable checkpoint %s (%s: %s); %s", outcome, self.path, type(err).__name__, err, then)
            if discard:
                self.clear()
            return None
        if written_for != self.fingerprint:
            log.warning("%s checkpoint %s: written by another job (other inputs or settings); %s", outcome,
                        self.path, then)
            if discard:
                self.clear()
            return None
        log.info("%s checkpoint %s", "resuming from" if discard else "read", self.path)
        return arrays

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s

    def save(self, arrays: dict[str, np.ndarray]) -> None:
        with atomic_path(self.path) as tmp, open(tmp, "wb") as fh:
            # numpy's stub lets **arrays fill savez's allow_pickle: bool, which no array name is
            np.savez(fh, __fingerprint__=np.array(self.fingerprint), **arrays)  # type: ignore[arg-type]
        self.last = time.monotonic()
        self.saves += 1
        log.info("checkpoint %d written: %s", self.saves, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
