"""One manifest per artifact, and the audit that checks them.

A manifest records how a file was made: its digest, the step (rule, wildcards,
command, resolved parameters), a digest of the config, each input's path and
digest, the code version, software versions, seed, hardware and times. It also
carries the manifests of its inputs (``lineage``, flattened and keyed by digest),
so one manifest alone explains its whole chain back to the downloaded files,
even where the intermediate files are not at hand (committed paper outputs).

Where the manifest lives: ``<artifact>.prov.json`` beside it, except under
``paper_outputs/<profile>/``, where it is ``paper_outputs/<profile>/provenance/<rel>.json``
so that the published folders hold only tables and figures.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from cw_distillation.files import normalize_archive, sha256_any, tree_digests, write_text_atomic

SCHEMA_VERSION = 1
ROOT_STEPS = {"download", "synthesize"}  # steps whose inputs are outside the workflow
SOFTWARE = ("tensorflow", "jax", "keras", "numpy", "scipy", "matplotlib", "snakemake", "cw-distillation")
PROV_DIR = "provenance"


def manifest_path(artifact: str | Path) -> Path:
    path = Path(artifact)
    parts = path.parts
    if "paper_outputs" in parts:
        i = parts.index("paper_outputs")
        if len(parts) > i + 2 and parts[i + 2] != PROV_DIR:
            root = Path(*parts[: i + 2])
            return root / PROV_DIR / (Path(*parts[i + 2 :]).as_posix() + ".json")
    return path.with_name(path.name + ".prov.json")


def is_manifest(path: Path) -> bool:
    return path.name.endswith(".prov.json") or PROV_DIR in path.parts


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_process_start: str | None = None


def mark_start() -> None:
    """Pin what a step's manifests say about its start: the time, and the code (git commit,
    dirty tree). A step builds its record when it finishes, hours later for an attack; a
    commit made meanwhile is not the code that ran."""
    global _process_start
    _process_start = now()
    code_version()


def _started() -> str:
    return _process_start or now()


@functools.cache
def code_version() -> dict[str, Any]:
    """The git commit and whether tracked sources differ from it (outputs excluded: results/,
    paper_outputs/, and store/, which a publishing run fills while it goes)."""

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--", ".", ":(exclude)paper_outputs", ":(exclude)results", ":(exclude)store")
    return {
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
        "package_version": _version("cw-distillation"),
    }


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def software() -> dict[str, str | None]:
    # keras_backend: the framework the step's Keras ran on (config key `backend`)
    return {"python": platform.python_version(), "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
            **{name: _version(name) for name in SOFTWARE}}


@functools.cache
def hardware() -> dict[str, Any]:
    cpu = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = os.environ.get("CW_GPU_NAMES")  # set by device.setup in the steps that run a network
    return {
        "cpu_model": cpu,
        "cpu_threads": os.cpu_count(),
        "machine": platform.machine(),
        "gpu": gpus.split(",") if gpus else [],
        "device": os.environ.get("CW_DEVICE"),  # what the step ran on (None: it ran no network)
        "matmul_precision": os.environ.get("CW_MATMUL_PRECISION"),  # device.setup: TF32 off
    }


@dataclass
class Step:
    """What a command-line step records about itself while it runs."""

    command: str
    params: dict[str, Any]
    inputs: list[Path]
    rule: str | None = None
    wildcards: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    determinism: bool | None = None
    started: str = field(default_factory=_started)
    notes: dict[str, Any] = field(default_factory=dict)


def write_manifest(artifact: str | Path, step: Step) -> Path:
    """Record ``artifact`` (a file or a folder) as made by ``step``.

    A .keras or .npz file is first rewritten without wall-clock stamps (``normalize_archive``),
    so that the SHA-256 recorded here depends on its content alone.
    """
    artifact = Path(artifact)
    normalize_archive(artifact)
    inputs, lineage = [], {}
    for path in step.inputs:
        digest = sha256_any(path)
        inputs.append({"path": _portable(path), "sha256": digest})
        upstream = read_manifest(path)
        if upstream is not None:
            lineage.update(upstream.pop("lineage", {}))
            lineage[digest] = upstream
    record: dict[str, Any] = {"path": artifact.as_posix(), "sha256": sha256_any(artifact), "kind": "file"}
    if artifact.is_dir():
        record.update(kind="folder", files=tree_digests(artifact))
    manifest = {
        "schema": SCHEMA_VERSION,
        "artifact": record,
        "step": {
            "command": step.command,
            "rule": step.rule,
            "wildcards": step.wildcards,
            "params": step.params,
            "notes": step.notes,
        },
        "config_digest": os.environ.get("CW_CONFIG_DIGEST"),
        "profile": os.environ.get("CW_PROFILE"),
        "inputs": inputs,
        "code": code_version(),
        "software": software(),
        "seed": step.seed,
        "op_determinism": step.determinism,
        "hardware": hardware(),
        "started": step.started,
        "ended": now(),
        "lineage": lineage,
    }
    path = manifest_path(artifact)
    write_text_atomic(path, json.dumps(manifest, indent=1, sort_keys=True, default=str) + "\n")
    return path


def _portable(path: str | Path) -> str:
    """Relative to the working directory where it lies inside it (the repository, for a normal run)."""
    path = Path(path)
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def is_code(path: str) -> bool:
    """Source code or the package's own data read as an input (plotting and report modules, the
    paper's reference values): a leaf of the chain, with no manifest of its own."""
    p = PurePosixPath(path)
    return p.suffix == ".py" or (p.suffix == ".yaml" and "cw_distillation" in p.parts)


