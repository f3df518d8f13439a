"""Attack steps: one command runs any attack on one network and writes an AttackResult + summary.

Pairs: the first N test images the network classifies correctly (the misclassified ones are
skipped and counted), with all 9 incorrect targets each, or one random target per image
(seeded by the test image's index, so every network gets the same target for the same image).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from cw_distillation import provenance
from cw_distillation.attacks.registry import RUNNERS
from cw_distillation.checkpoint import Checkpoint, fingerprint
from cw_distillation.checkpoint import attack_checkpoint as checkpoint_path
from cw_distillation.datasets import NAMES
from cw_distillation.files import atomic_path, jsonable, sha256_file, write_text_atomic
from cw_distillation.steps import add_step_options, step_for

log = logging.getLogger("cw_distillation")


def _in_batches(fn, model, x, target, kwargs: dict, batch_size: int, ckpt):
    """``fn`` over consecutive batches of pairs (``target`` None: untargeted), the finished ones
    checkpointed: the batches are those the attack makes itself (``pairs.batches``), so the
    result is the one-call one."""
    import numpy as np

    from cw_distillation.attacks.pairs import batches
    from cw_distillation.attacks.result import AttackResult

    state = ckpt.load() or {}
    parts = [AttackResult(**{k: state[f"{i}/{k}"] for k in AttackResult.ARRAYS}, meta={})
             for i in range(int(state.get("done", 0)))]
    per_pair = {k for k, v in kwargs.items() if isinstance(v, np.ndarray) and len(v) == len(x)}
    for i, rows in enumerate(batches(len(x), batch_size)):
        if i < len(parts):
            continue
        sliced = {k: (v[rows] if k in per_pair else v) for k, v in kwargs.items()}
        parts.append(fn(model, x[rows], None if target is None else target[rows], **sliced))
        log.info("%s: %d of %d pairs done", ckpt.path.name.removesuffix(".checkpoint.npz").lstrip("."),
                 rows.stop, len(x))
        if ckpt.due() and rows.stop < len(x):  # the last batch is never checkpointed, so its meta is fresh
            ckpt.save({"done": np.array(len(parts)),
                       **{f"{j}/{k}": getattr(p, k) for j, p in enumerate(parts) for k in AttackResult.ARRAYS}})
    merged = {k: np.concatenate([getattr(p, k) for p in parts]) for k in AttackResult.ARRAYS}
    return AttackResult(**merged, meta=parts[-1].meta)


def network_and_images(args: argparse.Namespace):
    """The network, the dataset, and the first ``n_images`` test images it classifies correctly
    (and every ``--select-with`` network too: the same images on the networks compared)."""
    from cw_distillation import evaluate
    from cw_distillation.data.prepare import load_dataset
    from cw_distillation.models import load_model, predict_logits

    arrays = load_dataset(args.data)
    model = load_model(args.model, args.dataset)
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    pool = min(len(x_test), max(args.n_images * 2, args.n_images + 100))  # enough to skip misclassified ones
    others = [load_model(path, args.dataset) for path in getattr(args, "select_with", None) or []]
    pred = [predict_logits(network, x_test[:pool]).argmax(1) for network in (model, *others)]
    # select_images takes a list of (N,) predictions too (np.asarray makes it (M, N))
    images, skipped = evaluate.select_images(pred, y_test[:pool], args.n_images)  # type: ignore[arg-type]
    return model, arrays, images, skipped


def _reused_rows(path: Path, image_index, target, label):
    """Rows of the earlier result at ``path`` for each pair (image, target; target None for an
    untargeted attack): (row in the earlier result or -1, (N,)), and that result."""
    import numpy as np

    from cw_distillation.attacks.result import AttackResult

    earlier = AttackResult.load(path)
    key = (lambda i, t: (int(i), int(t))) if target is not None else (lambda i, t: (int(i), -1))
    rows = {key(i, t): r for r, (i, t) in enumerate(zip(earlier.image_index, earlier.target, strict=True))}
    found = np.array([rows.get(key(i, t), -1) for i, t in
                      zip(image_index, target if target is not None else image_index, strict=True)], dtype=np.int64)
    taken = found >= 0
    if not np.array_equal(earlier.label[found[taken]], label[taken]):
        raise ValueError(f"{path}: its labels differ from the test set's for the same images; not reused")
    return found, earlier


def _merge(reused, found, computed, todo):
    """One AttackResult in the job's pair order: rows ``found`` of ``reused`` where found >= 0,
    ``computed`` (the attack's result on the pairs ``todo``) elsewhere."""
    import numpy as np

    from cw_distillation.attacks.result import AttackResult

    arrays = {}
    for name in AttackResult.ARRAYS:
        old = getattr(reused, name)
        out = np.empty((len(found), *old.shape[1:]), dtype=old.dtype)
        out[~todo] = old[found[~todo]]
        if computed is not None:
            out[todo] = getattr(computed, name)
        arrays[name] = out
    return AttackResult(**arrays, meta=computed.meta if computed is not None else reused.meta)


def attack(args: argparse.Namespace) -> int:
    import numpy as np

    from cw_distillation import evaluate
    from cw_distillation.models import predict_logits

    spec = RUNNERS[args.attack]
    options = json.loads(args.options)
    model, arrays, images, skipped = network_and_images(args)
    if spec.targeted:
        image_index, target = evaluate.target_pairs(images, arrays["y_test"][images], args.targets, args.seed)
    else:
        image_index, target = images, None
    x = arrays["x_test"][image_index]
    label = arrays["y_test"][image_index]
    fn = spec.attack
    log.info(
        "%s on %s: %d images (%d misclassified skipped), %d pairs, options %s",
        args.attack,
        args.model,
        len(images),
        skipped,
        len(x),
        options,
    )
    if args.reuse is None and args.reuse_from is not None:
        from cw_distillation import store

        args.reuse = store.reusable(args.reuse_from, store.rel_path(args.results, args.out), json.loads(args.parts))
    t0 = time.perf_counter()
    # Pairs an earlier result of the same job on other images has (the store's, --reuse) are
    # taken from it; only the others are attacked (each pair's attack is independent of the rest).
    todo = np.ones(len(x), dtype=bool)
    if args.reuse is not None:
        found, reused = _reused_rows(args.reuse, image_index, target, label)
        todo = found < 0
        log.info("%d of %d pairs taken from %s; %d to attack", int((~todo).sum()), len(x), args.reuse,
                 int(todo.sum()))
    ckpt = Checkpoint(
        checkpoint_path(args.out),
        fingerprint(args.attack, options, args.targets, args.batch_size, x, label, image_index,
                    np.asarray([] if target is None else target), sha256_file(args.model),
                    *([todo] if args.reuse is not None else [])),
        every_s=args.checkpoint_minutes * 60,
    )
    kwargs = {"label": label[todo], "image_index": image_index[todo], "batch_size": args.batch_size, **options}
    todo_target = None if target is None else target[todo]
    result = None
    if todo.any() and spec.queued:  # the in-flight state of every pair is checkpointed
        result = fn(model, x[todo], todo_target, checkpoint=ckpt, **kwargs)
    elif todo.any():  # one batch of pairs at a time, as the attack itself batches them; finished batches are kept
        result = _in_batches(fn, model, x[todo], todo_target, kwargs, args.batch_size, ckpt)
    if args.reuse is not None:
        result = _merge(reused, found, result, todo)
    wall = time.perf_counter() - t0
    # result is None here only when there is no pair at all (len(x) == 0: --n-images 0), which
    # checkpoint.fingerprint already refuses: the mypy ignores on result below stand for that case.
    # success is re-checked on the final examples, by the network's own argmax at T = 1
    final = predict_logits(model, result.x_adv).argmax(1)  # type: ignore[union-attr]
    rechecked = final == result.target if spec.targeted else final != result.label  # type: ignore[union-attr]
    if not np.array_equal(rechecked, result.success):  # type: ignore[union-attr]
        log.warning(
            "%d pairs' success disagreed with the network's argmax on x_adv; the argmax wins",
            int(np.sum(rechecked != result.success)),  # type: ignore[union-attr]
        )
        result.success = rechecked  # type: ignore[union-attr]
    result.meta = {  # type: ignore[union-attr]
        **result.meta,  # type: ignore[union-attr]
        "attack": args.attack,
        "options": options,
        "targets": args.targets,
        "n_images": len(images),
        "skipped_misclassified": int(skipped),
        "wall_seconds": wall,
    }
    if args.select_with:
        result.meta["images_also_correct_for"] = [str(p) for p in args.select_with]  # type: ignore[union-attr]
    if args.reuse is not None:
        result.meta["reused"] = {"from": str(args.reuse), "sha256": sha256_file(args.reuse),  # type: ignore[union-attr]
                                 "pairs": int((~todo).sum())}
    step = step_for(
        args,
        [args.data, args.model, *args.select_with, *([args.reuse] if args.reuse is not None else [])],
        {
            "attack": args.attack,
            "options": options,
            "n_images": args.n_images,
            "targets": args.targets,
            "batch_size": args.batch_size,
            "seed": args.seed,
        },
        seed=args.seed,
    )
    with atomic_path(args.out) as tmp:
        result.save(tmp)  # type: ignore[union-attr]
    provenance.write_manifest(args.out, step)
    ckpt.clear()
    per_image = spec.targeted and args.targets == "all"  # best / worst need every target of an image
    summary = {
        "attack": args.attack,
        "model": str(args.model),
        "dataset": args.dataset,
        "metric": spec.metric,
        "targeted": spec.targeted,
        "targets": args.targets,
        "options": options,
        "n_images": len(images),
        "skipped_misclassified": int(skipped),
        "n_pairs": len(x),
        "success_rate": evaluate.success_rate(result),  # type: ignore[arg-type]
        "wall_seconds": wall,
        "pairs_per_second": len(x) / wall if wall > 0 else None,
        "mean_iterations": float(np.mean(result.iterations)) if len(x) else None,  # type: ignore[union-attr]
        "cases": evaluate.best_average_worst(result, rng_seed=args.seed) if per_image else None,  # type: ignore[arg-type]
        "precision": evaluate.precision(result, rng_seed=args.seed) if per_image else None,  # type: ignore[arg-type]
        "mean_distance": {m: _nanmean(getattr(result, m)[result.success]) for m in ("l0", "l2", "linf")},  # type: ignore[union-attr]
    }
    write_text_atomic(args.summary, json.dumps(jsonable(summary), indent=1) + "\n")
    step.inputs = [*step.inputs, args.out]
    provenance.write_manifest(args.summary, step)
    log.info(
        "%s: success %.3f over %d pairs, mean %s %.4g, %.1f s (%.2f pairs/s)",
        args.out,
        summary["success_rate"],
        len(x),
        spec.metric,
        summary["mean_distance"][spec.metric] or float("nan"),
        wall,
        summary["pairs_per_second"] or 0,
    )
    return 0


def fragility(args: argparse.Namespace) -> int:
    """Section VIII.A's diagnosis, measured: vanishing gradients and saturated softmax, with and without F/T."""
    from cw_distillation import evaluate
    from cw_distillation import fragility as diagnose

    model, arrays, images, skipped = network_and_images(args)
    pos, target = evaluate.all_targets(arrays["y_test"][images])
    x = arrays["x_test"][images[pos]]
    report = {
        "model": str(args.model),
        "dataset": args.dataset,
        "temperature": args.temperature,
        "n_images": len(images),
        "skipped_misclassified": int(skipped),
        "n_pairs": len(x),
        "plain": diagnose.fragility_report(model, x, target),
        "divided_by_T": diagnose.fragility_report(model, x, target, output_temperature=args.temperature),
    }
    step = step_for(args, [args.data, args.model], {"n_images": args.n_images, "temperature": args.temperature})
    write_text_atomic(args.out, json.dumps(jsonable(report), indent=1) + "\n")
    provenance.write_manifest(args.out, step)
    log.info("%s: %s", args.out, report)
    return 0


def transfer_attack(args: argparse.Namespace) -> int:
    """High-confidence L2 examples on a source network: every (image, target) at every kappa, in one batch."""
    import numpy as np

    from cw_distillation.attacks import cw_l2
    from cw_distillation.transfer import transfer_pairs

    options = json.loads(args.options)
    model, arrays, images, skipped = network_and_images(args)
    kappas = np.asarray(args.kappas, dtype=np.float32)
    image_index, target, kappa = transfer_pairs(images, arrays["y_test"][images], kappas, args.targets, args.seed)
    x = arrays["x_test"][image_index]
    log.info(
        "transfer examples on %s: %d images x %s x %d kappas = %d pairs",
        args.model,
        len(images),
        "9 targets" if args.targets == "all" else "1 random target",
        len(kappas),
        len(x),
    )
    t0 = time.perf_counter()
    ckpt = Checkpoint(
        checkpoint_path(args.out),
        fingerprint("transfer", options, args.batch_size, x, target, kappa, sha256_file(args.model)),
        every_s=args.checkpoint_minutes * 60,
    )
    result = cw_l2.attack(
        model,
        x,
        target,
        checkpoint=ckpt,
        confidence=kappa,
        image_index=image_index,
        label=arrays["y_test"][image_index],
        batch_size=args.batch_size,
        **options,
    )
    from cw_distillation.models import predict_logits

    z = predict_logits(model, result.x_adv)
    result.meta = {
        **result.meta,
        "kappa": kappa.tolist(),
        "targets": args.targets,
        "options": options,
        "wall_seconds": time.perf_counter() - t0,
        "skipped_misclassified": int(skipped),
    }
    step = step_for(
        args,
        [args.data, args.model],
        {
            "kappas": list(args.kappas),
            "options": options,
            "n_images": args.n_images,
            "targets": args.targets,
            "seed": args.seed,
            "batch_size": args.batch_size,
        },
    )
    with atomic_path(args.out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            **{name: getattr(result, name) for name in result.ARRAYS},
            kappa=kappa,
            source_logits=z,
            meta=np.array(json.dumps(jsonable(result.meta))),
        )
    provenance.write_manifest(args.out, step)
    ckpt.clear()
    for k in kappas:
        sel = kappa == k
        log.info("kappa %g: source success %.3f", k, float(np.mean(result.success[sel])))
    return 0


def summarize(args: argparse.Namespace) -> int:
    """Best / average / worst case of a stored result, with bootstrap intervals (a result made
    before the attack step wrote intervals, or another seed's average case), as JSON on stdout."""
    from cw_distillation import evaluate
    from cw_distillation.attacks.result import AttackResult

    result = AttackResult.load(args.result)
    summary = {
        "result": str(args.result),
        "seed": args.seed,
        "n_images": len(set(result.image_index.tolist())),
        "n_pairs": len(result.success),
        "success_rate": evaluate.success_rate(result),
        "cases": evaluate.best_average_worst(result, rng_seed=args.seed),
        "precision": evaluate.precision(result, rng_seed=args.seed),
    }
    print(json.dumps(jsonable(summary), indent=1))
    return 0


def _nanmean(values) -> float | None:
    import numpy as np

    return float(np.mean(values)) if len(values) else None


def _network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, choices=NAMES, help="the dataset (its architecture)")
    p.add_argument("--data", required=True, type=Path, help="the prepared dataset (.npz)")
    p.add_argument("--model", required=True, type=Path, help="the attacked network (.keras)")
    p.add_argument("--n-images", type=int, required=True, help="the first test images it classifies correctly")


