"""Two profiles' verdicts side by side (issue 33: 10 against 50 epochs): rows pair by section and
claim text, the verdicts that move come first, and a profile named wrongly is refused."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import REPO

from cw_distillation.cli import main
from cw_distillation.config import ConfigError, check_cross_keys, load_schema, validate_config
from cw_distillation.outputs.verdict_comparison import MOVES, SAME, compare

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")


def row(claim: str, verdict: str, ours: str = "1.0", section: str = "Table IV", why: str = "") -> dict:
    return {"claim_id": "cw.distance.standard", "section": section, "claim": claim, "paper": "8.5", "ours": ours,
            "interval": [0.9, 1.1], "rule": "at most 10.6", "verdict": verdict, "why": why, "counted": True,
            "source": "tables/table4_undistilled.md"}


def verdicts(profile: str, rows: list[dict]) -> dict:
    return {"profile": profile, "scale_note": f"{profile} profile", "rows": rows}


TEN = verdicts("p10", [
    row("mnist: L0, best case", "holds", "9.4"),
    row("mnist: L0, worst case", "inconclusive at this scale", "43.7"),
    row("mnist: L0, worst case", "holds", "1", section="Table VI"),  # same claim text, another section
    row("mnist: only judged at 10 epochs", "holds"),
])
FIFTY = verdicts("p50", [
    row("mnist: L0, best case", "holds", "7.3"),
    row("mnist: only judged at 50 epochs", "does not hold"),
    row("mnist: L0, worst case", "holds", "32.4", why="inside the band"),
    row("mnist: L0, worst case", "does not hold", "2", section="Table VI", why="outside the band"),
])


def test_moved_verdicts_come_first_each_with_both_sides_and_the_later_why():
    rows = compare(TEN, FIFTY)
    assert [(r["section"], r["claim"], r["change"]) for r in rows] == [
        ("Table IV", "mnist: L0, worst case", MOVES),
        ("Table VI", "mnist: L0, worst case", MOVES),
        ("Table IV", "mnist: L0, best case", SAME),
        ("Table IV", "mnist: only judged at 50 epochs", "only in p50"),
        ("Table IV", "mnist: only judged at 10 epochs", "only in p10"),
    ]
    worst = rows[0]
    assert (worst["ours (p10)"], worst["verdict (p10)"]) == ("43.7", "inconclusive at this scale")
    assert (worst["ours (p50)"], worst["verdict (p50)"], worst["why (p50)"]) == ("32.4", "holds", "inside the band")
    assert rows[2]["why (p50)"] == "" and rows[4]["verdict (p50)"] == "—"


def test_a_claim_judged_twice_in_one_report_is_an_error_naming_it():
    twice = verdicts("p50", [row("mnist: L0, best case", "holds"), row("mnist: L0, best case", "does not hold")])
    with pytest.raises(ValueError, match=r"'mnist: L0, best case' \(Table IV\) is judged twice"):
        compare(TEN, twice)


def test_the_step_writes_the_table_and_says_how_many_verdicts_move(tmp_path):
    base, other = tmp_path / "p10.json", tmp_path / "p50.json"
    base.write_text(json.dumps(TEN))
    other.write_text(json.dumps(FIFTY))
    out = tmp_path / "tables/verdicts_vs_p10"
    assert main(["table-verdicts-compared", "--base", str(base), "--verdicts", str(other), "--out-base", str(out),
                 "--rule", "table_verdicts_compared"]) == 0
    with out.with_suffix(".csv").open() as f:
        assert [r["change"] for r in csv.DictReader(f)] == [MOVES, MOVES, SAME, "only in p50", "only in p10"]
    assert "2 of the 3 claims both judge change verdict" in out.with_suffix(".md").read_text()


def test_compare_with_must_name_another_profile_whose_verdicts_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = validate_config({"profile": "p50", "datasets": ["mnist"], "compare_with": "p50"}, SCHEMA)
    with pytest.raises(ConfigError, match="config key 'compare_with': 'p50' is this profile"):
        check_cross_keys(config)
    config["compare_with"] = "p10"
    with pytest.raises(ConfigError, match=r"compare_with': paper_outputs/p10/verdicts\.json does not exist"):
        check_cross_keys(config)
    (tmp_path / "paper_outputs/p10").mkdir(parents=True)
    (tmp_path / "paper_outputs/p10/verdicts.json").write_text(json.dumps(TEN))
    assert check_cross_keys(config)["compare_with"] == "p10"
