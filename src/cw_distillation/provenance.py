"""One manifest per artifact, and the audit that checks them.

A manifest records how a file was made: its digest, the step (rule, wildcards,
command, resolved parameters), a digest of the config, each input's path and
digest, the code version, software versions, seed, hardware and times. Every path
is relative to the repository, so a manifest names no machine. It also carries the
manifests of its inputs (``lineage``, flattened and keyed by digest), so one manifest
explains its whole chain back to the downloaded files, even where the intermediate
files are not at hand (committed paper outputs). Under ``paper_outputs/`` the lineage
is referenced: each node is stored once in ``provenance/lineage/<SHA-256 of its text>.json``.

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
import posixpath
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from cw_distillation import lockfile
from cw_distillation.files import normalize_archive, sha256_any, tree_digests, write_text_atomic

SCHEMA_VERSION = 2  # 2: paths relative to the repository; lineage referenced under paper_outputs/
ROOT_STEPS = {"download", "synthesize"}  # steps whose inputs are outside the workflow
SOFTWARE = ("tensorflow", "jax", "keras", "numpy", "scipy", "matplotlib", "snakemake", "cw-distillation")
PROV_DIR = "provenance"
LINEAGE_DIR = "lineage"  # under PROV_DIR: the nodes its manifests reference, by SHA-256


def manifest_path(artifact: str | Path) -> Path:
    path = Path(artifact)
    parts = path.parts
    if "paper_outputs" in parts:
        i = parts.index("paper_outputs")
        if len(parts) > i + 2 and parts[i + 2] != PROV_DIR:
            root = Path(*parts[: i + 2])
            return root / PROV_DIR / (Path(*parts[i + 2 :]).as_posix() + ".json")
    return path.with_name(path.name + ".prov.json")


def artifact_of(manifest: Path) -> Path:
    """The artifact a manifest describes, by where the manifest lies (manifest_path, inverted)."""
    if manifest.name.endswith(".prov.json"):
        return manifest.with_name(manifest.name.removesuffix(".prov.json"))
    parts = manifest.parts
    i = max(k for k in range(2, len(parts)) if parts[k] == PROV_DIR and parts[k - 2] == "paper_outputs")
    return Path(*parts[:i], *parts[i + 1 :]).with_suffix("")


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
    so that the SHA-256 recorded here depends on its content alone. Every path is recorded
    relative to the repository (:func:`portable`), so that a manifest names no machine.
    """
    artifact = Path(artifact)
    normalize_archive(artifact)
    inputs, lineage = [], {}
    for path in step.inputs:
        digest = sha256_any(code_that_ran(path))
        inputs.append({"path": portable(path), "sha256": digest})
        if manifest_path(path).is_file():
            upstream = relativized(load(manifest_path(path)), Path.cwd())
            lineage.update(upstream.pop("lineage", {}))
            lineage[digest] = upstream
    record: dict[str, Any] = {"path": portable(artifact), "sha256": sha256_any(artifact), "kind": "file"}
    if artifact.is_dir():
        record.update(kind="folder", files=tree_digests(artifact))
    mirror = os.environ.get("CW_DATA_MIRROR")
    manifest = {
        "schema": SCHEMA_VERSION,
        "artifact": record,
        "step": {
            "command": step.command,
            "rule": step.rule,
            "wildcards": step.wildcards,
            "params": _portable_values(step.params, Path.cwd()),
            "notes": _portable_values(step.notes, Path.cwd()),
        },
        "config_digest": os.environ.get("CW_CONFIG_DIGEST"),
        "data_mirror": portable(mirror) if mirror else None,
        "profile": os.environ.get("CW_PROFILE"),
        "inputs": inputs,
        "code": code_version(),
        "software": software(),
        "environment": lockfile.record(),
        "seed": step.seed,
        "op_determinism": step.determinism,
        "hardware": hardware(),
        "started": step.started,
        "ended": now(),
        "lineage": lineage,
    }
    path = manifest_path(artifact)
    write(path, manifest)
    return path


# ----------------------------------------------------------------------------- paths


CODE_MARKER = "src/cw_distillation/"


def code_path(path: str | Path) -> str | None:
    """``src/cw_distillation/<file>`` for a file of the package's source, whatever path a run
    named it by (a Snakemake source-cache copy, an absolute path in some clone); else None."""
    norm = posixpath.normpath(Path(path).as_posix())
    if norm.startswith(CODE_MARKER):
        return norm
    i = norm.rfind("/" + CODE_MARKER)
    return norm[i + 1 :] if i >= 0 else None


