"""verdict_rules.yaml: every claim has a statistic, a direction, a band and a reason, checked before any table."""

import copy
import math
import re

import pytest
import yaml
from conftest import REPO

from cw_distillation.outputs import rules
from cw_distillation.outputs.rules import RulesError, parse

RULES = yaml.safe_load((REPO / "src/cw_distillation/verdict_rules.yaml").read_text())


def broken(edit) -> dict:
    data = copy.deepcopy(RULES)
    edit(data)
    return data


def test_the_committed_rules_file_gives_every_claim_the_report_judges():
    loaded = rules.load()
    assert set(loaded.claims) == set(rules.CLAIM_IDS)
    assert all(r.reason and r.statistic for r in loaded.claims.values())


def test_an_unknown_claim_id_is_named():
    with pytest.raises(RulesError, match=re.escape("claim 'table9.nonsense': unknown claim id")):
        parse(broken(lambda d: d["claims"].__setitem__("table9.nonsense", d["claims"]["cw.success"])))


def test_a_missing_tolerance_names_the_claim_and_the_key():
    with pytest.raises(RulesError, match=re.escape("claim 'cw.success': missing key 'tolerance'")):
        parse(broken(lambda d: d["claims"]["cw.success"].pop("tolerance")))


def test_an_unknown_direction_names_the_claim_and_the_key():
    with pytest.raises(RulesError, match=re.escape("claim 'fig8.ratio': key 'direction' is 'sideways'")):
        parse(broken(lambda d: d["claims"]["fig8.ratio"].__setitem__("direction", "sideways")))


def test_a_tolerance_of_two_kinds_is_refused():
    with pytest.raises(RulesError, match=re.escape("claim 'logits.norm': key 'tolerance' needs exactly one")):
        parse(broken(lambda d: d["claims"]["logits.norm"].__setitem__("tolerance", {"relative": 0.5, "absolute": 1})))


def test_a_c_and_w_distance_smaller_than_the_papers_is_inside_its_one_sided_band():
    rule = rules.load()["cw.distance.standard"]
    low, high = rule.band(2.0, "mnist", "mnist.l2.average")
    assert low == -math.inf and high == pytest.approx(2.5)


def test_the_cifar10_linf_best_case_reads_its_absolute_override():
    rule = rules.load()["cw.distance.distilled"]
    assert rule.band(0.002, "cifar10", "cifar10.linf.best")[1] == pytest.approx(0.012)
    assert "0.0092" in rule.reason_for("cifar10.linf.best")


def test_a_per_dataset_tolerance_picks_the_dataset():
    rule = rules.load()["accuracy.standard"]
    assert rule.band(0.80, "cifar10") == pytest.approx((0.78, 0.82))
