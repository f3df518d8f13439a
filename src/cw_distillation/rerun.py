"""Re-execution of stored results: hashes prove that a stored file did not change after it was
made, not that the code and settings its record names made it. Rerunning a few of its pairs
(and re-evaluating a network's recorded test accuracy) does: a result edited and re-hashed
still passes ``store check``, but its rerun gives the original numbers.

Each pair's attack is independent of the others (tests/test_cw_l0.py, tests/test_reuse.py),
so a random subset reruns alone; the one coupling is C&W L2's ``abort_scope: image``, whose
pairs of one image abort together, so a drawn pair is rerun with its image's other pairs.

Nothing here writes beside the results it checks; result-shaping code must not import it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cw_distillation import jobs
from cw_distillation.files import sha256_file
from cw_distillation.provenance import manifest_path, read_manifest
from cw_distillation.store import SUFFIX


@dataclass(frozen=True)
class Tolerance:
    """How far a rerun on another machine (CPU, BLAS, backend) may drift and still agree.

    A float32 C&W run accumulates rounding differences over thousands of Adam steps; 1e-5 on
    the [-0.5, 0.5] scale is under a tenth of one 8-bit grey level (1/255 ~ 3.9e-3), and 1e-4
    relative is far below every difference the tables report. L0 counts pixels moved by at
    least 1e-4, so such drift may move one pixel across that threshold.
    """

    x_adv: float = 1e-5  # max |x_adv difference|
    distance_rel: float = 1e-4  # L2, L-inf: relative difference
    distance_abs: float = 1e-6  # ... or absolute, for distances near 0
    l0_pixels: int = 1  # L0: pixels
    accuracy_images: int = 1  # a network's test accuracy: images whose class changed
    # "close": a rerun of a few pairs runs them in a smaller batch than the stored job did, and
    # TensorFlow's oneDNN input gradient differs with the batch size (3e-7 on mnist10's standard
    # network, batch 9 vs 450); C&W's early abort and binary search turn that into another
    # trajectory (mnist10 L2: 34009 steps instead of 32009, L2 up to 2.0% apart on 9 pairs).
    # Measured on that network (CPU): every batch of 16 rows or more gives a row the same bits,
    # whatever the other rows hold; batches of 1 to 15 rows do not. The C&W queue shrinks as its
    # last pairs finish, so a pair's bits depend on the job's whole batch history: only a rerun of
    # the pairs a job attacked itself, all together (``images=``), repeats that history exactly.
    # So a pair whose success agrees and whose distance in the attack's metric is within 5% is
    # close: a real rerun, not proof of bytes; an edit that moves distances more is caught.
    close_rel: float = 0.05


TOLERANCE = Tolerance()


class EntryError(ValueError):
    """A store entry that cannot be rerun; the message is one line naming the file."""


@dataclass
class Entry:
    """A stored file whose bytes match its store record and its manifest."""

    path: Path
    parts: dict[str, Any]
    manifest: dict[str, Any]


@dataclass
class Report:
    """What one stored result's rerun found (kind "attack" or "network")."""

    path: str
    kind: str
    counts: dict[str, int] = field(default_factory=dict)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    accuracy: dict[str, float] | None = None
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.counts.get("different", 0) == 0


# ------------------------------------------------------------------ store entries


