"""The robustness step (issue 35): robust accuracy against epsilon of one network under every
method (attack x loss) of a job, on the first N test images it (and the networks it is compared
with) classifies correctly; with ``--masking``, the network's masking flags on the same images.

One JSON per job (``robustness/<dataset>/<network>/<job>.json``): the images, and per (method,
norm) the grid, the robust accuracy and, per eps, which images stood (a string of 0 and 1 in
image order), so that the tables compare attacks image by image.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from cw_distillation import provenance
from cw_distillation.checkpoint import Checkpoint, fingerprint
from cw_distillation.datasets import NAMES
from cw_distillation.files import jsonable, sha256_file, write_text_atomic
from cw_distillation.steps import add_step_options, step_for
from cw_distillation.steps.attacking import network_and_images

log = logging.getLogger("cw_distillation")


def checkpoint_path(out: str | Path) -> Path:
    """Where the job writing ``out`` keeps its checkpoint (beside it, hidden)."""
    out = Path(out)
    return out.with_name(f".{out.stem}.checkpoint.npz")


def bits(flags) -> str:
    """A bool array as a string of 0 and 1 (one character per image, in image order)."""
    return "".join("1" if f else "0" for f in flags)


def robustness(args: argparse.Namespace) -> int:
    import numpy as np

    from cw_distillation import robustness as compute

    grids = {norm: compute.check_grid(values, f"--{norm}-eps") for norm, values in
             (("linf", args.linf_eps), ("l2", args.l2_eps)) if values is not None}
    if not grids:
        raise ValueError("--linf-eps or --l2-eps: give the epsilon grid of at least one norm")
    for method in args.methods:
        compute.parse_method(method)
    apgd_options = json.loads(args.apgd_options)
    model, arrays, images, skipped = network_and_images(args)
    x, label = arrays["x_test"][images], arrays["y_test"][images]
    log.info("robustness of %s: %d images (%d misclassified skipped), methods %s, eps %s", args.model, len(images),
             skipped, args.methods, {n: g.tolist() for n, g in grids.items()})
    ckpt = Checkpoint(
        checkpoint_path(args.out),
        fingerprint("robustness", args.methods, {n: g.tolist() for n, g in grids.items()}, args.temperature,
                    args.igs_steps, apgd_options, args.seed, args.batch_size, x, label, images,
                    sha256_file(args.model)),
        every_s=args.checkpoint_minutes * 60,
    )
    saved = ckpt.load() or {}
    curves = [json.loads(str(saved[f"{i}"])) for i in range(int(saved.get("done", 0)))]
    t0 = time.perf_counter()
    todo = [(m, n) for m in args.methods for n in grids]
    for i, (method, norm) in enumerate(todo):
        if i < len(curves):
            continue
        c = compute.curve(model, x, label, method=method, norm=norm, eps=grids[norm], temperature=args.temperature,
                          image_index=images, igs_steps=args.igs_steps, apgd_options=apgd_options, seed=args.seed,
                          batch_size=args.batch_size)
        attack, loss = compute.parse_method(method)
        curves.append({
            "method": method, "attack": attack, "loss": loss, "norm": norm, "eps": c.eps.tolist(),
            "robust_accuracy": c.robust_accuracy.tolist(), "robust": [bits(r) for r in c.robust],
            "gradient_evaluations": c.gradient_evaluations, "seconds": c.seconds, "options": c.options,
        })
        log.info("%s %s: robust accuracy %s (%.1f s, %d gradient evaluations)", method, norm,
                 np.round(c.robust_accuracy, 3).tolist(), c.seconds, c.gradient_evaluations)
        if ckpt.due() and i + 1 < len(todo):
            ckpt.save({"done": np.array(len(curves)),
                       **{f"{j}": np.array(json.dumps(jsonable(v))) for j, v in enumerate(curves)}})
    masking = None
    if args.masking:
        flags = compute.masking_flags(model, x, label)
        masking = {**{k: v for k, v in flags.items() if k not in ("zero_gradient", "one_hot_softmax")},
                   "zero_gradient": bits(flags["zero_gradient"]), "one_hot_softmax": bits(flags["one_hot_softmax"])}
        log.info("masking flags: %s", {k: v for k, v in masking.items() if k.endswith("fraction")})
    report = {
        "dataset": args.dataset, "model": str(args.model), "network": Path(args.model).stem,
        "temperature": args.temperature, "n_images": len(images), "skipped_misclassified": int(skipped),
        "image_index": images.tolist(), "label": label.tolist(),
        "images_also_correct_for": [str(p) for p in args.select_with],
        "igs_steps": args.igs_steps, "apgd": apgd_options, "seed": args.seed, "batch_size": args.batch_size,
        "curves": curves, "masking": masking, "wall_seconds": time.perf_counter() - t0,
    }
    step = step_for(
        args,
        [args.data, args.model, *args.select_with],
        {"methods": args.methods, "eps": {n: g.tolist() for n, g in grids.items()}, "temperature": args.temperature,
         "n_images": args.n_images, "igs_steps": args.igs_steps, "apgd": apgd_options, "masking": args.masking,
         "batch_size": args.batch_size, "seed": args.seed},
        seed=args.seed,
    )
    write_text_atomic(args.out, json.dumps(jsonable(report), indent=1) + "\n")
    provenance.write_manifest(args.out, step)
    ckpt.clear()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("robustness", help="robust accuracy against epsilon of one network under fixed-budget "
                                          "attacks (FGS, IGS, APGD) with several losses; masking flags")
    p.add_argument("--dataset", required=True, choices=NAMES)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--n-images", type=int, required=True)
    p.add_argument("--select-with", type=Path, nargs="*", default=[], metavar="MODEL",
                   help="other networks (.keras) that must also classify an image correctly for it to be taken")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="T of F' = softmax(Z/T) for the ce_divT loss: the network's distillation temperature")
    p.add_argument("--methods", nargs="+", required=True, metavar="METHOD",
                   help="{attack}_{loss}: attack fgs, igs or apgd; loss ce, ce_divT, margin or dlr")
    p.add_argument("--linf-eps", type=float, nargs="*", help="the L-inf epsilon grid ([-0.5, 0.5] scale)")
    p.add_argument("--l2-eps", type=float, nargs="*", help="the L2 epsilon grid")
    p.add_argument("--igs-steps", type=int, default=40, help="IGS steps per epsilon (step size 2.5 eps / steps)")
    p.add_argument("--apgd-options", default="{}", help="JSON of APGD's options (iterations, restarts, ...)")
    p.add_argument("--masking", action="store_true", help="also the masking flags of the network on the images")
    p.add_argument("--seed", type=int, default=0, help="APGD's random starts")
    p.add_argument("--batch-size", type=int, default=500, help="images per gradient evaluation")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0,
                   help="minutes between checkpoints (beside --out, hidden; removed when the job ends)")
    p.add_argument("--out", required=True, type=Path, help=".json")
    add_step_options(p)
    p.set_defaults(handler=robustness)
