"""Progress a person can read while a long step runs: a tqdm bar whose status line (steps
taken, rows in flight) is redrawn on its own clock, not only when a pair finishes.

On a terminal it redraws twice a second; in a log file (a rule's log) it writes a line at
most every 30 s, so an attack that finishes its first pair after an hour still shows its
optimiser steps moving.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """total/initial: units (pairs) in all and already done; desc: the bar's name."""

    def __init__(self, total: int, initial: int = 0, desc: str = "", unit: str = "pair",
                 enabled: bool = True) -> None:
        from tqdm.auto import tqdm

        self.every = 0.5 if sys.stderr.isatty() else 30.0
        self.bar = tqdm(total=total, initial=initial, unit=unit, desc=desc, disable=not enabled,
                        mininterval=self.every)
        self.last = time.monotonic()

    def advance(self, n: int) -> None:
        self.bar.update(n)

    def status(self, **fields: Any) -> None:
        """Show ``fields`` after the bar; redraw if the last line is older than the interval."""
        self.bar.set_postfix(fields, refresh=False)
        if time.monotonic() - self.last >= self.every:
            self.bar.refresh()
            self.last = time.monotonic()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
