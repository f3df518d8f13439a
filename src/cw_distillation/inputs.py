"""A step's input files, checked before it reads them: a file whose bytes differ from its
manifest is refused, and a file that cannot be decoded is named, with what to do.

Both run in ``cli.main``, around every step, so no step needs its own checks.
"""

from __future__ import annotations

import argparse
import gzip
import zipfile
import zlib
from pathlib import Path

from cw_distillation.files import sha256_file
from cw_distillation.provenance import manifest_path, recorded_sha256

# Arguments that name what a step writes, not what it reads.
OUTPUT_ARGS = {"out", "summary", "out_base", "out_dir", "checkpoint_dir", "store", "results"}
OUTPUT_ARGS_OF = {"train": {"metrics"}}  # --metrics is what train writes, and what table-accuracy reads
DECODE_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile)


class TamperedInput(ValueError):
    """An input's bytes differ from the manifest written when it was made."""


def input_files(args: argparse.Namespace) -> list[Path]:
    """Every existing file among the step's arguments, outputs left out."""
    found = []
    outputs = OUTPUT_ARGS | OUTPUT_ARGS_OF.get(getattr(args, "command", ""), set())
    for name, value in vars(args).items():
        if name in outputs or name == "handler":
            continue
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, (str, Path)):
                continue
            path = Path(item)
            try:
                if path.is_file() and not path.name.endswith(".prov.json"):
                    found.append(path)
            except OSError:  # not a path at all (a JSON option, say)
                continue
    return found


def verify(paths: list[Path]) -> None:
    """TamperedInput naming the first input whose SHA-256 is not the one its manifest records."""
    for path in paths:
        recorded = recorded_sha256(path)
        if recorded is None:  # no manifest, or an unreadable one (the audit's to report)
            continue
        manifest = manifest_path(path)
        actual = sha256_file(path)
        if actual != recorded:
            raise TamperedInput(
                f"{path}: its SHA-256 {actual[:12]}... is not the {recorded[:12]}... its manifest {manifest} "
                "records (the file changed after it was made); refusing to read it. Restore it (git checkout, "
                "or delete it and rerun make replicate to remake it)"
            )


def corrupt_input(paths: list[Path]) -> Path | None:
    """The first input that is a damaged zip (.npz, .keras) or gzip file, if any."""
    for path in paths:
        try:
            if zipfile.is_zipfile(path) or path.suffix in (".npz", ".keras"):
                with zipfile.ZipFile(path) as z:
                    if z.testzip() is not None:
                        return path
            elif path.suffix == ".gz":
                with gzip.open(path, "rb") as fh:
                    while fh.read(1 << 20):
                        pass
        except (*DECODE_ERRORS, OSError):
            return path
    return None
