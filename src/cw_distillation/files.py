"""Hashing and atomic writes: no half-written file ever looks whole."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 20
# Archives a step publishes: zips whose writers stamp the wall clock into entry times (numpy's
# savez, Keras) and, for Keras, into metadata.json's "date_saved". Fixed, the same content
# gives the same bytes, so a rerun from the same seed has the same SHA-256.
ARCHIVE_SUFFIXES = (".keras", ".npz")
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
VOLATILE_JSON_KEYS = {"metadata.json": ("date_saved",)}


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_digests(path: str | Path) -> dict[str, str]:
    """Each visible file's relative name and SHA-256."""
    root = Path(path)
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and not _hidden(p.relative_to(root))]
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in files}


def sha256_tree(path: str | Path) -> str:
    """Digest of a directory: its files' relative names and digests, sorted.

    Hidden files are left out: Snakemake writes a ``.snakemake_timestamp`` into
    folder outputs after the step has finished.
    """
    lines = [f"{name} {digest}\n" for name, digest in tree_digests(path).items()]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def sha256_any(path: str | Path) -> str:
    return sha256_tree(path) if Path(path).is_dir() else sha256_file(path)


# A full disk, or a full quota: what a write can fail with that deleting something fixes.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class DiskFull(OSError):
    """No space left while writing a file: one line naming the file (the step's error message)."""

    def __init__(self, code: int, target: Path) -> None:
        super().__init__(code, os.strerror(code), str(target))

    def __str__(self) -> str:
        code = errno.errorcode.get(self.errno, self.errno) if self.errno is not None else "ENOSPC"
        return (f"{self.filename}: no space left on the device ({code}) "
                "while writing it; nothing half-written was kept. Free some space and rerun")


def disk_full(err: BaseException, target: str | Path) -> DiskFull | None:
    """``err`` as a DiskFull naming ``target`` where it is a full disk or quota, else None."""
    if isinstance(err, DiskFull):
        return err
    if isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS:
        return DiskFull(err.errno, Path(target))
    return None


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary name keeps the suffix so that writers that dispatch on it
    (``.npz``, ``.keras``, ``.pdf``) still work. A full disk while writing it raises DiskFull,
    which names ``path``.
    """
    target = Path(path)
    tmp_path = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix or ".tmp", dir=target.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp's 0600 would surprise whoever shares the results
        yield tmp_path
        os.replace(tmp_path, target)
    except OSError as err:
        full = disk_full(err, target)
        if full is None or full is err:
            raise
        raise full from err
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def normalize_archive(path: str | Path) -> bool:
    """Rewrite a published .keras / .npz zip without wall-clock stamps; True if it was one.

    Members keep their order, names, bytes and compression; every entry time becomes
    1980-01-01 and VOLATILE_JSON_KEYS are dropped. Loading is unaffected (Keras reads only
    keras_version from metadata.json; numpy reads no times). Idempotent, and atomic: a
    failure leaves the original file.
    """
    path = Path(path)
    if path.suffix not in ARCHIVE_SUFFIXES or not path.is_file() or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as dst:
        for info, data in members:
            if info.filename in VOLATILE_JSON_KEYS:
                meta = json.loads(data)
                for key in VOLATILE_JSON_KEYS[info.filename]:
                    meta.pop(key, None)
                data = json.dumps(meta, sort_keys=True).encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = info.compress_type
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, data)
    return True


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def jsonable(value):
    """NaN and infinities as null (JSON has no NaN); numpy scalars as Python numbers."""
    import math

    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