def read_manifest(artifact: str | Path) -> dict | None:
    path = manifest_path(artifact)
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def recorded_sha256(artifact: str | Path) -> str | None:
    """The SHA-256 the artifact's manifest records, or None (no manifest, or an unreadable one)."""
    try:
        return json.loads(manifest_path(artifact).read_text())["artifact"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def config_digest(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


# ----------------------------------------------------------------------------- audit


@dataclass
class Finding:
    kind: str  # changed | missing | stale | missing-input | unrecorded | broken-chain
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.upper():14s} {self.path}: {self.detail}"


# Like logs, the benchmark files of Snakemake's benchmark: directive record what a job cost, not
# what it made: the audit does not ask for their manifests.
BENCHMARKS_DIR = "benchmarks"


def is_benchmark(path: str | Path) -> bool:
    """A file written by Snakemake's benchmark: directive (results/<profile>/benchmarks/*.tsv)."""
    return BENCHMARKS_DIR in Path(path).parts


def _manifests_under(root: Path) -> list[Path]:
    found = set(root.rglob("*.prov.json"))
    found |= {p for p in root.rglob("*.json") if PROV_DIR in p.relative_to(root).parts}
    return sorted(found)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def project_base(root: Path, recorded: Path) -> Path:
    """The folder the manifests' relative paths are relative to (the working directory of the
    run that wrote them), found from ``root`` and one recorded artifact path, so that an
    audit gives the same answer from any current directory."""
    if recorded.is_absolute():
        return Path("/")
    top = recorded.parts[0]  # "results" or "paper_outputs"
    for candidate in (root.resolve(), *root.resolve().parents):
        if candidate.name == top:
            return candidate.parent
    return Path.cwd()


def _at(base: Path | None, path: Path) -> Path:
    return path if path.is_absolute() or base is None else base / path


def audit(root: str | Path) -> tuple[list[Finding], int]:
    """Check every artifact under ``root`` against its manifest; return (problems, artifacts checked).

    changed: the artifact's bytes differ from its manifest. missing: a manifest
    whose artifact is gone. stale: an input present on disk differs from the one
    the artifact was made from. missing-input: an input inside ``root`` is gone.
    unrecorded: a file under ``root`` that no manifest describes. broken-chain:
    an input with no recorded manifest that is not a downloaded file.
    Inputs outside ``root`` that are absent (results/ beside a committed
    paper_outputs/) cannot be re-hashed; their recorded lineage is still walked.
    """
    root = Path(root)
    if not root.exists():
        return [Finding("missing", root.as_posix(), "the folder does not exist")], 0
    findings: list[Finding] = []
    described: set[Path] = set()
    hashes: dict[Path, str] = {}

    def digest(p: Path) -> str:
        key = p.resolve()
        if key not in hashes:
            hashes[key] = sha256_any(p)
        return hashes[key]

    manifests = _manifests_under(root)
    base: Path | None = None
    for mpath in manifests:
        try:
            data = json.loads(mpath.read_text())
            recorded = Path(data["artifact"]["path"])
        except (OSError, ValueError, KeyError) as err:
            findings.append(Finding("changed", mpath.as_posix(), f"unreadable manifest ({err})"))
            continue
        if base is None:
            base = project_base(root, recorded)
        artifact = _at(base, recorded)
        described.add(artifact.resolve())
        if artifact.is_dir():
            described.update(p.resolve() for p in artifact.rglob("*"))
        if not artifact.exists():
            findings.append(Finding("missing", recorded.as_posix(), f"recorded in {mpath} but not on disk"))
            continue
        actual = digest(artifact)
        if actual != data["artifact"]["sha256"]:
            findings.append(Finding("changed", recorded.as_posix(), _what_changed(artifact, data["artifact"], actual)))
        for item in data.get("inputs", []):
            ipath = _at(base, Path(item["path"]))
            if ipath.exists():
                if digest(ipath) != item["sha256"]:
                    findings.append(
                        Finding(
                            "stale",
                            recorded.as_posix(),
                            f"its input {item['path']} has changed since it was made; rerun the workflow",
                        )
                    )
            elif _inside(ipath, root):
                findings.append(Finding("missing-input", recorded.as_posix(), f"its input {item['path']} is gone"))
        findings.extend(_chain_problems(recorded, data))
    for path in sorted(root.rglob("*")):
        if (
            path.is_file()
            and not is_manifest(path.relative_to(root))
            and path.resolve() not in described
            and not path.name.startswith(".")
            and path.suffix != ".log"
            and not is_benchmark(path.relative_to(root))
        ):
            findings.append(Finding("unrecorded", path.as_posix(), "no manifest describes this file"))
    return findings, len(manifests)


def _what_changed(artifact: Path, record: dict, actual: str) -> str:
    if record.get("kind") == "folder" and "files" in record:
        now_files = tree_digests(artifact)
        names = sorted(n for n in set(now_files) | set(record["files"]) if now_files.get(n) != record["files"].get(n))
        return "files changed, added or removed since it was made: " + ", ".join(names)
    return f"SHA-256 {actual[:16]}... differs from the recorded {record['sha256'][:16]}..."


def _chain_problems(artifact: Path, data: dict) -> list[Finding]:
    """Walk the recorded lineage back to the downloads; name any link that is not recorded."""
    lineage = data.get("lineage", {})
    problems, seen = [], set()
    todo = [data]
    while todo:
        node = todo.pop()
        if node["step"]["command"] in ROOT_STEPS:
            continue
        for item in node.get("inputs", []):
            if item["sha256"] in seen:
                continue
            seen.add(item["sha256"])
            upstream = lineage.get(item["sha256"])
            if upstream is None and (is_code(item["path"]) or is_benchmark(item["path"])):
                continue  # leaves: source code, and Snakemake's timing records (a job-time table's inputs)
            if upstream is None:
                problems.append(
                    Finding("broken-chain", artifact.as_posix(), f"input {item['path']} has no recorded provenance")
                )
            else:
                todo.append(upstream)
    return problems


def explain(artifact: str | Path) -> str:
    """A readable account of the chain of steps that made ``artifact``."""
    data = read_manifest(artifact)
    if data is None:
        raise FileNotFoundError(f"no provenance manifest for {artifact} (looked for {manifest_path(artifact)})")
    lineage = data.get("lineage", {})
    lines = [
        f"{data['artifact']['path']}  sha256 {data['artifact']['sha256']}",
        f"  profile {data.get('profile')}  config digest {str(data.get('config_digest'))[:16]}",
        f"  code {data['code'].get('git_commit')} (dirty: {data['code'].get('git_dirty')})  "
        f"software {', '.join(f'{k} {v}' for k, v in data['software'].items() if v)}",
        f"  hardware {data['hardware'].get('cpu_model')} x{data['hardware'].get('cpu_threads')}"
        f"{'  GPU ' + ', '.join(data['hardware']['gpu']) if data['hardware'].get('gpu') else ''}",
        "",
        "made by, newest step first:",
    ]
    seen: set[str] = set()

    def visit(node: dict, depth: int) -> None:
        pad = "  " * depth
        step = node["step"]
        wild = ", ".join(f"{k}={v}" for k, v in step.get("wildcards", {}).items())
        lines.append(f"{pad}- {node['artifact']['path']}  [{node['artifact']['sha256'][:12]}]")
        lines.append(
            f"{pad}    step: cw-distillation {step['command']}"
            f"{'  (rule ' + step['rule'] + (': ' + wild if wild else '') + ')' if step.get('rule') else ''}"
        )
        params = {k: v for k, v in step.get("params", {}).items() if v is not None}
        if params:
            lines.append(f"{pad}    params: {json.dumps(params, sort_keys=True, default=str)}")
        if node.get("seed") is not None:
            lines.append(f"{pad}    seed {node['seed']}, op determinism {node.get('op_determinism')}")
        lines.append(f"{pad}    ran {node.get('started')} .. {node.get('ended')}")
        for item in node.get("inputs", []):
            upstream = lineage.get(item["sha256"])
            if upstream is None:
                kind = "source code" if is_code(item["path"]) else "outside the workflow"
                lines.append(f"{pad}  - {item['path']}  [{item['sha256'][:12]}]  ({kind})")
            elif item["sha256"] in seen:
                lines.append(f"{pad}  - {item['path']}  [{item['sha256'][:12]}]  (shown above)")
            else:
                seen.add(item["sha256"])
                visit(upstream, depth + 1)

    visit(data, 0)
    return "\n".join(lines)
