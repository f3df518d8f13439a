"""Data steps: synthesize (tests), download (verified), prepare (npz)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cw_distillation import provenance
from cw_distillation.datasets import NAMES
from cw_distillation.steps import add_step_options, step_for

log = logging.getLogger("cw_distillation")


def synthesize(args: argparse.Namespace) -> int:
    from cw_distillation.data.synthetic import write_mirror

    step = step_for(args, [], {"dataset": args.dataset, "n_train": args.n_train, "n_test": args.n_test}, seed=args.seed)
    registry = write_mirror(args.out_dir, args.dataset, n_train=args.n_train, n_test=args.n_test, seed=args.seed)
    provenance.write_manifest(args.out_dir / args.dataset, step)
    provenance.write_manifest(registry, step)
    log.info("wrote synthetic %s mirror under %s", args.dataset, args.out_dir)
    return 0


def download(args: argparse.Namespace) -> int:
    from cw_distillation.data.download import fetch_dataset
    from cw_distillation.data.sources import source_for

    source = source_for(args.dataset, args.registry)
    # The registry and the mirror's files are inputs: the audit re-hashes them while they are at hand.
    inputs = [args.registry] if args.registry else []
    if args.mirror is not None and (args.mirror / args.dataset).is_dir():
        inputs.append(args.mirror / args.dataset)
    step = step_for(
        args,
        inputs,
        {
            "dataset": args.dataset,
            "mirror": str(args.mirror) if args.mirror else None,
            "retries": args.retries,
            "urls": {a.name: list(a.urls) for a in source.archives},
            "payload_sha256": {p.name: p.sha256 for p in source.payloads},
        },
    )
    paths = fetch_dataset(
        source,
        args.out_dir,
        mirror=args.mirror,
        retries=args.retries,
        backoff_s=args.backoff_s,
        timeout_s=args.timeout_s,
        progress=not args.no_progress,
    )
    provenance.write_manifest(args.out_dir, step)
    log.info("verified %d files of %s into %s", len(paths), args.dataset, args.out_dir)
    return 0


def prepare(args: argparse.Namespace) -> int:
    import numpy as np

    from cw_distillation.data.prepare import prepare as prepare_arrays

    step = step_for(args, [args.raw_dir], {"dataset": args.dataset})
    arrays = prepare_arrays(args.dataset, args.raw_dir, args.out)
    counts = np.bincount(arrays["y_train"], minlength=10).tolist()
    step.notes = {
        "shapes": {k: list(v.shape) for k, v in arrays.items()},
        "train_class_counts": counts,
        "first_train_labels": arrays["y_train"][:5].tolist(),
        "first_test_labels": arrays["y_test"][:5].tolist(),
    }
    provenance.write_manifest(args.out, step)
    log.info("%s: %s; train class counts %s", args.out, step.notes["shapes"], counts)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synthesize", help="write a tiny synthetic dataset in the official format, as a local mirror")
    p.add_argument("--dataset", required=True, choices=NAMES, help="whose file format to write")
    p.add_argument("--out-dir", required=True, type=Path, help="the mirror folder; <dataset>/ is written in it")
    p.add_argument("--n-train", type=int, required=True, help="training images")
    p.add_argument("--n-test", type=int, required=True, help="test images")
    p.add_argument("--seed", type=int, default=0, help="draws the images and labels")
    add_step_options(p)
    p.set_defaults(handler=synthesize)

    p = sub.add_parser("download", help="download (or copy from a mirror) and verify a dataset's official files")
    p.add_argument("--dataset", required=True, choices=NAMES, help="the dataset to fetch")
    p.add_argument("--out-dir", required=True, type=Path, help="where the verified official files go")
    p.add_argument("--mirror", type=Path, help="folder laid out like ../shared/datasets/ (used instead of the network)")
    p.add_argument("--registry", type=Path, help="JSON registry of non-official files (synthetic data)")
    p.add_argument("--retries", type=int, default=3, help="attempts per file after the first fails")
    p.add_argument("--backoff-s", type=float, default=2.0, help="seconds before the first retry (doubling)")
    p.add_argument("--timeout-s", type=float, default=60.0, help="seconds a connection may stall")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    add_step_options(p)
    p.set_defaults(handler=download)

    p = sub.add_parser("prepare", help="parse verified files into a uint8 .npz in the official order")
    p.add_argument("--dataset", required=True, choices=NAMES, help="which format to parse")
    p.add_argument("--raw-dir", required=True, type=Path, help="the verified official files (download's --out-dir)")
    p.add_argument("--out", required=True, type=Path, help="the prepared .npz (x_train, y_train, x_test, y_test)")
    add_step_options(p)
    p.set_defaults(handler=prepare)
