"""``store put`` / ``store restore`` / ``store check``: the verified store of expensive results.

The workflow calls ``put`` after each storable job (when ``store.publish`` is on) and
``restore`` instead of the job when the store holds a verified entry for it; both take the
job's parts (``cw_distillation.store``) as JSON, computed by the workflow from its config.
``save-inflight`` and ``resume`` carry the checkpoints of unfinished attack and training jobs in the store
(``cw_distillation.inflight``).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger("cw_distillation")


def put(args: argparse.Namespace) -> int:
    from cw_distillation import inflight, store

    results, target = Path(args.results), Path(args.store)
    parts = json.loads(args.parts)
    for path in args.files:
        entry = store.put(target, results, store.rel_path(results, path), parts)
        log.info("stored %s as %s (key %s)", path, entry, store.key_of(parts)[:12])
    if parts.get("kind") in ("attack", "model") and inflight.discard(target, results, Path(args.files[0])):
        log.info("its saved in-flight checkpoint removed from %s/%s", target, inflight.INFLIGHT)
    return 0


def add(args: argparse.Namespace) -> int:
    """``put`` with the parts computed from a profile (as the workflow would): for results
    made before the store existed, or by a run that did not publish."""
    from cw_distillation import store
    from cw_distillation.config import workflow_config

    config = workflow_config(args.configfile, args.schema)
    results = Path(args.results or f"results/{config['profile']}")
    target = Path(args.store or config["store"]["dir"] or f"store/{config['profile']}")
    for path in args.files:
        rel = store.rel_path(results, path)
        parts = store.parts_for(config, rel)
        if parts is None:
            raise ValueError(f"{path}: the store keeps networks, logits, attack, fragility and transfer results only")
        store.put(target, results, rel, parts)
        log.info("stored %s in %s (key %s)", path, target, store.key_of(parts)[:12])
    return 0


def restore(args: argparse.Namespace) -> int:
    from cw_distillation import store

    results, source = Path(args.results), Path(args.store)
    parts = json.loads(args.parts)
    for path in args.files:
        store.restore(source, results, store.rel_path(results, path), parts)
        log.info("restored %s from %s (key %s): no job ran", path, source, store.key_of(parts)[:12])
    return 0


def save_inflight(args: argparse.Namespace) -> int:
    from cw_distillation import inflight

    saved = inflight.save(Path(args.store), Path(args.results))
    where = Path(args.store) / inflight.INFLIGHT
    for rel in saved:
        log.info("saved %s/%s", where, rel)
    log.info("%d in-flight checkpoint(s) in %s: commit the store to carry them to another machine", len(saved), where)
    return 0


def resume(args: argparse.Namespace) -> int:
    from cw_distillation import inflight

    local = inflight.resume(Path(args.store), Path(args.results), Path(args.out))
    if local is not None:
        log.info("%s: the job resumes from the checkpoint saved in %s/%s", local, args.store, inflight.INFLIGHT)
    return 0


def check(args: argparse.Namespace) -> int:
    """Verify every entry's bytes and manifest against its record; exit 1 naming the bad ones."""
    from cw_distillation import store

    root = Path(args.store)
    if not root.is_dir():
        raise FileNotFoundError(f"store folder {root} does not exist")
    bad = 0
    records = sorted(root.rglob("*" + store.SUFFIX))
    for record in records:
        rel = record.relative_to(root).as_posix().removesuffix(store.SUFFIX)
        try:
            parts = json.loads(record.read_text())["parts"]
        except (OSError, ValueError, KeyError, TypeError):
            parts = {}  # a record that is not one: check_entry names the file and why
        problem = store.check_entry(root, rel, parts if isinstance(parts, dict) else {})
        if problem:
            bad += 1
            print(f"BAD {problem}")
    files, size = store.size(root)
    print(f"{len(records)} entries, {bad} bad; {files} files, {size / 2**20:.1f} MiB in {root}")
    return 1 if bad else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="the verified store of trained networks and attack results")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, handler, text in (
        ("put", put, "copy finished results (and their manifests) into the store"),
        ("restore", restore, "copy verified entries from the store into results/"),
    ):
        q = actions.add_parser(name, help=text)
        q.add_argument("--store", required=True, help="the store folder")
        q.add_argument("--results", required=True, help="the profile's results folder (results/<profile>)")
        q.add_argument("--parts", required=True, help="the job's parts as JSON (what its key is made of)")
        q.add_argument("files", nargs="+", help="files under --results")
        q.set_defaults(handler=handler)
    q = actions.add_parser("add", help="put existing results into the store, keyed from a profile")
    q.add_argument("--configfile", required=True, action="append",
                   help="the profile's config, e.g. config/mnist10.yaml (again for more files, merged in order "
                        "over the schema's defaults, as Snakemake does)")
    q.add_argument("--schema", default="workflow/schemas/config.schema.yaml", help="the config schema (its defaults)")
    q.add_argument("--results", help="default results/<profile>")
    q.add_argument("--store", help="default the profile's store.dir, else store/<profile>")
    q.add_argument("files", nargs="+", help="files under the results folder")
    q.set_defaults(handler=add)
    q = actions.add_parser("save-inflight", help="copy the running attack jobs' checkpoints into the store's inflight/")
    q.add_argument("--store", required=True, help="the store folder, e.g. store/cifar10")
    q.add_argument("--results", required=True, help="the profile's results folder (results/<profile>)")
    q.set_defaults(handler=save_inflight)
    q = actions.add_parser("resume", help="copy an attack job's checkpoint saved in the store beside its output")
    q.add_argument("--store", required=True, help="the store folder")
    q.add_argument("--results", required=True, help="the profile's results folder (results/<profile>)")
    q.add_argument("out", help="the attack job's result file (results/<profile>/attacks/.../<attack>.npz)")
    q.set_defaults(handler=resume)
    q = actions.add_parser("check", help="verify every entry of a store folder")
    q.add_argument("store", help="the store folder, e.g. store/mnist10")
    q.set_defaults(handler=check)
