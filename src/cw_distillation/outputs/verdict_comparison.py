"""Which verdicts move between two profiles' reports: the same claims judged on other networks
(issue 33: trained 10 and 50 epochs, attacked on the same images), from their verdicts.json.

A row of a report is one claim, named by its section and claim text: the report writes both from
the same templates in every profile (a row's ``claim_id`` names a kind of claim that many rows
share, so it cannot pair them).
"""

from __future__ import annotations

from typing import Any

MOVES, SAME = "moves", "same"


def _rows(verdicts: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """A verdicts.json's claim rows by (section, claim); ValueError on a row named twice."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in verdicts["rows"]:
        key = (row["section"], row["claim"])
        if key in out:
            raise ValueError(f"profile {verdicts.get('profile')!r}: claim {key[1]!r} ({key[0]}) is judged twice")
        out[key] = row
    return out


def columns(base: str, profile: str) -> list[str]:
    """The table's columns, the two profiles named in them."""
    return ["section", "claim", "paper", f"ours ({base})", f"verdict ({base})", f"ours ({profile})",
            f"verdict ({profile})", "change", f"why ({profile})"]


def compare(base: dict[str, Any], other: dict[str, Any]) -> list[dict[str, str]]:
    """One row per claim either report judges: rows whose verdict moves first, then the unchanged,
    then claims only one profile judges (each group in the order of ``other``'s report, then
    ``base``'s)."""
    b, o = base["profile"], other["profile"]
    old, new = _rows(base), _rows(other)
    order = [*new, *(k for k in old if k not in new)]
    rows = []
    for key in order:
        before, after = old.get(key), new.get(key)
        if before is not None and after is not None:
            change = MOVES if before["verdict"] != after["verdict"] else SAME
        else:
            change = f"only in {o if before is None else b}"
        either = after or before
        assert either is not None  # every key comes from one of them
        rows.append({
            "section": key[0], "claim": key[1], "paper": either["paper"],
            f"ours ({b})": before["ours"] if before else "—", f"verdict ({b})": before["verdict"] if before else "—",
            f"ours ({o})": after["ours"] if after else "—", f"verdict ({o})": after["verdict"] if after else "—",
            "change": change, f"why ({o})": (after or {}).get("why", "") if change == MOVES else "",
        })
    rank = {MOVES: 0, SAME: 1}
    return sorted(rows, key=lambda r: rank.get(r["change"], 2))  # stable: each group keeps the report's order


def caption(rows: list[dict[str, str]], base: dict[str, Any], other: dict[str, Any]) -> str:
    """What the table compares and how many verdicts move."""
    both = [r for r in rows if r["change"] in (MOVES, SAME)]
    moved = sum(r["change"] == MOVES for r in rows)
    return (
        f"Every claim judged by {other['profile']} ({other['scale_note']}) beside {base['profile']}'s "
        f"({base['scale_note']}): {moved} of the {len(both)} claims both judge change verdict "
        f"(listed first, with {other['profile']}'s why); {len(rows) - len(both)} are judged by one profile only. "
        "Rows are matched by section and claim text; each verdict is its profile's REPORT.md's."
    )
