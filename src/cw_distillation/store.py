"""A verified store of expensive results (trained networks, attack results), keyed by
everything that shapes them, so that a fresh clone reuses them instead of recomputing.

An entry is one file of ``results/<profile>/`` copied to ``<store>/<same relative path>``
with its provenance manifest and a ``.store.json`` that records the job's key: the SHA-256
of the job's *parts* (its kind, wildcards, the config values it reads, the keys of the jobs
it depends on, and a digest of the library code that shapes its result) and the file's
SHA-256. An entry is used only when its key equals the key the current config and code
give and its bytes match; otherwise the reason is printed and the job is recomputed.

Why not Snakemake's between-workflow cache (``cache: True``): its key covers a rule's
command and params, not the library code the command runs; it hashes the download rule's
absolute mirror path, so a clone in another folder never hits; and it hands back a cached
file without checking its bytes. Here the key is computed from the config and the code
alone (like Snakemake's, a Merkle chain over the jobs), and every use verifies the bytes.

A change to the code that shapes a result changes its key, even a pure refactoring. Such a
change keeps the store's entries only through ``code_equivalences.yaml``: a record that the
new code digest gives the same results as an old one, written by
``scripts/prove_code_equivalence.py`` after it ran the tiny profile under both codes and found
every result identical. Keys use the oldest digest of such a chain (:func:`code_key`).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import shutil
from pathlib import Path

import yaml

import cw_distillation
from cw_distillation import jobs
from cw_distillation.files import atomic_path, sha256_file, write_text_atomic
from cw_distillation.provenance import manifest_path, recorded_sha256

FORMAT = 1
SUFFIX = ".store.json"
PACKAGE = Path(cw_distillation.__file__).parent
EQUIVALENCES = "code_equivalences.yaml"

# Modules that record, check or plan results without shaping them: a change to them never
# makes a stored result stale (and their imports are not followed).
NOT_SHAPING = frozenset({
    "cw_distillation.provenance", "cw_distillation.files", "cw_distillation.cli",
    "cw_distillation.steps", "cw_distillation.store", "cw_distillation.plan",
    "cw_distillation.config", "cw_distillation.checkpoint", "cw_distillation.progress",
    "cw_distillation.device", "cw_distillation.inputs", "cw_distillation.jobs",
})
TRAINING_CODE = ("cw_distillation.steps.training",)
DATA_CODE = ("cw_distillation.data.prepare", "cw_distillation.data.synthetic")
ATTACK_CODE = ("cw_distillation.steps.attacking",)
ROBUSTNESS_CODE = ("cw_distillation.steps.robustness", "cw_distillation.robustness")


def attack_module(attack: str) -> str:
    """The module of an attack, as the registry names it (steps/attacking.py imports it only
    when the attack runs, so its code is followed from here)."""
    from cw_distillation.attacks.registry import RUNNERS

    return RUNNERS[attack].attack.module


# ------------------------------------------------------------------ code digests


def _module_file(name: str) -> Path | None:
    if name == "cw_distillation":
        return PACKAGE / "__init__.py"
    rel = Path(*name.split(".")[1:])
    for candidate in (PACKAGE / rel.with_suffix(".py"), PACKAGE / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _normalised(path: Path) -> tuple[str, list[str]]:
    """(the module's AST without docstrings, as text; the cw_distillation modules it imports).

    Comments, docstrings and layout are left out, so that rewording never invalidates a result.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    imports: list[str] = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
            body[0].value, ast.Constant
        ) and isinstance(body[0].value.value, str):
            body[:] = body[1:] or [ast.Pass()]  # node.body, in place
        if isinstance(node, ast.Import):
            imports += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imports += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return ast.dump(tree), [m for m in imports if m.split(".")[0] == "cw_distillation"]


def _closure(roots: tuple[str, ...]) -> dict[str, tuple[Path, str]]:
    """``roots`` and every cw_distillation module they import, transitively (package __init__
    files included; NOT_SHAPING modules left out): name -> (its file, its normalised code)."""
    seen: dict[str, tuple[Path, str]] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name in NOT_SHAPING:
            continue
        path = _module_file(name)
        if path is None:
            continue
        code, imported = _normalised(path)
        seen[name] = (path, code)
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        todo += imported + parents
    return seen


@functools.cache
def code_digest(roots: tuple[str, ...]) -> str:
    """SHA-256 over the code of ``roots`` and every cw_distillation module they import,
    transitively (package __init__ files included; NOT_SHAPING modules left out)."""
    seen = _closure(roots)
    digest = hashlib.sha256()
    for name in sorted(seen):
        digest.update(f"{name}\n{seen[name][1]}\n".encode())
    return digest.hexdigest()


