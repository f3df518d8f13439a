"""``verify rerun``: re-execute stored results and compare (cw_distillation.rerun).

A module of its own so that the result-shaping steps never import it: a change here never
changes a store key.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def rerun(args: argparse.Namespace) -> int:
    from cw_distillation.rerun import verify_rerun

    return verify_rerun(args.results, args.data, args.pairs, args.seed, args.out, args.images)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="re-execute stored results and compare them with what is stored")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("rerun", help="rerun K random pairs of each stored attack result, and re-evaluate "
                                         "each stored network's test accuracy; exit 1 on a difference")
    q.add_argument("results", type=Path, nargs="+",
                   help="a store folder (store/<profile>) or stored files "
                        "(attacks/.../<attack>.npz, models/.../<network>.keras)")
    q.add_argument("--data", type=Path, action="append", required=True, metavar="NPZ",
                   help="a prepared dataset, results/<profile>/data/<dataset>.npz (once per dataset)")
    q.add_argument("--pairs", type=int, default=3, metavar="K", help="pairs drawn at random per attack result")
    q.add_argument("--seed", type=int, default=0, help="draws the pairs (printed, and recorded with --out)")
    q.add_argument("--images", type=int, nargs="+", metavar="I",
                   help="rerun every pair of these test images instead of random ones: the pairs a job "
                        "attacked itself, rerun together, repeat its batches and so its bytes")
    q.add_argument("--out", type=Path, help="a JSON report: the seed, every pair rerun and its verdict")
    q.set_defaults(handler=rerun)