def load_entry(path: Path) -> Entry:
    """The entry at ``path``, its bytes checked against its store record and its manifest."""
    record_path = path.with_name(path.name + SUFFIX)
    if not record_path.is_file():
        raise EntryError(f"{record_path}: no store record (not a store entry, or the entry is incomplete)")
    try:
        record = json.loads(record_path.read_text())
        parts, digest = record["parts"], record["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise EntryError(f"{record_path}: unreadable store record ({type(err).__name__}: {err})") from None
    if not path.is_file():
        raise EntryError(f"{path}: missing (its store record exists)")
    if sha256_file(path) != digest:
        raise EntryError(f"{path}: its SHA-256 differs from its store record's; the bytes changed")
    try:
        manifest = read_manifest(path)
    except (OSError, ValueError) as err:
        raise EntryError(f"{manifest_path(path)}: unreadable manifest ({type(err).__name__}: {err})") from None
    if not isinstance(manifest, dict):
        raise EntryError(f"{manifest_path(path)}: {'missing' if manifest is None else 'not a JSON object'}")
    if (manifest.get("artifact") or {}).get("sha256") != digest:
        raise EntryError(f"{manifest_path(path)}: describes other bytes than {path}")
    return Entry(path, parts, manifest)


def store_root(path: Path, kind: str) -> Path:
    """The store folder of an entry of ``kind``, laid out as the table of jobs says (jobs.KINDS)."""
    try:
        return jobs.root_of(path, kind)
    except ValueError:
        raise EntryError(f"{path}: not under a store's {jobs.KINDS[kind].path.split('/')[0]}/ folder") from None


def network_digest(entry: Entry) -> str:
    """The SHA-256 of the network an attack ran on, as its manifest's inputs record it: the
    .keras input named after the attacked model (others are --select-with networks)."""
    networks = [i for i in entry.manifest.get("inputs") or [] if str(i.get("path", "")).endswith(".keras")]
    if not networks:
        raise EntryError(f"{manifest_path(entry.path)}: records no network (.keras) among its inputs")
    named = [i for i in networks if Path(i["path"]).stem == entry.parts.get("model_name")]
    return (named or networks)[0]["sha256"]


def find_network(root: Path, digest: str, result: Path) -> Path:
    """The stored .keras file under ``root/models`` whose bytes have SHA-256 ``digest``."""
    for path in sorted((root / "models").rglob("*.keras")):
        if sha256_file(path) == digest:
            return path
    raise EntryError(f"{result}: the network it was made with (SHA-256 {digest[:12]}...) is not in {root / 'models'}")


def collect(paths: list[Path]) -> list[Path]:
    """The attack results (``attacks/**/*.npz``) and networks (``models/**/*.keras``) named or
    under the folders named; in-flight checkpoints left out."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += [p for p in sorted(path.rglob("*.npz")) if "attacks" in p.parts and "inflight" not in p.parts]
            found += [p for p in sorted(path.rglob("*.keras")) if "models" in p.parts and "inflight" not in p.parts]
        else:
            found.append(path)
    return found


# ------------------------------------------------------------------ pairs


def draw_pairs(n: int, k: int, seed: int) -> np.ndarray:
    """``k`` distinct rows of ``n`` (all of them when k >= n), sorted; the same for the same seed."""
    return np.sort(np.random.default_rng(seed).choice(n, size=min(k, n), replace=False))


def pairs_of(stored, images: list[int], path: Path) -> np.ndarray:
    """The rows of ``stored`` whose test image is one of ``images``; an error naming ``path``
    and the images it has where none is."""
    rows = np.flatnonzero(np.isin(stored.image_index, images))
    if not len(rows):
        have = ", ".join(map(str, np.unique(stored.image_index)[:20]))
        raise EntryError(f"{path}: no pairs of test image(s) {', '.join(map(str, images))} (it has {have}, ...)")
    return rows


def rows_to_rerun(drawn: np.ndarray, image_index: np.ndarray, attack: str, options: dict) -> np.ndarray:
    """The rows a rerun of ``drawn`` must attack: with C&W L2's ``abort_scope: image`` (its
    default) a pair aborts with its image's run of pairs, so every pair of that run."""
    from cw_distillation.attacks.registry import RUNNERS

    coupled = (RUNNERS[attack].attack.module == "cw_distillation.attacks.cw_l2"
               and options.get("abort_early", True) and options.get("abort_scope", "image") == "image")
    if not coupled:
        return drawn
    starts = np.flatnonzero(np.r_[True, image_index[1:] != image_index[:-1]])
    run_of = np.searchsorted(starts, np.arange(len(image_index)), side="right") - 1
    return np.flatnonzero(np.isin(run_of, run_of[drawn]))


