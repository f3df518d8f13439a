"""``cw-distillation <step> ...``: the only entry points the workflow's rules call.

Each step writes its outputs atomically and then a provenance manifest per
output. Heavy imports (TensorFlow) happen inside the steps that need them, so
``audit`` and ``explain`` start instantly.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from cw_distillation import provenance
from cw_distillation.files import disk_full
from cw_distillation.steps import (
    attacking,
    audit,
    crosschecking,
    data,
    reporting,
    robustness,
    storing,
    training,
    verifying,
)

STAGES = [data, training, attacking, crosschecking, robustness, reporting, storing, audit, verifying]
# The steps that run a network: they say which device they run on (device.setup) first.
# Steps that inspect files rather than read them as inputs (they report damage themselves).
UNCHECKED_STEPS = {"audit", "explain", "provenance", "check-config", "summarize", "verify"}
NETWORK_STEPS = {"train", "soft-labels", "logits", "attack", "fragility", "transfer-attack", "transfer-predict",
                 "verify", "crosscheck", "robustness"}


# The options many steps share mean the same in each; a step that gives one no help of its own gets
# this (defined here once, and outside the result-shaping steps, whose code keys the store).
SHARED_HELP = {
    "--dataset": "the dataset (mnist or cifar10)",
    "--data": "the prepared dataset, results/<profile>/data/<dataset>.npz",
    "--model": "the network (.keras)",
    "--n-images": "the first test images the network (and every --select-with network) classifies correctly",
    "--out-base": "the output path without its extensions",
}


def _shared_help(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                _shared_help(subparser)
        elif not action.help and action.option_strings and action.option_strings[0] in SHARED_HELP:
            action.help = SHARED_HELP[action.option_strings[0]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cw-distillation", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="STEP")
    for stage in STAGES:
        stage.register(sub)
    _shared_help(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("jax").setLevel(logging.WARNING)  # not its INFO lines on looking for TPUs
    provenance.mark_start()  # the time and the code the manifests report are those of now
    from cw_distillation import inputs

    reads = inputs.input_files(args) if args.command not in UNCHECKED_STEPS else []
    try:
        inputs.verify(reads)
        if args.command in NETWORK_STEPS:
            from cw_distillation import device

            device.setup()
        return args.handler(args)
    except inputs.DECODE_ERRORS as err:
        if args.verbose:
            raise
        bad = inputs.corrupt_input(reads)
        what = f"{bad} is corrupt" if bad else "one of its inputs is corrupt"
        print(f"cw-distillation {args.command}: error: {what} ({type(err).__name__}: {err}); delete it and rerun "
              "(make replicate remakes it; a downloaded file is fetched again)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except Exception as err:  # one clear line for the user; the traceback with -v
        if args.verbose:
            raise
        full = disk_full(err, getattr(err, "filename", None) or "(a file the error does not name)")
        what = str(full) if full is not None else f"{type(err).__name__}: {err}"
        print(f"cw-distillation {args.command}: error: {what}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
