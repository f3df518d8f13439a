"""The README's results block is generated from the committed REPORT.md files and matches them."""

import pytest
from conftest import REPO

from cw_distillation.cli import main
from cw_distillation.outputs.readme import RESULTS_END, RESULTS_START, committed_reports, results_block, splice

REPORT = """# Replication report: profile `x`

Verdicts (3 rows): 1 hold, 1 do not hold, 1 not run at this scale, 0 not run, 0 shown without a verdict.

| section | claim | paper | ours | tolerance (why) | verdict | source |
|---|---|---|---|---|---|---|
| Table IV | mnist: L2 | 1.76, 100% | 1.80, 100% | within 25% | **holds** | [t](t) |
| Table IV | mnist: JSMA-Z | 56, 100% | 40, 80% | within 10 points | **does not hold** | [t](t) |
| VIII.D | mnist: transfer | ~100% | 90% | >= 80% | **not run at this scale** | [f](f) |
"""


def test_the_block_carries_the_count_line_and_only_judged_rows(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p/REPORT.md").write_text(REPORT)
    block = results_block([tmp_path / "p/REPORT.md", tmp_path / "missing/REPORT.md"], tmp_path)
    assert block.startswith(RESULTS_START) and block.endswith(RESULTS_END)
    assert "[p/REPORT.md](p/REPORT.md)). Verdicts (3 rows): 1 hold" in block
    assert "| Table IV: mnist: L2 | 1.76, 100% | 1.80, 100% | **holds** |" in block
    assert "**does not hold**" in block and "transfer" not in block


def test_splice_replaces_only_the_block_and_names_a_missing_marker():
    readme = f"top\n{RESULTS_START}\nold\n{RESULTS_END}\nbottom\n"
    new = f"{RESULTS_START}\nnew\n{RESULTS_END}"
    assert splice(readme, new) == f"top\n{new}\nbottom\n"
    with pytest.raises(ValueError, match="results:end"):
        splice(f"top\n{RESULTS_START}\n", "x")


def test_readme_results_rewrites_then_checks(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    (tmp_path / "p/REPORT.md").write_text(REPORT)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{RESULTS_START}\n{RESULTS_END}\n")
    args = [str(tmp_path / "p/REPORT.md"), "--readme", str(readme)]
    assert main(["readme-results", *args, "--check"]) == 1
    assert main(["readme-results", *args]) == 0 and "**holds**" in readme.read_text()
    assert main(["readme-results", *args, "--check"]) == 0


def test_the_committed_readme_matches_the_committed_reports():
    readme = REPO / "README.md"
    assert splice(readme.read_text(), results_block(committed_reports(REPO), REPO)) == readme.read_text(), (
        "run: make readme"
    )