def rerun_pairs(model, arrays: dict, stored, rows: np.ndarray, parts: dict):
    """The attack its record names, on rows ``rows`` of the stored result: the same images,
    targets, options and batch size as ``steps.attacking.attack`` passes, success re-checked
    by the network's argmax as that step does."""
    from cw_distillation.attacks.registry import RUNNERS
    from cw_distillation.models import predict_logits

    spec = RUNNERS[parts["attack"]]
    image_index, target, label = stored.image_index[rows], stored.target[rows], stored.label[rows]
    if not np.array_equal(arrays["y_test"][image_index], label):
        raise EntryError("its labels differ from the prepared test set's for the same images (another --data?)")
    kwargs = {"label": label, "image_index": image_index, "batch_size": parts["batch_size"], **parts["options"]}
    result = spec.attack(model, arrays["x_test"][image_index], target if spec.targeted else None, **kwargs)
    final = predict_logits(model, result.x_adv).argmax(1)
    result.success = final == result.target if spec.targeted else final != result.label
    return result


def compare_pair(stored, fresh, i: int, j: int, metric: str, tol: Tolerance = TOLERANCE) -> tuple[str, str]:
    """(verdict, why) for row ``i`` of the stored result and row ``j`` of its rerun:
    "identical" (bytes), "within tolerance", "close" (in ``metric``), or "different"."""
    verdict, why = _strict(stored, fresh, i, j, tol)
    if verdict != "different" or bool(stored.success[i]) != bool(fresh.success[j]):
        return verdict, why
    a, b = float(getattr(stored, metric)[i]), float(getattr(fresh, metric)[j])
    slack = tol.close_rel * max(abs(a), abs(b)) + (tol.l0_pixels if metric == "l0" else tol.distance_abs)
    if np.isnan(a) == np.isnan(b) and (np.isnan(a) or abs(a - b) <= slack):
        return "close", f"{metric} {a:.6g} stored, {b:.6g} rerun ({why})"
    return "different", f"{metric} {a:.6g} stored, {b:.6g} rerun ({why})"


def _strict(stored, fresh, i: int, j: int, tol: Tolerance) -> tuple[str, str]:
    """Bytes, or the machine-level tolerance."""
    names = ("success", "l0", "l2", "linf")
    if stored.x_adv[i].tobytes() == fresh.x_adv[j].tobytes() and all(
            np.array_equal(getattr(stored, n)[i], getattr(fresh, n)[j], equal_nan=n != "success") for n in names):
        return "identical", ""
    if bool(stored.success[i]) != bool(fresh.success[j]):
        return "different", f"success {bool(stored.success[i])} stored, {bool(fresh.success[j])} rerun"
    gap = float(np.max(np.abs(stored.x_adv[i].astype(np.float64) - fresh.x_adv[j])))
    if gap > tol.x_adv:
        return "different", f"x_adv differs by up to {gap:.3g}"
    for name in ("l2", "linf"):
        a, b = float(getattr(stored, name)[i]), float(getattr(fresh, name)[j])
        if np.isnan(a) != np.isnan(b) or abs(a - b) > max(tol.distance_rel * max(abs(a), abs(b)), tol.distance_abs):
            return "different", f"{name} {a:.6g} stored, {b:.6g} rerun"
    a, b = float(stored.l0[i]), float(fresh.l0[j])
    if np.isnan(a) != np.isnan(b) or abs(a - b) > tol.l0_pixels:
        return "different", f"l0 {a:g} stored, {b:g} rerun"
    return "within tolerance", f"x_adv differs by up to {gap:.3g}"


# ------------------------------------------------------------------ checks


