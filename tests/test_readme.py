"""The README's results block is generated from the committed verdicts.json files and matches them."""

import json

import pytest
from conftest import REPO

from cw_distillation.cli import main
from cw_distillation.outputs.readme import RESULTS_END, RESULTS_START, results_block, splice


def verdicts(folder):
    """A verdicts.json with a judged row whose cells hold pipes, one not judged, one shown."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"claim_id": "fig8.ratio", "section": "VIII.C, Fig. 8", "claim": "mnist: |rho| and the ratio",
         "paper": "uncorrelated (|rho| = 0.05)", "ours": "1.05x | rho 0.71", "interval": [0.98, 1.12],
         "rule": "r", "verdict": "holds", "why": "", "counted": True, "source": "f"},
        {"claim_id": "cw.success", "section": "Table IV", "claim": "mnist: JSMA-Z", "paper": "56, 100%",
         "ours": "40, 80%", "interval": [0.7, 0.9], "rule": "r", "verdict": "does not hold", "why": "w",
         "counted": True, "source": "t"},
        {"claim_id": "transfer.high_confidence", "section": "VIII.D", "claim": "mnist: transfer", "paper": "~100%",
         "ours": "90%", "interval": [None, None], "rule": "r", "verdict": "not run at this scale", "why": "w",
         "counted": True, "source": "f"},
        {"claim_id": "", "section": "VIII.A", "claim": "mnist: DeepFool on Z", "paper": "-", "ours": "100%",
         "interval": [None, None], "rule": "-", "verdict": "shown", "why": "", "counted": False, "source": "f"},
    ]
    data = {"profile": "x", "headline": "**Headline**: h.", "rows": rows, "shown_outside_the_count": 1,
            "counts": {"holds": 1, "does not hold": 1, "inconclusive at this scale": 0, "not run at this scale": 1,
                       "not run": 0}}
    (folder / "verdicts.json").write_text(json.dumps(data))
    return folder / "verdicts.json"


def test_the_block_carries_the_counts_and_only_judged_rows(tmp_path):
    block = results_block([verdicts(tmp_path / "p"), tmp_path / "missing/verdicts.json"], tmp_path)
    assert block.startswith(RESULTS_START) and block.endswith(RESULTS_END)
    assert "([p/REPORT.md](p/REPORT.md)). **Headline**: h. Verdicts (3 counted rows): 1 hold" in block
    assert "**does not hold**" in block and "transfer" not in block and "DeepFool on Z" not in block


def test_a_cell_with_a_pipe_stays_one_cell(tmp_path):
    block = results_block([verdicts(tmp_path / "p")], tmp_path)
    line = next(x for x in block.splitlines() if "ratio" in x)
    unescaped = line.replace("\\|", "")
    assert unescaped.count("|") == 6, line  # five cells
    assert "1.05x \\| rho 0.71" in line and "**holds**" in line


def test_splice_replaces_only_the_block_and_names_a_missing_marker():
    readme = f"top\n{RESULTS_START}\nold\n{RESULTS_END}\nbottom\n"
    new = f"{RESULTS_START}\nnew\n{RESULTS_END}"
    assert splice(readme, new) == f"top\n{new}\nbottom\n"
    with pytest.raises(ValueError, match="results:end"):
        splice(f"top\n{RESULTS_START}\n", "x")


def test_readme_results_rewrites_then_checks(tmp_path, capsys):
    path = verdicts(tmp_path / "p")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{RESULTS_START}\n{RESULTS_END}\n")
    args = [str(path), "--readme", str(readme)]
    assert main(["readme-results", *args, "--check"]) == 1
    assert main(["readme-results", *args]) == 0 and "**holds**" not in readme.read_text()
    assert "**holds**" in (tmp_path / "docs/results.md").read_text() and "docs/results.md" in readme.read_text()
    assert main(["readme-results", *args, "--check"]) == 0


def test_the_committed_readme_matches_the_committed_reports():
    assert main(["readme-results", "--readme", str(REPO / "README.md"), "--check"]) == 0, "run: make readme"
