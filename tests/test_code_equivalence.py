"""scripts/prove_code_equivalence.py: which kind of result a file is, and what gets recorded."""

from __future__ import annotations

import yaml
from conftest import load_script

from cw_distillation import store

PROVE = "scripts/prove_code_equivalence.py"


def test_results_are_sorted_by_the_kind_the_store_keys_them_by():
    prove = load_script(PROVE)
    assert prove.kind_of("attacks/mnist/standard/l2.npz") == "attack:l2"
    assert prove.kind_of("attacks/mnist/distilled_T1/l2_random.json") == "attack:l2"
    assert prove.kind_of("attacks/mnist/distilled_T100/jsma_f_divT.npz") == "attack:jsma"
    assert prove.kind_of("attacks/mnist/distilled_T100/deepfool_softmax_divT.npz") == "attack:deepfool"
    assert prove.kind_of("models/mnist/standard.keras") == "model"
    assert prove.kind_of("transfer/mnist/half_a_examples.npz") == "transfer"
    assert prove.kind_of("transfer/mnist/half_a_to_half_b.npz") is None  # not stored
    assert prove.kind_of("logs/attack.log") is None
    assert set(store.code_roots()) >= {"model", "transfer", "attack:l2", "attack:jsma", "attack:deepfool"}


def test_only_changed_kinds_with_evidence_are_recorded_once(tmp_path, monkeypatch):
    prove = load_script(PROVE)
    monkeypatch.setattr(prove, "EQUIVALENCES", tmp_path / "code_equivalences.yaml")
    old = {"model": "a" * 64, "attack:l2": "b" * 64, "attack:fgs": "c" * 64}
    new = {"model": "d" * 64, "attack:l2": "b" * 64, "attack:fgs": "e" * 64}
    evidence = {"model": "tiny: 12 results the same", "attack:l2": "tiny: 4 the same"}
    added = prove.record(old, new, "1" * 40, "2" * 40, evidence)
    assert [r["kind"] for r in added] == ["model"]  # l2 did not change; fgs has no evidence
    assert prove.record(old, new, "1" * 40, "2" * 40, evidence) == []  # already recorded
    text = (tmp_path / "code_equivalences.yaml").read_text()
    assert text.startswith("# Code digests shown")
    records = yaml.safe_load(text)["equivalences"]
    assert records == [{"kind": "model", "old": "a" * 64, "new": "d" * 64, "old_commit": "1" * 40,
                        "new_commit": "2" * 40, "date": records[0]["date"], "evidence": "tiny: 12 results the same"}]
