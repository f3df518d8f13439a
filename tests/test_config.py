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