def code_that_ran(path: str | Path) -> Path:
    """The file to hash for an input: itself, but for a code file that Snakemake names by the copy
    in its source cache (made when the run started), the package's own file, which is what the step
    imported: a module edited during a run runs in its new form, and its manifest must say so."""
    path = Path(path)
    code = code_path(path) if is_code(path.as_posix()) else None
    if code is None or path.resolve().is_relative_to(Path.cwd().resolve()):
        return path
    imported = Path(__file__).parent / code.removeprefix(CODE_MARKER)
    return imported if imported.is_file() else path


def portable(path: str | Path, repo: Path | None = None) -> str:
    """How a manifest names a path: code as ``src/cw_distillation/...``, anything else relative
    to the repository (``repo``, by default the run's working directory), with ``..`` for a
    data mirror outside it, so that no manifest names the machine that made it."""
    text = Path(path).as_posix()
    code = code_path(text) if is_code(text) else None
    if code is not None:
        return code
    if not os.path.isabs(text):
        return text
    return Path(os.path.relpath(text, repo or Path.cwd())).as_posix()


def _portable_values(value: Any, repo: Path) -> Any:
    """``value`` (a step's params or notes) with every absolute path in it made portable."""
    if isinstance(value, dict):
        return {k: _portable_values(v, repo) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable_values(v, repo) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return portable(value, repo)
    return value


def relativized(node: dict, repo: Path) -> dict:
    """A (resolved) manifest with every path in it, and in its lineage, made portable; the
    digests, and so the results it describes, untouched."""
    out = {**node, "artifact": {**node["artifact"], "path": portable(node["artifact"]["path"], repo)}}
    out["inputs"] = [{**item, "path": portable(item["path"], repo)} for item in node.get("inputs", [])]
    out["step"] = {**node["step"], **{k: _portable_values(node["step"][k], repo)
                                      for k in ("params", "notes") if k in node["step"]}}
    if node.get("data_mirror"):
        out["data_mirror"] = portable(node["data_mirror"], repo)
    if "lineage" in node:
        out["lineage"] = {digest: relativized(up, repo) for digest, up in node["lineage"].items()}
    return out


# ----------------------------------------------------------------------------- reading and writing


class ManifestError(ValueError):
    """A file that should be a provenance manifest (or a lineage node) and is not one."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def lineage_dir(manifest: Path) -> Path | None:
    """Where the lineage nodes a manifest references live: ``paper_outputs/<profile>/provenance/lineage/``
    for a published output's manifest; None for a ``.prov.json`` beside its file, which embeds
    its lineage so that a store entry (a file and its manifest) travels whole."""
    parts = manifest.parts
    if "paper_outputs" not in parts:
        return None
    i = parts.index("paper_outputs")
    if len(parts) > i + 3 and parts[i + 2] == PROV_DIR:
        return Path(*parts[: i + 3]) / LINEAGE_DIR
    return None


def _node_text(node: dict) -> str:
    return json.dumps(node, indent=1, sort_keys=True, default=str) + "\n"


def write(path: Path, manifest: dict) -> None:
    """Write a resolved manifest at ``path``: where the folder keeps lineage nodes, each node is
    written once, named by the SHA-256 of its text, and the manifest references it."""
    nodes = lineage_dir(path)
    if nodes is not None:
        refs = {}
        for digest, node in manifest.get("lineage", {}).items():
            text = _node_text(node)
            refs[digest] = hashlib.sha256(text.encode()).hexdigest()
            target = nodes / f"{refs[digest]}.json"
            if not target.is_file():
                write_text_atomic(target, text)
        manifest = {**manifest, "lineage": refs}
    write_text_atomic(path, _node_text(manifest))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise ManifestError(path, f"cannot be read ({err.strerror or err})") from None
    except ValueError as err:
        raise ManifestError(path, f"not JSON ({err})") from None


def _check_shape(data: Any, path: Path) -> None:
    """ManifestError unless ``data`` has what every reader of a manifest relies on."""
    if not isinstance(data, dict):
        raise ManifestError(path, f"not a provenance manifest (a JSON {type(data).__name__}, not an object)")
    for key, needed in (("artifact", ("path", "sha256")), ("step", ("command",))):
        part = data.get(key)
        if not isinstance(part, dict) or any(k not in part for k in needed):
            raise ManifestError(path, f"not a provenance manifest (no '{key}' with {', '.join(needed)})")
    inputs = data.get("inputs", [])
    if not isinstance(inputs, list) or any(not isinstance(i, dict) or {"path", "sha256"} - set(i) for i in inputs):
        raise ManifestError(path, "not a provenance manifest ('inputs' is not a list of path and sha256)")
    if not isinstance(data.get("lineage", {}), dict):
        raise ManifestError(path, "not a provenance manifest ('lineage' is not an object)")


def _node(ref: str, nodes: Path | None, manifest: Path) -> dict:
    """The lineage node ``ref`` names, checked against its name."""
    if nodes is None:
        raise ManifestError(manifest, f"references lineage node {ref[:12]}... but keeps no lineage folder")
    path = nodes / f"{ref}.json"
    if not path.is_file():
        raise ManifestError(path, f"lineage node referenced by {manifest} is missing")
    text = path.read_text()
    if hashlib.sha256(text.encode()).hexdigest() != ref:
        raise ManifestError(path, "lineage node whose SHA-256 is not its name (edited after it was written)")
    node = _read_json(path)
    _check_shape(node, path)
    return node


def load(path: str | Path) -> dict:
    """The manifest at ``path``, checked, with its lineage resolved (each reference replaced by
    the node it names; an embedded lineage, the older form, as it is). ManifestError naming the
    file where it is not a manifest."""
    path = Path(path)
    data = _read_json(path)
    _check_shape(data, path)
    lineage = {}
    for digest, node in data.get("lineage", {}).items():
        if isinstance(node, str):
            node = _node(node, lineage_dir(path), path)
        else:
            _check_shape(node, path)
        lineage[digest] = node
    return {**data, "lineage": lineage}


def is_code(path: str) -> bool:
    """Source code or the package's own data read as an input (plotting and report modules, the
    paper's reference values): a leaf of the chain, with no manifest of its own."""
    p = PurePosixPath(path)
    return p.suffix == ".py" or (p.suffix == ".yaml" and "cw_distillation" in p.parts)


def read_manifest(artifact: str | Path) -> dict | None:
    """The artifact's manifest, resolved (:func:`load`), or None where it has none."""
    path = manifest_path(artifact)
    return load(path) if path.is_file() else None


def recorded_sha256(artifact: str | Path) -> str | None:
    """The SHA-256 the artifact's manifest records, or None (no manifest, or an unreadable one)."""
    try:
        return json.loads(manifest_path(artifact).read_text())["artifact"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def config_digest(config: dict) -> str:
    """SHA-256 of the settings. The data mirror is left out: it is one machine's choice (the
    downloaded files are checked against the official digests), recorded beside the digest."""
    data = {k: v for k, v in (config.get("data") or {}).items() if k != "mirror"}
    settings = {**config, "data": data} if "data" in config else config
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


# ----------------------------------------------------------------------------- audit


@dataclass
class Finding:
    kind: str  # changed | missing | stale | missing-input | unrecorded | broken-chain
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.upper():14s} {self.path}: {self.detail}"


# Like logs, the benchmark files of Snakemake's benchmark: directive record what a job cost, not
# what it made: the audit does not ask for their manifests. Nor does it hold a job-time table
# (table-job-times) to the benchmark files it was made from: the table is a record of one run's
# cost (the committed paper_outputs/quick/tables/job_times.* of the run that made that profile's
# outputs), and every later run rewrites those files by design, with its own wall-clock times,
# while its results stay the same. Their digests stay in the manifest, which says which run it was;
# where the files now differ, the audit says so in a note, not a finding.
BENCHMARKS_DIR = "benchmarks"


def is_benchmark(path: str | Path) -> bool:
    """A file written by Snakemake's benchmark: directive (results/<profile>/benchmarks/*.tsv)."""
    return BENCHMARKS_DIR in Path(path).parts


def _manifests_under(root: Path) -> list[Path]:
    """Every manifest under ``root`` (the lineage nodes they reference left out)."""
    found = set(root.rglob("*.prov.json"))
    found |= {p for p in root.rglob("*.json") if PROV_DIR in p.relative_to(root).parts}
    return sorted(p for p in found if not _is_node(p))


def _is_node(path: Path) -> bool:
    return path.parent.name == LINEAGE_DIR and path.parent.parent.name == PROV_DIR


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


def code_file(source: str, base: Path) -> Path:
    """Where the code file ``source`` (``src/cw_distillation/...``) is now: in the checkout that
    holds the audited folder, else in the package that runs (a copied folder, an installed package)."""
    if (base / CODE_MARKER).is_dir():
        return base / source
    return Path(__file__).resolve().parent / source.removeprefix(CODE_MARKER)


def audit(root: str | Path, notes: list[str] | None = None) -> tuple[list[Finding], int]:
    """Check every artifact under ``root`` against its manifest; return (problems, artifacts checked).
    ``notes``, where given, gets what is worth saying but is no problem (a job-time table of an
    earlier run than the benchmark files now on disk: see BENCHMARKS_DIR).

    changed: the artifact's bytes differ from its manifest. missing: a manifest
    whose artifact is gone. stale: an input present on disk differs from the one
    the artifact was made from. missing-input: an input inside ``root`` is gone.
    stale-code / missing-code: a source file a manifest names differs now, or is gone
    (once per file). unrecorded: a file under ``root`` that no manifest describes.
    broken-chain: an input with no recorded manifest that is not a downloaded file.
    unreadable: a manifest that is not one. Inputs outside ``root`` that are absent
    (results/ beside a committed paper_outputs/) cannot be re-hashed; their recorded
    lineage is still walked.
    """
    root = Path(root)
    if not root.exists():
        return [Finding("missing", root.as_posix(), "the folder does not exist")], 0
    findings: list[Finding] = []
    described: set[Path] = set()
    code: dict[tuple[str, str], list[str]] = {}  # (source file, recorded digest) -> artifacts made with it
    hashes: dict[Path, str] = {}
    rewritten: dict[str, list[str]] = {}  # a job-time table -> its benchmark files rewritten since

    def digest(p: Path) -> str:
        key = p.resolve()
        if key not in hashes:
            hashes[key] = sha256_any(p)
        return hashes[key]

    manifests = _manifests_under(root)
    base: Path | None = None
    for mpath in manifests:
        try:
            data = load(mpath)
        except ManifestError as err:
            findings.append(Finding("unreadable", err.path.as_posix(), err.reason))
            described.add(artifact_of(mpath).resolve())  # named once, as its manifest
            continue
        recorded = Path(data["artifact"]["path"])
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
            source = code_path(item["path"]) if is_code(item["path"]) else None
            if source is not None:
                code.setdefault((source, item["sha256"]), []).append(recorded.as_posix())
                continue
            ipath = _at(base, Path(item["path"]))
            if is_benchmark(item["path"]):
                if ipath.is_file() and digest(ipath) != item["sha256"]:
                    rewritten.setdefault(recorded.as_posix(), []).append(item["path"])
                continue
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
    findings.extend(_code_problems(code, base or Path.cwd(), digest))
    if notes is not None:
        notes += [f"{made}: a record of an earlier run's job times ({len(files)} of its benchmark files, e.g. "
                  f"{files[0]}, were rewritten by a later run); make job-times remakes it from the last run"
                  for made, files in sorted(rewritten.items())]
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


def _code_problems(code: dict[tuple[str, str], list[str]], base: Path, digest: Any) -> list[Finding]:
    """One finding per source file that differs from, or is gone since, the version recorded."""
    problems, gone = [], set()
    for (source, recorded), made in sorted(code.items()):
        path = code_file(source, base)
        uses = f"{len(made)} artifact(s) made with it, e.g. {made[0]}"
        if not path.is_file():
            if source not in gone:
                problems.append(Finding("missing-code", source, f"no longer exists ({uses})"))
            gone.add(source)
        elif digest(path) != recorded:
            problems.append(Finding("stale-code", source, f"made by {recorded[:8]}, now {digest(path)[:8]} ({uses})"))
    return problems


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


def explain(artifact: str | Path, depth: int | None = None) -> str:
    """A readable account of the chain of steps that made ``artifact``, ``depth`` steps back
    (None: back to the downloads)."""
    data = read_manifest(artifact)
    if data is None:
        raise FileNotFoundError(f"no provenance manifest for {artifact} (looked for {manifest_path(artifact)})")
    lineage = data["lineage"]
    code, hw = data.get("code") or {}, data.get("hardware") or {}
    lines = [
        f"{data['artifact']['path']}  sha256 {data['artifact']['sha256']}",
        f"  profile {data.get('profile')}  config digest {str(data.get('config_digest'))[:16]}"
        f"{'  data mirror ' + data['data_mirror'] if data.get('data_mirror') else ''}",
        f"  code {code.get('git_commit')} (dirty: {code.get('git_dirty')})  "
        f"software {', '.join(f'{k} {v}' for k, v in (data.get('software') or {}).items() if v)}",
        f"  hardware {hw.get('cpu_model')} x{hw.get('cpu_threads')}"
        f"{'  GPU ' + ', '.join(hw['gpu']) if hw.get('gpu') else ''}",
        "",
        "made by, newest step first:",
    ]
    seen: set[str] = set()

    def visit(node: dict, level: int) -> None:
        pad = "  " * level
        lines.extend(pad + line for line in _step_lines(node))
        for item in node.get("inputs", []):
            upstream = lineage.get(item["sha256"])
            ref = f"{item['path']}  [{item['sha256'][:12]}]"
            if upstream is None:
                kind = "source code" if is_code(item["path"]) else "outside the workflow"
                lines.append(f"{pad}  - {ref}  ({kind})")
            elif item["sha256"] in seen:
                lines.append(f"{pad}  - {ref}  (shown above)")
            elif depth is not None and level >= depth:
                lines.append(f"{pad}  - {ref}  (made by {upstream['step']['command']}; beyond --depth {depth})")
            else:
                seen.add(item["sha256"])
                visit(upstream, level + 1)

    visit(data, 0)
    return "\n".join(lines)


def _step_lines(node: dict) -> list[str]:
    """What one node of the chain says: its file, the step and its parameters, seed and times."""
    step = node["step"]
    wild = ", ".join(f"{k}={v}" for k, v in (step.get("wildcards") or {}).items())
    rule = f"  (rule {step['rule']}{': ' + wild if wild else ''})" if step.get("rule") else ""
    lines = [f"- {node['artifact']['path']}  [{node['artifact']['sha256'][:12]}]",
             f"    step: cw-distillation {step['command']}{rule}"]
    params = {k: v for k, v in (step.get("params") or {}).items() if v is not None}
    if params:
        lines.append(f"    params: {json.dumps(params, sort_keys=True, default=str)}")
    if node.get("seed") is not None:
        lines.append(f"    seed {node['seed']}, op determinism {node.get('op_determinism')}")
    lines.append(f"    ran {node.get('started')} .. {node.get('ended')}")
    return lines


# ----------------------------------------------------------------------------- rewriting committed manifests


def relativize(folder: str | Path, repo: Path) -> tuple[int, int]:
    """Rewrite every manifest under ``folder`` in the current form: paths relative to ``repo``,
    and, under paper_outputs/, the lineage as references to nodes stored once. Digests are left
    as they are (the results' bytes are not touched); each manifest keeps its modification time.
    Returns (manifests rewritten, unreferenced lineage nodes removed)."""
    folder = Path(folder)
    manifests = _manifests_under(folder)
    loaded = {m: load(m) for m in manifests}  # all read before any is written
    for mpath, data in loaded.items():
        new = relativized(data, repo)
        if lineage_dir(mpath) is not None:
            new["schema"] = SCHEMA_VERSION
        stat = mpath.stat()
        write(mpath, new)
        os.utime(mpath, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert load(mpath)["artifact"]["sha256"] == data["artifact"]["sha256"]
    return len(manifests), prune(folder)


def prune(folder: str | Path) -> int:
    """Remove, in every provenance folder under ``folder``, the lineage nodes no manifest references
    any more: a rewritten manifest leaves behind the nodes only its old version named. Only safe
    when no job is writing manifests there (the workflow calls it once a run has succeeded).
    Returns the number removed."""
    return sum(_prune(nodes) for nodes in Path(folder).rglob(LINEAGE_DIR) if nodes.parent.name == PROV_DIR)


def _prune(nodes: Path) -> int:
    """Remove the lineage nodes no manifest of their provenance folder references (left by
    manifests rewritten since); the number removed."""
    used = set()
    for mpath in _manifests_under(nodes.parent.parent):
        lineage = _read_json(mpath).get("lineage", {})
        used |= {ref for ref in lineage.values() if isinstance(ref, str)}
    unused = [p for p in nodes.glob("*.json") if p.stem not in used]
    for path in unused:
        path.unlink()
    return len(unused)
