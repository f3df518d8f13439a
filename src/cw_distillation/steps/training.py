"""Training steps: standard networks, the distillation chain (init, teacher, soft labels, student), logits."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

from cw_distillation import provenance
from cw_distillation.datasets import NAMES
from cw_distillation.files import jsonable, write_text_atomic
from cw_distillation.steps import add_step_options, step_for

log = logging.getLogger("cw_distillation")

ROLES = ("standard", "init", "teacher", "student", "half")


def _split(args: argparse.Namespace):
    from cw_distillation.data.prepare import load_dataset
    from cw_distillation.splits import training_split

    arrays = load_dataset(args.data)
    half = getattr(args, "half", None)
    return arrays, training_split(
        arrays, validation_size=args.validation_size, train_subset=args.train_subset, half=half
    )


def train(args: argparse.Namespace) -> int:
    import numpy as np

    from cw_distillation import train as training
    from cw_distillation.models import build_model, load_model, save_model

    if args.temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {args.temperature}")
    if args.role in ("teacher", "student") and args.init is None:
        raise ValueError(f"--init (the initial-epoch network) is needed for role {args.role}")
    if args.role == "student" and args.soft_labels is None:
        raise ValueError("--soft-labels (the teacher's softmax at T) is needed for role student")
    if args.role == "half" and args.half is None:
        raise ValueError("--half a|b is needed for role half")
    arrays, split = _split(args)
    inputs = [args.data] + [p for p in (args.init, args.soft_labels) if p is not None]
    params = {k: v for k, v in vars(args).items() if k not in {"handler", "command", "rule", "wildcards", "verbose"}}
    params = {k: str(v) if isinstance(v, Path) else v for k, v in params.items()}
    step = step_for(args, inputs, params, seed=args.seed, determinism=True)
    common = {
        "seed": args.seed,
        "checkpoint_dir": args.checkpoint_dir,
        "batch_size": args.batch_size,
        "x_val": split.x_val if len(split.x_val) else None,
        "y_val": split.y_val if len(split.y_val) else None,
        "log": log.info,
    }
    t0 = time.perf_counter()
    y = split.y_train
    if args.role in ("standard", "half"):
        model = build_model(args.dataset, seed=args.seed)
        history = training.train_network(
            model, split.x_train, y, temperature=args.temperature, epochs=args.epochs, **common
        )
    elif args.role == "init":
        model, history = training.train_init(args.dataset, split.x_train, y, **common)
    elif args.role == "teacher":
        init = load_model(args.init, args.dataset)
        model, history = training.train_teacher(
            init, split.x_train, y, temperature=args.temperature, epochs=args.epochs, **common
        )
    else:
        init = load_model(args.init, args.dataset)
        with np.load(args.soft_labels, allow_pickle=False) as z:
            y_soft, fingerprint = z["soft_labels"], z["train_labels"]
        if len(y_soft) != len(y) or not np.array_equal(fingerprint, y):
            raise ValueError(
                f"{args.soft_labels} was made for another training set ({len(y_soft)} soft labels, "
                f"{len(y)} training images here); rerun its rule"
            )
        model, history = training.train_student(
            init, split.x_train, y_soft, temperature=args.temperature, epochs=args.epochs, **common
        )
    seconds = time.perf_counter() - t0
    test_accuracy = training.accuracy(model, arrays["x_test"], arrays["y_test"])
    metrics = {
        "dataset": args.dataset,
        "role": args.role,
        "temperature": args.temperature,
        "epochs": args.epochs if args.role != "init" else 1,
        "train_images": len(split.x_train),
        "validation_images": len(split.x_val),
        "test_images": len(arrays["x_test"]),
        "test_accuracy": test_accuracy,
        "train_seconds": seconds,
        "history": history,
    }
    save_model(model, args.out)
    provenance.write_manifest(args.out, step)
    if args.checkpoint_dir is not None:  # only there to resume an interrupted run
        shutil.rmtree(args.checkpoint_dir, ignore_errors=True)
    write_text_atomic(args.metrics, json.dumps(jsonable(metrics), indent=1) + "\n")
    step.inputs = [*step.inputs, args.out]
    provenance.write_manifest(args.metrics, step)
    log.info(
        "%s: test accuracy %.4f at T=1 (%d images), trained in %.0f s",
        args.out,
        test_accuracy,
        len(arrays["x_test"]),
        seconds,
    )
    return 0


def soft_labels(args: argparse.Namespace) -> int:
    import numpy as np

    from cw_distillation import train as training
    from cw_distillation.files import atomic_path
    from cw_distillation.models import load_model

    _, split = _split(args)
    teacher = load_model(args.teacher, args.dataset)
    step = step_for(
        args,
        [args.data, args.teacher],
        {
            "dataset": args.dataset,
            "temperature": args.temperature,
            "validation_size": args.validation_size,
            "train_subset": args.train_subset,
        },
    )
    y_soft = training.soft_labels(teacher, split.x_train, args.temperature)
    with atomic_path(args.out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, soft_labels=y_soft, train_labels=split.y_train)
    agreement = float(np.mean(y_soft.argmax(1) == split.y_train))
    step.notes = {"argmax_agrees_with_labels": agreement, "mean_max_probability": float(y_soft.max(1).mean())}
    provenance.write_manifest(args.out, step)
    log.info(
        "%s: %d soft labels at T=%g; argmax agrees with the labels on %.4f; mean max prob %.3f",
        args.out,
        len(y_soft),
        args.temperature,
        agreement,
        step.notes["mean_max_probability"],
    )
    return 0


def logits(args: argparse.Namespace) -> int:
    import numpy as np

    from cw_distillation.data.prepare import load_dataset
    from cw_distillation.files import atomic_path
    from cw_distillation.models import load_model, predict_logits

    arrays = load_dataset(args.data)
    model = load_model(args.model, args.dataset)
    step = step_for(args, [args.data, args.model], {"dataset": args.dataset, "split": "test"})
    z = predict_logits(model, arrays["x_test"])
    with atomic_path(args.out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, logits=z, labels=arrays["y_test"])
    provenance.write_manifest(args.out, step)
    log.info("%s: logits of %d test images", args.out, len(z))
    return 0


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, choices=NAMES, help="the dataset (its architecture)")
    p.add_argument("--data", required=True, type=Path, help="prepared .npz")
    p.add_argument("--validation-size", type=int, default=5000, help="first N training images held out")
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N of the rest")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one network (standard, init epoch, teacher, distilled student, half)")
    _data_options(p)
    p.add_argument("--role", required=True, choices=ROLES, help="which network of the paper's chain this one is")
    p.add_argument("--out", required=True, type=Path, help=".keras file")
    p.add_argument("--metrics", required=True, type=Path, help=".json with test accuracy, epochs, T, time")
    p.add_argument("--temperature", type=float, default=1.0, help="T of the softmax it trains at (teacher, student)")
    p.add_argument("--epochs", type=int, default=50, help="training epochs (the paper's 50)")
    p.add_argument("--batch-size", type=int, default=128, help="images per SGD step (the released 128)")
    p.add_argument("--seed", type=int, default=0, help="initial weights and data order")
    p.add_argument("--init", type=Path, help="the initial-epoch network (teacher, student)")
    p.add_argument("--soft-labels", type=Path, help="the teacher's soft labels (student)")
    p.add_argument("--half", choices=["a", "b"], help="which half of the training images (role half)")
    p.add_argument("--checkpoint-dir", type=Path, help="per-epoch checkpoints; an interrupted run resumes")
    add_step_options(p)
    p.set_defaults(handler=train)

    p = sub.add_parser("soft-labels", help="the teacher's softmax(Z/T) on the training images (distillation step 2)")
    _data_options(p)
    p.add_argument("--teacher", required=True, type=Path, help="the teacher network (.keras)")
    p.add_argument("--temperature", required=True, type=float, help="T of the teacher's softmax")
    p.add_argument("--out", required=True, type=Path, help="the soft labels (.npz)")
    add_step_options(p)
    p.set_defaults(handler=soft_labels)

    p = sub.add_parser("logits", help="a network's logits Z(x) on the test set")
    p.add_argument("--dataset", required=True, choices=NAMES, help="the dataset (its architecture)")
    p.add_argument("--data", required=True, type=Path, help="the prepared dataset (.npz)")
    p.add_argument("--model", required=True, type=Path, help="the network (.keras)")
    p.add_argument("--out", required=True, type=Path, help="its logits on the test set (.npz)")
    add_step_options(p)
    p.set_defaults(handler=logits)
