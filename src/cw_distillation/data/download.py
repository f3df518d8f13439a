"""Verified download of the official files, or a local mirror of them.

pooch does the transfer, the archive digest and the temp-file-then-rename; we add
fallback URLs, retries with back-off, safe extraction and the payload digests
that are checked whatever the archive's origin. The payloads are staged in a
sibling ``.partial`` folder that is renamed onto the output only when every one
of them is verified, so a failed or interrupted run leaves nothing that looks whole.
"""

from __future__ import annotations

import gzip
import logging
import shutil
import tarfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pooch
import requests

from cw_distillation.data.sources import Archive, DatasetSource, Payload
from cw_distillation.files import CHUNK, disk_full, sha256_file

log = logging.getLogger(__name__)


class ChecksumError(Exception):
    """A file's bytes are not the official ones."""


class DownloadError(Exception):
    """No URL (or mirror) produced a verified file."""


class UnsafeArchiveError(Exception):
    """An archive member would land outside the target folder (or is a link or device)."""


def fetch_dataset(
    source: DatasetSource,
    out_dir: str | Path,
    *,
    mirror: str | Path | None = None,
    retries: int = 3,
    backoff_s: float = 2.0,
    timeout_s: float = 60.0,
    progress: bool = True,
) -> list[Path]:
    """Write every payload of ``source`` into ``out_dir``, verified; return their paths."""
    out = Path(out_dir)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)  # a previous interrupted run restarts cleanly
    staging.mkdir(parents=True)
    try:
        for archive in source.archives:
            if mirror is not None:
                _stage_from_mirror(archive, Path(mirror) / source.name, staging)
            else:
                path = _download_archive(
                    archive,
                    staging / ".archives",
                    retries=retries,
                    backoff_s=backoff_s,
                    timeout_s=timeout_s,
                    progress=progress,
                )
                _extract(archive, path, staging)
        shutil.rmtree(staging / ".archives", ignore_errors=True)
        for payload in source.payloads:
            verify_payload(staging / payload.name, payload)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / p.name for p in source.payloads]


def verify_payload(path: Path, payload: Payload) -> None:
    actual = sha256_file(path)
    if actual != payload.sha256:
        raise ChecksumError(
            f"{payload.name}: SHA-256 mismatch (expected {payload.sha256}, got {actual}, "
            f"{path.stat().st_size} bytes where {payload.size} are expected). The file is "
            "corrupt or not the official one; nothing was written."
        )


def _stage_from_mirror(archive: Archive, folder: Path, staging: Path) -> None:
    """Use the archive if the mirror has it, else the extracted payloads.

    A mirror's archive may be re-wrapped (so its digest differs from the
    publisher's): only the payload digests, checked later, are authoritative.
    """
    if (folder / archive.name).is_file():
        log.info("using mirror archive %s", folder / archive.name)
        _extract(archive, folder / archive.name, staging)
        return
    missing = [p.name for p in archive.payloads if not (folder / p.name).is_file()]
    if missing:
        raise DownloadError(
            f"the mirror {folder} has neither {archive.name} nor the files {', '.join(missing)}; "
            "lay it out like ../shared/datasets/ (see its README)"
        )
    for payload in archive.payloads:
        log.info("using mirror file %s", folder / payload.name)
        shutil.copyfile(folder / payload.name, staging / payload.name)


def _download_archive(
    archive: Archive,
    folder: Path,
    *,
    retries: int,
    backoff_s: float,
    timeout_s: float,
    progress: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    known = f"md5:{archive.md5}" if archive.md5 else None
    tried: list[str] = []
    for url in archive.urls:
        for attempt in range(1, retries + 1):
            try:
                path = pooch.retrieve(
                    url,
                    known_hash=known,
                    fname=archive.name,
                    path=folder,
                    downloader=pooch.HTTPDownloader(progressbar=progress, timeout=timeout_s),
                )
                return Path(path)
            except requests.HTTPError as err:
                status = err.response.status_code if err.response is not None else None
                tried.append(f"{url} (attempt {attempt}: HTTP {status})")
                if status is not None and 400 <= status < 500 and status != 429:
                    break  # the file is not there: another attempt would not change that
            except ValueError as err:  # pooch: digest mismatch (corrupt or truncated transfer)
                tried.append(f"{url} (attempt {attempt}: {_one_line(err)})")
            except (requests.RequestException, OSError) as err:
                full = disk_full(err, getattr(err, "filename", None) or folder / archive.name)
                if full is not None:  # another attempt would not change that
                    raise full from err
                tried.append(f"{url} (attempt {attempt}: {type(err).__name__}: {_one_line(err)})")
            if attempt < retries:
                sleep(backoff_s * 2 ** (attempt - 1))
    raise DownloadError(
        f"could not download a verified {archive.name}. Tried:\n  "
        + "\n  ".join(tried)
        + "\nOn a machine without access to these servers, point the workflow at a local copy "
        "of the official files: make replicate DATA_MIRROR=/path/to/datasets "
        "(or the config key data.mirror); see README."
    )


def _extract(archive: Archive, path: Path, staging: Path) -> None:
    """Decompress ``path`` into ``staging``; DownloadError naming the file if it is corrupt."""
    try:
        _decompress(archive, path, staging)
    except (OSError, EOFError, zlib.error, tarfile.TarError) as err:
        full = disk_full(err, getattr(err, "filename", None) or staging)
        if full is not None:  # the archive is fine: the disk it is extracted to is full
            raise full from err
        raise DownloadError(
            f"{path}: corrupt archive ({type(err).__name__}: {_one_line(err)}); nothing was kept. "
            "If it came from a mirror, replace it there with the official file; a download is "
            "fetched again on the next run"
        ) from err


def _decompress(archive: Archive, path: Path, staging: Path) -> None:
    if archive.kind == "gzip":
        (payload,) = archive.payloads
        with gzip.open(path, "rb") as src, open(staging / payload.name, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
    elif archive.kind == "tar.gz":
        _extract_tar(archive, path, staging)
    else:
        raise ValueError(f"unknown archive kind {archive.kind!r} for {archive.name}")


def _extract_tar(archive: Archive, path: Path, staging: Path) -> None:
    """Extract only the payload members, after refusing any unsafe member.

    Members are read as streams (never written by name), and the whole archive is
    refused if any member would escape the folder: such an archive is not the official one.
    """
    wanted = {f"{archive.member_dir}/{p.name}" if archive.member_dir else p.name: p for p in archive.payloads}
    with tarfile.open(path, "r:gz") as tar:
        members = tar.getmembers()
        for member in members:
            if member.name.startswith("/") or Path(member.name).is_absolute():
                raise UnsafeArchiveError(
                    f"{archive.name}: refusing member {member.name!r} (an absolute path); nothing was extracted"
                )
            try:
                tarfile.data_filter(member, str(staging))
            except tarfile.FilterError as err:
                raise UnsafeArchiveError(
                    f"{archive.name}: refusing member {member.name!r} ({err}); nothing was extracted"
                ) from err
        found = {m.name: m for m in members if m.isfile()}
        for name, payload in wanted.items():
            if name not in found:
                raise DownloadError(f"{archive.name} has no member {name!r}")
            src = tar.extractfile(found[name])
            assert src is not None
            with src, open(staging / payload.name, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())
