"""config/README.md's key table is generated from the schema and the workflow configs, and matches them."""


import pytest
from conftest import load_script

SCRIPT = "scripts/config_readme.py"


def test_the_committed_key_table_matches_the_schema_and_the_configs():
    assert load_script(SCRIPT).main(["--check"]) == 0, "run: make readme"


def test_every_key_has_a_row_with_its_paper_default_and_the_profiles_that_set_it():
    script = load_script(SCRIPT)
    table = script.table()
    assert "| `attacks.l2.max_iterations` | `10000` | quick, tiny |" in table
    assert "| `training.epochs` | `{cifar10: 50, mnist: 50}` | quick, cifar10, mnist10, tiny |" in table
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(script.keys(script.load_schema(script.SCHEMA)))


def test_splice_replaces_only_the_block_and_names_a_missing_marker():
    script = load_script(SCRIPT)
    text = f"top\n{script.KEYS_START}\nold\n{script.KEYS_END}\nbottom\n"
    assert script.splice(text, "new") == "top\nnew\nbottom\n"
    with pytest.raises(ValueError, match="keys:end"):
        script.splice(f"top\n{script.KEYS_START}\n", "x")
