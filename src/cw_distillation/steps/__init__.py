"""The workflow's steps as command-line handlers, one module per stage.

Each module has ``register(sub)`` that adds its subcommands; handlers import
heavy libraries (TensorFlow) only when they run.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from cw_distillation import provenance
from cw_distillation.provenance import Step

log = logging.getLogger("cw_distillation")


def add_step_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rule", help="workflow rule that runs this step (recorded in provenance)")
    parser.add_argument("--wildcards", default="", help="k=v,... of the rule (recorded in provenance)")
    parser.add_argument("--code", nargs="*", default=[], type=Path,
                        help="the code files that shape the outputs (recorded as inputs, so that audit names them "
                        "when they change)")


def step_for(args: argparse.Namespace, inputs: Sequence[str | Path], params: dict, **extra) -> Step:
    wildcards = dict(item.split("=", 1) for item in args.wildcards.split(",") if "=" in item) if args.wildcards else {}
    return Step(
        command=args.command,
        params=params,
        inputs=[Path(p) for p in [*inputs, *args.code]],
        rule=args.rule,
        wildcards=wildcards,
        **extra,
    )


def publish(paths: list[Path], step: Step) -> None:
    """Give each output of ``step`` its provenance manifest: what makes a written file a result."""
    for path in paths:
        provenance.write_manifest(path, step)
        log.info("wrote %s", path)