def check_attack(path: Path, data: dict[str, Path], k: int, seed: int,
                 images: list[int] | None = None) -> Report:
    """Rerun ``k`` random pairs of a stored attack result (or every pair of the test images
    ``images``) and compare them with it."""
    from cw_distillation.attacks.registry import RUNNERS
    from cw_distillation.attacks.result import AttackResult
    from cw_distillation.models import load_model

    entry = load_entry(path)
    if entry.parts.get("kind") != "attack":
        raise EntryError(f"{path}: a stored {entry.parts.get('kind')!r} result; only attack results and networks rerun")
    root = store_root(path, "attack")
    network = find_network(root, network_digest(entry), path)
    stored = AttackResult.load(path)
    drawn = draw_pairs(len(stored.x_adv), k, seed) if images is None else pairs_of(stored, images, path)
    rows = rows_to_rerun(drawn, stored.image_index, entry.parts["attack"], entry.parts["options"])
    arrays = _dataset(data, entry.parts["dataset"], path)
    try:
        fresh = rerun_pairs(load_model(network, entry.parts["dataset"]), arrays, stored, rows, entry.parts)
    except EntryError as err:
        raise EntryError(f"{path}: {err}") from None
    report = Report(str(path), "attack", note=_backend_note(entry.parts))
    for j, i in enumerate(rows):
        verdict, why = compare_pair(stored, fresh, i, j, RUNNERS[entry.parts["attack"]].metric)
        report.pairs.append({"row": int(i), "image": int(stored.image_index[i]), "target": int(stored.target[i]),
                             "drawn": bool(i in drawn), "verdict": verdict, "why": why})
    report.counts = _counts(p["verdict"] for p in report.pairs)
    return report


def check_network(path: Path, data: dict[str, Path]) -> Report:
    """Re-evaluate a stored network's test accuracy from its weights; compare it with the one
    its metrics file (``<network>.json``, a store entry too) records."""
    from cw_distillation.models import load_model
    from cw_distillation.train import accuracy

    entry = load_entry(path)
    metrics_entry = load_entry(path.with_suffix(".json"))
    store_root(path, "model")
    try:
        metrics = json.loads(metrics_entry.path.read_text())
        recorded, n_recorded = float(metrics["test_accuracy"]), int(metrics["test_images"])
    except (ValueError, KeyError, TypeError) as err:
        raise EntryError(f"{metrics_entry.path}: no test_accuracy and test_images "
                         f"({type(err).__name__}: {err})") from None
    dataset = entry.parts.get("dataset") or metrics.get("dataset")
    arrays = _dataset(data, dataset, path)
    if len(arrays["y_test"]) != n_recorded:
        raise EntryError(f"{path}: its accuracy is over {n_recorded} test images, the --data for {dataset} has "
                         f"{len(arrays['y_test'])}")
    recomputed = accuracy(load_model(path, dataset), arrays["x_test"], arrays["y_test"])
    changed = abs(recomputed - recorded) * n_recorded
    verdict = ("identical" if recomputed == recorded else
               "within tolerance" if changed <= TOLERANCE.accuracy_images + 1e-6 else "different")
    return Report(str(path), "network", counts=_counts([verdict]),
                  accuracy={"recorded": recorded, "recomputed": recomputed}, note=_backend_note(entry.parts))


def _dataset(data: dict[str, Path], dataset: str, result: Path) -> dict:
    from cw_distillation.data.prepare import load_dataset

    if dataset not in data:
        raise EntryError(f"{result}: no --data for its dataset {dataset!r} (the workflow prepares "
                         f"results/<profile>/data/{dataset}.npz)")
    return load_dataset(data[dataset])


def _backend_note(parts: dict) -> str:
    import keras

    made_on = parts.get("backend", "tensorflow")
    return "" if made_on == keras.backend.backend() else f"made on {made_on}, rerun on {keras.backend.backend()}"


