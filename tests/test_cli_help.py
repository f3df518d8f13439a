"""Every option and argument of every cw-distillation step says what it is (--help)."""

import argparse

from cw_distillation.cli import build_parser


def undocumented(parser: argparse.ArgumentParser, name: str = "") -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                missing += undocumented(subparser, f"{name} {sub}".strip())
        elif not action.help and action.dest != "help":
            missing.append(f"{name} {(action.option_strings or [action.dest])[0]}")
    return missing


def test_every_option_of_every_step_has_help_text():
    assert undocumented(build_parser()) == []
