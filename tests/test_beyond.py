"""REPORT.md's "Beyond the paper" section (outputs/beyond.py): one part per table the profile
made, none without them, numbers read from the tables."""

from pathlib import Path

from cw_distillation.outputs import beyond

CURVES = """dataset,network,attack,metric,distance,broken,pairs
mnist,standard,l2,l2,0,0,4
mnist,standard,l2,l2,1.5,0.5,4
mnist,standard,l2,l2,3,1,4
mnist,distilled,l2,l2,0,0,4
mnist,distilled,l2,l2,1.5,0.25,4
mnist,distilled,l2,l2,3,0.75,4
mnist,distilled,fgs,linf,0,0,4
mnist,distilled,fgs,linf,0.5,0,4
"""
FMN = """dataset,network,norm,pairs,cw_success,fmn_success,both,ratio_median,ratio_q25,ratio_q75,fmn_within_5pct,\
fmn_below,cw_steps,fmn_steps,cw_seconds,fmn_seconds
mnist,standard,l2,450,1,0.98,441,0.999,0.98,1.01,0.97,0.58,33649,100,55.1,0.04
mnist,distilled_T100,l2,18,0,1,0,,,,,,6,100,0.4,0.1
"""


def test_no_table_no_section(tmp_path: Path):
    assert beyond.section(tmp_path) == []


def test_each_table_gives_its_part_with_its_numbers(tmp_path: Path):
    (tmp_path / "security_curves.csv").write_text(CURVES)
    (tmp_path / "fmn_vs_cw.csv").write_text(FMN)
    text = "\n".join(beyond.section(tmp_path))
    assert text.startswith("## Beyond the paper")
    assert "| mnist | l2 (l2) | 100% broken, half within 1.50 | 75% broken, half within 3.00 |" in text
    assert "| mnist | fgs (linf) | — | 0% broken |" in text
    assert "| mnist | standard | l2 | 441 of 450 | 0.999 (0.980-1.010) | 97% | 58% | 33,649 vs 100 |" in text
    assert "| mnist | distilled_T100 | l2 | 0 of 18 | — (—-—) | — | — | 6 vs 100 |" in text  # nothing both broke
    assert "verdict" not in text.split("\n", 3)[2].replace("no verdict", "")


MATRIX = """dataset,network,temperature,norm,eps,attack,ce,ce_divT,margin,dlr,images
mnist,standard,1,linf,0.1,apgd,0.82,0.82,0.83,0.83,100
mnist,distilled_T10,10,linf,0.1,apgd,0.95,0.8,0.8,0.81,100
mnist,distilled_T100,100,linf,0.1,apgd,0.99,0.81,0.81,0.83,100
"""


def test_the_robustness_part_sets_the_standard_network_beside_the_most_distilled_one(tmp_path: Path):
    (tmp_path / "robustness_matrix.csv").write_text(MATRIX)
    text = "\n".join(beyond.section(tmp_path))
    assert "| mnist | L∞ 0.1 | apgd | standard | 0.82 | 0.82 | 0.83 | 0.83 |" in text
    assert "| mnist | L∞ 0.1 | apgd | distilled_T100 | 0.99 | 0.81 | 0.81 | 0.83 |" in text
    assert "distilled_T10 |" not in text