def _counts(verdicts) -> dict[str, int]:
    verdicts = list(verdicts)
    return {v: verdicts.count(v) for v in ("identical", "within tolerance", "close", "different")}


# ------------------------------------------------------------------ the command


def line(report: Report) -> str:
    """One line per result: what was rerun and how it compares."""
    c = report.counts
    note = f" ({report.note})" if report.note else ""
    if report.kind == "network":
        acc = report.accuracy or {}
        return (f"{report.path}: test accuracy recorded {acc['recorded']:.4f}, recomputed {acc['recomputed']:.4f}: "
                f"{next(v for v, n in c.items() if n)}{note}")
    drawn = ", ".join(f"(image {p['image']}, target {p['target']})" for p in report.pairs if p["drawn"])
    extra = len(report.pairs) - sum(p["drawn"] for p in report.pairs)
    coupled = f" with {extra} pairs of the same images (abort_scope image)" if extra else ""
    why = next((f"; row {p['row']}: {p['why']}" for p in report.pairs if p["verdict"] == "different"), "")
    return (f"{report.path}: {len(report.pairs)} pairs rerun (drawn: {drawn}{coupled}): {c['identical']} identical, "
            f"{c['within tolerance']} within tolerance, {c['close']} close, {c['different']} different{why}{note}")


def verify_rerun(paths: list[Path], data: list[Path], k: int, seed: int, out: Path | None = None,
                 images: list[int] | None = None) -> int:
    """Rerun every stored result named or found under ``paths``; 0 when all agree (identical
    or within TOLERANCE), 1 otherwise, a bad entry included (one line naming the file)."""
    import sys

    if k < 1:
        raise ValueError(f"--pairs must be at least 1, not {k}")
    by_dataset = {p.stem: p for p in data}
    t = TOLERANCE
    what = (f"seed {seed}, {k} pair(s) drawn per attack result" if images is None
            else f"every pair of test image(s) {', '.join(map(str, images))}")
    print(f"rerun: {what}; within tolerance: max |x_adv difference| "
          f"<= {t.x_adv:g}, L2 and L-inf within {t.distance_rel:g} relative, L0 within {t.l0_pixels} pixel, "
          f"test accuracy within {t.accuracy_images} image; close: success agrees and the attack's distance within "
          f"{t.close_rel:.0%} (a smaller batch than the stored job's rounds differently)")
    reports, errors = [], []
    found = collect(paths)
    if not found:
        errors.append(f"{', '.join(map(str, paths))}: no stored attack results (attacks/) or networks (models/)")
        print(errors[-1], file=sys.stderr)
    for path in found:
        try:
            report = (check_network(path, by_dataset) if path.suffix == ".keras"
                      else check_attack(path, by_dataset, k, seed, images))
        except (EntryError, ValueError, OSError, KeyError) as err:
            errors.append(_named(path, err))
            print(errors[-1], file=sys.stderr)
            continue
        print(line(report), flush=True)
        reports.append(report)
    if out is not None:
        _write_report(out, seed, k, reports, errors, images)
    failed = bool(errors) or any(not r.passed for r in reports) or not reports
    return 1 if failed else 0


def _named(path: Path, err: Exception) -> str:
    """One line naming the file: the error's own message where it names one."""
    text = str(err) if not isinstance(err, KeyError) else f"its store record's parts lack {err}"
    return text if isinstance(err, EntryError) or str(path) in text else f"{path}: {type(err).__name__}: {text}"


def _write_report(out: Path, seed: int, k: int, reports: list[Report], errors: list[str],
                  images: list[int] | None = None) -> None:
    from cw_distillation.files import write_text_atomic

    body = {"seed": seed, "pairs": k, "images": images, "tolerance": asdict(TOLERANCE),
            "results": [asdict(r) for r in reports], "errors": errors}
    write_text_atomic(out, json.dumps(body, indent=1) + "\n")
