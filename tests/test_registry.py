"""The attack registry is the one definition of what an attack is: the schema, the tables and
the workflow agree with it, and every entry names a real function."""

from __future__ import annotations

import importlib

import pytest
import yaml
from conftest import REPO

from cw_distillation import plan
from cw_distillation.attacks import registry


def schema_attacks() -> dict:
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    return schema["properties"]["attacks"]["properties"]


def test_the_schema_names_the_registry_s_attacks_and_variants():
    attacks = schema_attacks()
    table = set(registry.TABLE_ATTACKS)
    assert set(attacks["table_attacks"]["items"]["enum"]) == table
    assert set(attacks["max_images"]["propertyNames"]["enum"]) == table
    variants = {v for v, (name, _) in registry.variant_names().items() if v != name}
    assert set(attacks["fragility_variants"]["items"]["enum"]) == variants
    for name, spec in registry.TABLE_ATTACKS.items():
        assert spec.options_key in attacks, f"the schema has no attacks.{spec.options_key} for {name}"


def test_every_runner_names_a_function_and_every_table_attack_a_runner():
    for name, runner in registry.RUNNERS.items():
        assert callable(getattr(importlib.import_module(runner.module), runner.function)), name
        assert runner.metric in ("l0", "l2", "linf")
    assert {a.runner for a in registry.TABLE_ATTACKS.values()} == set(registry.RUNNERS)
    assert registry.OUR_ATTACKS == ("l0", "l2", "linf")
    assert all(registry.RUNNERS[a].queued for a in registry.OUR_ATTACKS)


def test_variants_parse_to_their_attack_options_and_fix():
    assert registry.parse_variant("jsma_f_divT") == ("jsma_f", {}, True, False)
    assert registry.parse_variant("lbfgs_cw") == ("lbfgs", {"objective": "cw"}, False, False)
    assert registry.parse_variant("deepfool_softmax_divT") == ("deepfool", {"output": "softmax"}, True, False)
    assert registry.parse_variant("l2_random") == ("l2", {}, False, True)
    with pytest.raises(ValueError, match="no attack variant is called 'jsma_z_divT'"):
        registry.parse_variant("jsma_z_divT")
    config = {"attacks": {"jsma": {"gamma": 0.145}}}
    assert plan.attack_spec(config, "distilled_T100", "jsma_f_divT") == (
        "jsma", {"gamma": 0.145, "variant": "f", "output_temperature": 100.0}, "all")
