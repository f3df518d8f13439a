"""The schema stops a bad config before any job starts, naming the key; profiles are complete."""

from pathlib import Path

import pytest
import yaml
from conftest import REPO

from cw_distillation.config import ConfigError, load_schema, validate_config

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")
PROFILES = {
    "quick": REPO / "config.yaml",
    "paper": REPO / "workflow/profiles/paper/config.yaml",
    "tiny": REPO / "workflow/profiles/tiny/config.yaml",
}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_is_valid_and_names_itself(name):
    config = validate_config(load(PROFILES[name]), SCHEMA)
    assert config["profile"] == name


def keys(tree: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in tree.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= keys(v, prefix + k + ".")
    return out


@pytest.mark.parametrize("name", ["paper", "tiny"])
def test_profiles_set_every_key_the_default_profile_sets(name):
    # Snakemake merges --configfile over config.yaml: a key left out would silently inherit the quick value.
    missing = keys(load(PROFILES["quick"])) - keys(load(PROFILES[name]))
    assert not missing, f"{PROFILES[name]} leaves out {sorted(missing)}"


def test_defaults_are_filled_in_nested_sections():
    config = validate_config({"profile": "x"}, SCHEMA)
    assert config["data"]["retries"] == 3 and config["data"]["synthetic"]["enabled"] is False
    assert config["datasets"] == ["mnist", "cifar10"]


def test_every_key_in_the_schema_has_a_description_and_default():
    def walk(node, path):
        for name, sub in node.get("properties", {}).items():
            assert "description" in sub, f"{path}{name} has no description"
            assert "default" in sub, f"{path}{name} has no default"
            walk(sub, f"{path}{name}.")

    walk(SCHEMA, "")


@pytest.mark.parametrize(
    "config, message",
    [
        ({"dataa": {}}, r"config key '<top level>': Additional properties are not allowed \('dataa' was unexpected"),
        ({"data": {"mirorr": "/x"}}, r"config key 'data'.*'mirorr' was unexpected.*allowed keys here: backoff_s"),
        ({"data": {"retries": "three"}}, r"config key 'data.retries': 'three' is not of type 'integer'"),
        ({"data": {"retries": 0}}, r"config key 'data.retries': 0 is less than the minimum of 1"),
        ({"datasets": ["mnist", "svhn"]}, r"config key 'datasets\[1\]': 'svhn' is not one of"),
        ({"profile": "My Profile"}, r"config key 'profile': 'My Profile' does not match"),
    ],
)
def test_bad_config_names_the_key(config, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


def check_config(*args: str) -> tuple[int, str]:
    import contextlib
    import io

    from cw_distillation.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check-config", *args, "--base", str(REPO / "config.yaml"),
                     "--schema", str(REPO / "workflow/schemas/config.schema.yaml")])
    return code, out.getvalue() + err.getvalue()


def test_check_config_shows_the_config_a_run_sees_merged_over_config_yaml(tmp_path):
    override = tmp_path / "more.yaml"
    override.write_text("training: {epochs: {mnist: 7}}\n")
    code, out = check_config(str(override))
    shown = yaml.safe_load(out)
    base = yaml.safe_load((REPO / "config.yaml").read_text())["training"]["epochs"]["cifar10"]
    assert base != 50  # the schema's default: the merge must not fall back to it
    assert code == 0 and shown["training"]["epochs"] == {"mnist": 7, "cifar10": base}, "cifar10 from config.yaml"
    assert shown["profile"] == "quick"


def test_check_config_runs_the_cross_key_checks_and_names_a_yaml_error_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [mnist]\ntraining: {sweep_dataset: cifar10, transfer_dataset: mnist}\n")
    code, out = check_config(str(bad))
    assert code == 1 and "config key 'training.sweep_dataset': 'cifar10' is not one of datasets" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: 0\ntraining: [\n")
    code, out = check_config(str(broken))
    assert code == 1 and f"{broken} line 3: not valid YAML" in out


def test_an_exclusive_bound_reads_must_be_greater():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["training"]["temperatures"] = [0]
    with pytest.raises(ConfigError, match=r"config key 'training.temperatures\[0\]': 0 must be > 0"):
        validate_config(config, SCHEMA)