def transfer_predict(args: argparse.Namespace) -> int:
    """The target network's class for every high-confidence example made on the source."""
    import numpy as np

    from cw_distillation.files import atomic_path
    from cw_distillation.models import load_model, predict_logits

    model = load_model(args.model, args.dataset)
    with np.load(args.examples, allow_pickle=False) as z:
        pred = predict_logits(model, z["x_adv"]).argmax(1)
    with atomic_path(args.out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, pred=pred)
    step = step_for(args, [args.examples, args.model], {"dataset": args.dataset})
    provenance.write_manifest(args.out, step)
    log.info("wrote %s", args.out)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attack", help="run one attack on one network over the first N correctly classified test images")
    p.add_argument("--attack", required=True, choices=sorted(RUNNERS), help="the attack (attacks/registry.py)")
    p.add_argument("--options", default="{}", help="JSON of the attack's keyword arguments (hyperparameters)")
    _network_options(p)
    p.add_argument(
        "--targets",
        choices=["all", "random"],
        default="all",
        help="all 9 incorrect targets per image, or one random target (seeded by image index)",
    )
    p.add_argument("--select-with", type=Path, nargs="*", default=[], metavar="MODEL",
                   help="other networks (.keras) that must also classify an image correctly for it to be attacked")
    p.add_argument("--reuse", type=Path, metavar="NPZ",
                   help="an earlier result of this job on other images: its pairs among this job's are taken over")
    p.add_argument("--reuse-from", type=Path, metavar="STORE",
                   help="take over the pairs of the store's result of this job on other images, if it has one "
                        "(store.reusable; needs --parts and --results)")
    p.add_argument("--parts", help="JSON of the job's store parts (with --reuse-from)")
    p.add_argument("--results", type=Path, help="the results folder --out is under (with --reuse-from)")
    p.add_argument("--batch-size", type=int, default=100, help="pairs optimised together")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0,
                   help="minutes between checkpoints (beside --out, hidden; removed when the job ends)")
    p.add_argument("--seed", type=int, default=0, help="draws random targets (targets: random)")
    p.add_argument("--out", required=True, type=Path, help=".npz (AttackResult)")
    p.add_argument("--summary", required=True, type=Path, help=".json (success, best/average/worst, timing)")
    add_step_options(p)
    p.set_defaults(handler=attack)

    p = sub.add_parser("summarize", help="best / average / worst case of a stored attack result, with intervals")
    p.add_argument("result", type=Path, help="an attack's .npz (AttackResult)")
    p.add_argument("--seed", type=int, default=0, help="draws the average case's targets (the workflow's seed)")
    p.set_defaults(handler=summarize)

    p = sub.add_parser("fragility", help="gradient and softmax saturation of a network (Section VIII.A)")
    _network_options(p)
    p.add_argument("--temperature", type=float, required=True, help="T for the divide-by-T variant")
    p.add_argument("--out", required=True, type=Path, help=".json")
    add_step_options(p)
    p.set_defaults(handler=fragility)

    p = sub.add_parser("transfer-attack", help="high-confidence L2 examples on a source network, kappa per pair")
    _network_options(p)
    p.add_argument("--kappas", type=float, nargs="+", required=True, help="the confidences kappa, all in one batch")
    p.add_argument("--options", default="{}", help="JSON of the L2 attack's keyword arguments")
    p.add_argument(
        "--targets",
        choices=["all", "random"],
        default="all",
        help="all 9 incorrect targets per image, or one random target (seeded by image index)",
    )
    p.add_argument("--seed", type=int, default=0, help="draws random targets (targets: random)")
    p.add_argument("--batch-size", type=int, default=100, help="pairs optimised together")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0, help="minutes between checkpoints")
    p.add_argument("--out", required=True, type=Path, help=".npz")
    add_step_options(p)
    p.set_defaults(handler=transfer_attack)

    p = sub.add_parser("transfer-predict", help="a target network's predictions on transfer examples")
    p.add_argument("--dataset", required=True, choices=NAMES, help="the dataset (its architecture)")
    p.add_argument("--examples", required=True, type=Path, help="the source network's examples (.npz)")
    p.add_argument("--model", required=True, type=Path, help="the network they are tried on (.keras)")
    p.add_argument("--out", required=True, type=Path, help="its predictions on them (.npz)")
    add_step_options(p)
    p.set_defaults(handler=transfer_predict)
