"""``crosscheck`` and ``table-crosscheck``: FMN on a stored C&W result's pairs, and the table
comparing the two pair by pair (cw_distillation.crosscheck; issue 35, item 5).

A module of its own, beside the result-shaping steps: nothing here enters a store key.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cw_distillation import provenance
from cw_distillation.datasets import NAMES
from cw_distillation.steps import add_step_options, publish, step_for

log = logging.getLogger("cw_distillation")

COLUMNS = ["dataset", "network", "norm", "pairs", "cw_success", "fmn_success", "both", "ratio_median", "ratio_q25",
           "ratio_q75", "fmn_within_5pct", "fmn_below", "cw_steps", "fmn_steps", "cw_seconds", "fmn_seconds"]


def crosscheck(args: argparse.Namespace) -> int:
    from cw_distillation.attacks.result import AttackResult
    from cw_distillation.crosscheck import compare, fmn_on_pairs
    from cw_distillation.data.prepare import load_dataset
    from cw_distillation.models import load_model

    stored = AttackResult.load(args.cw)
    model = load_model(args.model, args.dataset)
    x_test = load_dataset(args.data)["x_test"]
    log.info("FMN-%s, %d steps, on the %d pairs of %s", args.norm, args.steps, len(stored.target), args.cw)
    result = fmn_on_pairs(model, x_test, stored, args.norm, args.steps, args.batch_size)
    result.meta["compared_with"] = str(args.cw)
    result.save(args.out)
    provenance.write_manifest(args.out, step_for(args, [args.data, args.model, args.cw],
                                                 {"norm": args.norm, "steps": args.steps,
                                                  "batch_size": args.batch_size}))
    log.info("%s: %s", args.out, compare(stored, result, args.norm))
    return 0


def table_crosscheck(args: argparse.Namespace) -> int:
    from cw_distillation.attacks.result import AttackResult
    from cw_distillation.crosscheck import compare
    from cw_distillation.outputs.tables import write_table

    if len(args.cw) != len(args.fmn):
        raise ValueError(f"--cw and --fmn: one C&W result per FMN result, got {len(args.cw)} and {len(args.fmn)}")
    rows = []
    for cw_path, fmn_path in zip(args.cw, args.fmn, strict=True):
        norm = Path(cw_path).stem
        rows.append({"dataset": Path(cw_path).parts[-3], "network": Path(cw_path).parts[-2], "norm": norm,
                     **compare(AttackResult.load(cw_path), AttackResult.load(fmn_path), norm)})
    caption = ("FMN (Pintor et al. 2021; its paper's defaults, 100 steps) against the C&W attack of the same norm, "
               "on the same (image, target) pairs and network: success of each; on the pairs both break, the "
               "quartiles of FMN's distance over C&W's, the share where FMN is within 5% of C&W (L0: or one "
               "pixel) and below it; gradient steps and seconds per pair of each (C&W: as stored, all its "
               "binary-search steps).")
    step = step_for(args, [*args.cw, *args.fmn], {"table": "fmn_vs_cw"})
    publish(write_table(rows, COLUMNS, args.out_base, caption=caption), step)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("crosscheck", help="FMN on the (image, target) pairs of a stored C&W result (issue 35)")
    p.add_argument("--dataset", required=True, choices=NAMES, help="the dataset the network was trained on")
    p.add_argument("--data", type=Path, required=True, help="the prepared dataset (results/<profile>/data/<d>.npz)")
    p.add_argument("--model", type=Path, required=True, help="the network the C&W result attacked")
    p.add_argument("--cw", type=Path, required=True, help="the stored C&W result (attacks/<d>/<network>/<norm>.npz)")
    p.add_argument("--norm", choices=("l0", "l2", "linf"), required=True, help="the norm FMN minimises")
    p.add_argument("--steps", type=int, default=100, help="FMN's gradient steps per pair (its paper's 100)")
    p.add_argument("--batch-size", type=int, default=100, help="pairs per gradient evaluation")
    p.add_argument("--out", type=Path, required=True, help="the FMN result (.npz, an AttackResult)")
    add_step_options(p)
    p.set_defaults(handler=crosscheck)
    p = sub.add_parser("table-crosscheck", help="FMN against C&W pair by pair: distances, success, cost")
    p.add_argument("--cw", type=Path, nargs="+", required=True, help="C&W results, in the order of --fmn")
    p.add_argument("--fmn", type=Path, nargs="+", required=True, help="the FMN results on their pairs")
    p.add_argument("--out-base", type=Path, required=True, help="the table's path without .csv/.md/.tex")
    add_step_options(p)
    p.set_defaults(handler=table_crosscheck)
