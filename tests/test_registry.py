"""The attack registry is the one definition of what an attack is: the schema, the tables and
the workflow agree with it, and every entry names a real function."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest
import yaml
from conftest import REPO

import cw_distillation.attacks
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
        assert runner.attack.function is importlib.import_module(runner.attack.module).attack, name
        assert runner.attack.module.split(".")[-1] in cw_distillation.attacks.__all__, name
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


@pytest.mark.parametrize("name", cw_distillation.attacks.__all__)
def test_every_attack_module_has_one_function_called_the_same_way(name):
    """attack(model, x, target, *, label=None, image_index=None, batch_size=...): the C&W attacks
    take the last three through **run_options."""
    parameters = inspect.signature(getattr(cw_distillation.attacks, name).attack).parameters
    assert list(parameters)[:3] == ["model", "x", "target"], name
    keywords = {p for p, spec in parameters.items() if spec.kind is inspect.Parameter.KEYWORD_ONLY}
    rest = any(spec.kind is inspect.Parameter.VAR_KEYWORD for spec in parameters.values())
    assert rest or {"label", "image_index", "batch_size"} <= keywords, name
    assert all(parameters[p].default is None for p in ("label", "image_index") if p in parameters), name


def test_the_registry_and_the_attack_package_import_no_keras():
    """The command line and the workflow's plan read the registry; an attack's module, which
    loads Keras and TensorFlow, is imported only when the attack runs."""
    code = ("import sys, cw_distillation.attacks.registry as r; r.RUNNERS['l2'].attack.module; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
