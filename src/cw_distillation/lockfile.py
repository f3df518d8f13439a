"""The lock file: every package the project installs, at one version, with hashes.

``pyproject.toml`` pins the ~17 packages the numbers depend on; the ~90 others they pull in
(h5py, protobuf, ml_dtypes, optree, ...) are pinned only here. ``make`` installs from this file
(``pip install --require-hashes -r requirements.lock``, then the project without dependencies);
``make lock`` regenerates it with uv. Each manifest records the lock's SHA-256 and whether the
running environment holds exactly its versions, so a result made outside it says so.
"""

from __future__ import annotations

import functools
import hashlib
import re
from importlib import metadata
from pathlib import Path

LOCK = "requirements.lock"
REPO = Path(__file__).resolve().parents[2]  # src/cw_distillation/ -> the repository (editable install)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, tuple[str, str | None]]:
    """name -> (version, environment marker or None) for every ``name==version`` line of a lock."""
    found = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            found[canonical(match[1])] = (match[2], match[3])
    return found


def _applies(marker: str | None) -> bool:
    """Whether a pin's environment marker holds here (the lock's markers name platforms only)."""
    if not marker:
        return True
    try:
        from packaging.markers import Marker
    except ImportError:  # packaging comes with pip and setuptools; without it, count the pin
        return True
    return Marker(marker).evaluate()


def differences(path: Path) -> list[str]:
    """``name: locked X, installed Y`` for each pin of the lock that applies here and that the
    running environment does not hold at that version (``installed none`` when absent)."""
    out = []
    for name, (version, marker) in sorted(pins(path).items()):
        if not _applies(marker):
            continue
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = "none"
        if have != version:
            out.append(f"{name}: locked {version}, installed {have}")
    return out


@functools.cache
def record(root: str = str(REPO)) -> dict[str, object] | None:
    """What a manifest says of the environment: the lock's path and SHA-256, and the pins the
    running environment differs from (empty: it holds exactly the locked set). None without a
    lock (a copy of the package installed outside its repository)."""
    path = Path(root) / LOCK
    if not path.is_file():
        return None
    return {"lock": LOCK, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "differs": differences(path)}
