"""make verify (scripts/verify_outputs.py): what it refuses, and how it reads a plan."""

from __future__ import annotations

from conftest import load_script

SCRIPT = "scripts/verify_outputs.py"


def test_a_profile_without_a_committed_store_or_config_is_refused_by_name(capsys):
    verify = load_script(SCRIPT)
    assert verify.main(["quick"]) == 2
    assert "store/quick: no store committed" in capsys.readouterr().err
    assert verify.main(["no_such_profile"]) == 2
    assert "config/no_such_profile.yaml does not exist" in capsys.readouterr().err


def test_the_jobs_a_store_lacks_are_read_from_the_dry_run():
    plan = """
rule attack:
    input: results/p/data/mnist.npz
    output: results/p/attacks/mnist/standard/l2.npz, results/p/attacks/mnist/standard/l2.json
localrule restore:
    output: results/p/models/mnist/standard.keras
rule table_iv:
    output: paper_outputs/p/tables/table4.csv
"""
    assert load_script(SCRIPT).missing_jobs(plan) == [
        "attack: results/p/attacks/mnist/standard/l2.npz, results/p/attacks/mnist/standard/l2.json"]