def code_files(roots: tuple[str, ...]) -> list[str]:
    """The files of the modules code_digest covers for ``roots``, relative to the package folder
    (``outputs/tables.py``): a rule that lists them as inputs reruns when the code that shapes
    its outputs changes, and its manifests record them (audit: STALE-CODE)."""
    return sorted(path.relative_to(PACKAGE).as_posix() for path, _ in _closure(roots).values())


def code_roots() -> dict[str, tuple[str, ...]]:
    """Every set of root modules whose digest enters a key, by the kind of result it shapes."""
    from cw_distillation.attacks.registry import RUNNERS

    roots = {
        "data": DATA_CODE, "model": TRAINING_CODE, "logits": TRAINING_CODE,
        "fragility": (*ATTACK_CODE, "cw_distillation.fragility"),
        "transfer": (*ATTACK_CODE, attack_module("l2"), "cw_distillation.transfer"),
        "robustness": ROBUSTNESS_CODE,
    }
    roots.update({f"attack:{name}": (*ATTACK_CODE, attack_module(name)) for name in sorted(RUNNERS)})
    return roots


@functools.cache
def equivalences() -> dict[tuple[str, str], str]:
    """(kind of result, new code digest) -> the older digest it was shown to give the same
    results as, for that kind. Per kind: several kinds can share one digest (L2 attacks,
    fragility reports and transfer examples all run steps/attacking.py's imports), and a
    change may keep one kind's results while it is meant to alter another's."""
    path = PACKAGE / EQUIVALENCES
    if not path.is_file():
        return {}
    try:
        records = (yaml.safe_load(path.read_text()) or {}).get("equivalences") or []
        return {(r["kind"], r["new"]): r["old"] for r in records}
    except (yaml.YAMLError, AttributeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a list of equivalences with 'kind', 'new' and 'old' ({err})") from err


def code_key(roots: tuple[str, ...], kind: str) -> str:
    """The digest of ``roots`` as the keys of ``kind`` use it: the oldest digest it is
    recorded equivalent to for that kind."""
    digest, seen, table = code_digest(roots), set(), equivalences()
    while (kind, digest) in table and digest not in seen:
        seen.add(digest)
        digest = table[(kind, digest)]
    return digest


# ------------------------------------------------------------------ job parts and keys


def key_of(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _on_backend(config: dict, parts: dict) -> dict:
    """``parts`` of a job that runs a network, with the Keras backend it runs on where that is
    not TensorFlow (so TensorFlow's keys stay those of the entries made before backends were
    a choice)."""
    backend = config.get("backend", "tensorflow")
    return parts if backend == "tensorflow" else {**parts, "backend": backend}


def job_parts(config: dict, kind: str, w: jobs.Wildcards) -> dict:
    """The parts of a job of ``kind`` (jobs.KINDS) with wildcards ``w``: what it is, the config
    values it reads, the keys of the jobs upstream of it, the networks whose correct images it is
    restricted to, the digest of the code that shapes it, and the backend it runs on."""
    job = jobs.KINDS[kind]
    parts = {"kind": kind, **{field: w[wildcard] for field, wildcard in job.identity.items()},
             **job.settings(config, w)}
    parts.update({field: key_of(job_parts(config, *up)) for field, up in job.upstream(config, w).items()})
    if job.images is not None:
        parts.update(_image_parts(config, w["dataset"], *job.images(config, w), always=job.images_always))
    code_kind = f"attack:{parts['attack']}" if kind == "attack" else kind
    parts["code"] = code_key(code_roots()[code_kind], code_kind)
    return parts if kind == "data" else _on_backend(config, parts)


def data_parts(config: dict, dataset: str) -> dict:
    return job_parts(config, "data", {"dataset": dataset})


def model_parts(config: dict, dataset: str, name: str) -> dict:
    return job_parts(config, "model", {"dataset": dataset, "name": name})


def _image_parts(config: dict, dataset: str, others: list[str], external: list[str], always: bool) -> dict:
    """The networks whose correct images a job is restricted to, beside its own: the profile's by
    their keys, other profiles' by their files' SHA-256 (none, and not ``always``: the attack
    results made before the choice existed keep their keys)."""
    if not others and not external and not always:
        return {}
    return {"images": {
        "also_correct_for": [key_of(model_parts(config, dataset, m)) for m in others],
        "external": [_external_digest(path) for path in external],
    }}


@functools.cache
def _external_digest(path: str) -> str:
    if not os.path.isfile(path):
        raise ValueError(f"config key attacks.images_also_correct_for: {path} does not exist")
    return sha256_file(path)


def reusable(store: Path, rel: str, parts: dict) -> Path | None:
    """The stored result of the same attack job on other images (its parts equal ``parts`` but
    for "images"), verified, whose pairs the job may take over rather than attack again; None
    where there is none."""
    record_path = store / (rel + SUFFIX)
    try:
        recorded = json.loads(record_path.read_text())["parts"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if recorded.get("kind") != "attack" or recorded.get("images") == parts.get("images"):
        return None
    if {k: v for k, v in recorded.items() if k != "images"} != {k: v for k, v in parts.items() if k != "images"}:
        return None
    return store / rel if check_entry(store, rel, recorded) is None else None


def job_files(rel: str) -> list[str] | None:
    """Every file the store keeps of the job that writes ``rel`` (``rel`` among them: a network
    and its metrics, an attack's result and its summary), or None for a file it does not keep
    (jobs.STORED: what the store keeps, by the kind of job; a job's files are restored together
    or not at all, job_to_restore)."""
    found = jobs.parse(rel)
    if found is None:
        return None
    kind, _, suffix = found
    stem = rel.removesuffix(suffix)
    return [stem + s for s in kind.suffixes]


def parts_for(config: dict, rel: str) -> dict | None:
    """The parts of the job that writes ``rel`` (a path relative to results/<profile>/),
    or None for a file the store does not keep."""
    found = jobs.parse(rel)
    if found is None:
        return None
    kind, w, _ = found
    try:
        return job_parts(config, kind.name, w)
    except (KeyError, ValueError):
        return None


# ------------------------------------------------------------------ entries


def _differences(recorded: dict, wanted: dict, prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(recorded) | set(wanted)):
        a, b = recorded.get(k), wanted.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{k}.")
        elif a != b:
            short = lambda v: v[:12] if isinstance(v, str) and len(v) == 64 else v  # noqa: E731
            out.append(f"{prefix}{k}: {short(a)!r} in the store, {short(b)!r} now")
    return out


NOT_STORED = "not in the store"


def check_entry(store: Path, rel: str, parts: dict) -> str | None:
    """None if ``<store>/<rel>`` is a usable entry for a job with ``parts``, else why not
    (one line naming the file and what differs; ending in NOT_STORED where the store holds
    nothing of it)."""
    path, record_path = store / rel, store / (rel + SUFFIX)
    if not record_path.is_file():
        if path.is_file() or manifest_path(path).is_file():
            return f"{record_path}: missing (the store holds {path} without its record); recomputing"
        return f"{path}: {NOT_STORED}"
    try:
        record = json.loads(record_path.read_text())
        recorded_key, recorded_parts, digest = record["key"], record["parts"], record["sha256"]
    except OSError as err:
        return f"{record_path}: unreadable store record ({err.strerror or err}); recomputing"
    except ValueError as err:
        return f"{record_path}: store record is not JSON ({err}); recomputing"
    except KeyError as err:
        return f"{record_path}: not a store record (no {err}); recomputing"
    except TypeError:
        return f"{record_path}: not a store record (not a JSON object with key, parts and sha256); recomputing"
    if not isinstance(recorded_parts, dict) or not isinstance(digest, str):
        return f"{record_path}: not a store record ('parts' or 'sha256' of the wrong type); recomputing"
    if recorded_key != key_of(parts):
        diff = "; ".join(_differences(recorded_parts, parts)) or "its key differs"
        return f"{path}: stored for another job ({diff}); recomputing"
    if not path.is_file():
        return f"{path}: the store records it but the file is missing; recomputing"
    actual = sha256_file(path)
    if actual != digest:
        return (f"{path}: SHA-256 {actual[:12]}... differs from the store's record {digest[:12]}...;"
                " refused, recomputing")
    manifest = manifest_path(path)
    if not manifest.is_file():
        return f"{manifest}: the entry's provenance manifest is missing; recomputing"
    if recorded_sha256(path) != digest:
        return f"{manifest}: the manifest describes other bytes than {path} (or is not a manifest); recomputing"
    return None


def job_to_restore(store: Path, results: Path, rel: str, parts_or_none: dict | None) -> tuple[bool, list[str]]:
    """(whether the workflow restores results/rel from the store, the lines to print).

    Decided for the whole job that writes ``rel`` (job_files), so that its files are restored
    together or not at all: were one restored and its twin computed, two jobs would write the
    twin and Snakemake would stop with an AmbiguousRuleException. A job is restored when every
    file of it has an entry that verifies (check_entry), unless this tree computed them all
    itself: a result this tree computed stays the computing job's -- else Snakemake would see
    another rule and redo it -- so the entries are used for missing results, results restored
    before (their restore log exists), or results that differ from the entries. Where one file
    of a job is refused, each refusal is printed (once) and the job is recomputed whole.
    """
    files = job_files(rel)
    if parts_or_none is None or files is None:
        return False, []
    memo = (str(store), str(results), tuple(files), key_of(parts_or_none))
    if memo not in _JOB_DECISIONS:  # the DAG asks once per candidate job and file; say why once
        _JOB_DECISIONS[memo] = _job_to_restore(store, results, files, parts_or_none)
        return _JOB_DECISIONS[memo]
    return _JOB_DECISIONS[memo][0], []


def entry_to_use(store: Path, results: Path, rel: str, parts_or_none: dict | None) -> tuple[bool, str | None]:
    """job_to_restore, its lines joined in one (None where there is nothing to say)."""
    restore, lines = job_to_restore(store, results, rel, parts_or_none)
    return restore, "\n".join(lines) or None


_JOB_DECISIONS: dict[tuple, tuple[bool, list[str]]] = {}


def _job_to_restore(store: Path, results: Path, files: list[str], parts: dict) -> tuple[bool, list[str]]:
    problems = {rel: check_entry(store, rel, parts) for rel in files}
    if all(p is not None and p.endswith(NOT_STORED) for p in problems.values()):
        return False, []  # nothing of the job is stored: it is computed, nothing to say
    refused = [rel for rel, p in problems.items() if p is not None]
    if refused:
        lines = [str(problems[rel]) for rel in refused]
        lines += [f"{store / rel}: verifies, but is not restored without the rest of its job "
                  f"({', '.join(str(store / r) for r in refused)}); the job is recomputed"
                  for rel in files if rel not in refused]
        return False, lines
    if all(_computed_here(store, results, rel) for rel in files):
        return False, []
    return True, []


def _computed_here(store: Path, results: Path, rel: str) -> bool:
    """Whether results/rel is this tree's own result with the entry's bytes (not restored)."""
    result = results / rel
    if not result.exists() or (results / "logs/restore" / (rel + ".log")).exists():
        return False
    return sha256_file(result) == json.loads((store / (rel + SUFFIX)).read_text())["sha256"]


def rel_path(results: Path, path: str | Path) -> str:
    """``path`` relative to the results folder (the name a stored file has in the store)."""
    try:
        return Path(path).resolve().relative_to(results.resolve()).as_posix()
    except ValueError:
        raise ValueError(f"{path} is not under the results folder {results}") from None


def put(store: Path, results: Path, rel: str, parts: dict) -> Path:
    """Copy ``results/rel`` and its manifest into the store, then write its record (last,
    so that a half-copied entry never looks whole)."""
    source, target = results / rel, store / rel
    _check_precision_recorded(source)
    digest = sha256_file(source)
    for src, dst in ((source, target), (manifest_path(source), manifest_path(target))):
        with atomic_path(dst) as tmp:
            shutil.copy2(src, tmp)
    record = {"format": FORMAT, "key": key_of(parts), "sha256": digest, "parts": parts}
    write_text_atomic(store / (rel + SUFFIX), json.dumps(record, indent=1, sort_keys=True) + "\n")
    # The entry is as old as the result it copies, so the workflow does not see a newer
    # input and restore what it already has.
    mtime = source.stat().st_mtime_ns
    os.utime(store / (rel + SUFFIX), ns=(mtime, mtime))
    return target


def _check_precision_recorded(source: Path) -> None:
    """A result made on a GPU is stored only with its matmul precision recorded: TF32, a GPU's
    default for float32 products, is too coarse for a distilled network's logits."""
    try:
        hardware = json.loads(manifest_path(source).read_text()).get("hardware") or {}
    except (OSError, ValueError, AttributeError):
        return  # a missing or unreadable manifest is check_entry's to refuse, by name
    if hardware.get("gpu") and not hardware.get("matmul_precision"):
        raise ValueError(f"{source}: made on a GPU ({', '.join(hardware['gpu'])}) and its manifest "
                         f"{manifest_path(source)} records no matmul precision; not stored")


def restore(store: Path, results: Path, rel: str, parts: dict) -> None:
    """Copy a verified entry into ``results/rel`` (and its manifest); ValueError naming the
    file if it no longer verifies (nothing in results/ is touched then)."""
    problem = check_entry(store, rel, parts)
    if problem:
        raise ValueError(problem)
    source, target = store / rel, results / rel
    for src, dst in ((manifest_path(source), manifest_path(target)), (source, target)):
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    if sha256_file(target) != json.loads((store / (rel + SUFFIX)).read_text())["sha256"]:
        raise ValueError(f"{target}: copied from the store but its SHA-256 differs")


def size(store: Path) -> tuple[int, int]:
    """(files, bytes) in a store folder."""
    files = [p for p in store.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)
