"""The schema stops a bad config before any job starts, naming the key; its defaults are the paper's
settings, and each profile sets only what it changes from them."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from cw_distillation.config import ConfigError, backend_warning, load_schema, validate_config, workflow_config

SCHEMA_PATH = REPO / "workflow/schemas/config.schema.yaml"
SCHEMA = load_schema(SCHEMA_PATH)
PROFILES = {
    "quick": REPO / "config.yaml",
    "mnist10": REPO / "config/mnist10.yaml",
    "cifar10": REPO / "config/cifar10.yaml",
    "mnist50": REPO / "config/mnist50.yaml",
    "cifar50": REPO / "config/cifar50.yaml",
    "paper": REPO / "config/paper.yaml",
    "tiny": REPO / "config/tiny.yaml",
}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_every_profile_file_is_in_the_table_and_every_command_line_profile_elsewhere():
    assert sorted(PROFILES.values()) == sorted([REPO / "config.yaml", *(REPO / "config").glob("*.yaml")])
    assert sorted(p.name for p in (REPO / "workflow/profiles").iterdir()) == ["default", "slurm"]


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_sets_only_known_keys_and_names_itself(name):
    # validated alone (no other file under it): an unknown or misspelled key in the file is an error
    config = validate_config(load(PROFILES[name]), SCHEMA)
    assert config["profile"] == name


def leaves(tree: dict, prefix: str = "") -> dict:
    """Every value of a config by its dotted key (an empty mapping is a value)."""
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            out |= leaves(v, prefix + k + ".")
        else:
            out[prefix + k] = v
    return out


def paper_settings() -> dict:
    return validate_config({}, SCHEMA)


@pytest.mark.parametrize("name", PROFILES)
def test_a_profile_differs_from_the_papers_settings_exactly_where_its_file_says(name):
    own = leaves(load(PROFILES[name]))
    merged, paper = leaves(workflow_config([PROFILES[name]], SCHEMA_PATH)), leaves(paper_settings())
    assert {k: merged.get(k) for k in own} == own, "the file's values are the run's"
    changed = {k for k in merged.keys() | paper.keys() if k not in paper or k not in merged or merged[k] != paper[k]}
    unsaid = {k for k in changed - own.keys() if not any(o.startswith(k + ".") for o in own)}  # {} -> {l0: 20}
    assert not unsaid, f"{name} differs from the paper's settings in keys its file does not set: {sorted(unsaid)}"
    same = sorted(k for k in own.keys() - changed if k != "profile")
    assert not same, f"{PROFILES[name]} sets the paper's own value again: {same}"


def test_the_schema_defaults_are_the_paper_profile():
    assert workflow_config([PROFILES["paper"]], SCHEMA_PATH) == paper_settings()
    assert paper_settings()["profile"] == "paper"


def test_no_configfile_is_the_default_profile(monkeypatch):
    monkeypatch.chdir(REPO)  # as Snakemake reads it: config.yaml in the working directory
    assert workflow_config([], SCHEMA_PATH) == workflow_config([PROFILES["quick"]], SCHEMA_PATH)


def test_an_object_given_in_part_keeps_the_rest_of_its_default():
    config = validate_config({"attacks": {"n_images": {"mnist": 5}}, "resources": {"train": {"mem_mb": 8000}}}, SCHEMA)
    # the paper's 1000 images and train resources, not the generic per-dataset count (50) or job defaults
    assert config["attacks"]["n_images"] == {"mnist": 5, "cifar10": 1000}
    assert config["resources"]["train"] == {"mem_mb": 8000, "runtime": 240, "cpus_per_task": 4, "gpu": 1}


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
        code = main(["check-config", *args, "--schema", str(SCHEMA_PATH)])
    return code, out.getvalue() + err.getvalue()


def test_check_config_shows_the_config_a_run_sees_files_merged_in_order(tmp_path):
    override = tmp_path / "more.yaml"
    override.write_text("training: {epochs: {mnist: 7}}\n")
    code, out = check_config(str(PROFILES["quick"]), str(override))
    shown = yaml.safe_load(out)
    base = load(PROFILES["quick"])["training"]["epochs"]["cifar10"]
    assert base != 50  # the schema's default: the merge must not fall back to it
    assert code == 0 and shown["training"]["epochs"] == {"mnist": 7, "cifar10": base}, "cifar10 from the quick file"
    assert shown["profile"] == "quick"
    # alone, a file is merged over the paper's settings (as `snakemake --configfile more.yaml` runs)
    code, out = check_config(str(override))
    shown = yaml.safe_load(out)
    assert code == 0 and shown["training"]["epochs"] == {"mnist": 7, "cifar10": 50} and shown["profile"] == "paper"


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
    config = load(PROFILES["quick"])
    config["training"]["temperatures"] = [0]
    with pytest.raises(ConfigError, match=r"config key 'training.temperatures\[0\]': 0 must be > 0"):
        validate_config(config, SCHEMA)


def test_a_keras_backend_in_the_environment_that_the_config_does_not_name_is_a_warning():
    config = {"backend": "tensorflow"}
    assert backend_warning(config, {}) is None
    assert backend_warning(config, {"KERAS_BACKEND": "tensorflow"}) is None
    message = backend_warning(config, {"KERAS_BACKEND": "jax"})
    assert "KERAS_BACKEND=jax" in message and "--config backend=jax" in message
    assert backend_warning({"backend": "jax"}, {"KERAS_BACKEND": "jax"}) is None


def test_a_yte_template_config_is_refused_by_check_config_and_by_the_workflow(tmp_path):
    # Snakemake renders a config with __use_yte__ as a template whose `?` values are Python: the workflow
    # cannot stop it from running them, but it stops there, naming the file (and check-config refuses it first).
    template = tmp_path / "template.yaml"
    template.write_text(f"__use_yte__: true\nprofile: ?open({str(tmp_path / 'ran')!r}, 'w').name\n")
    code, out = check_config(str(template))
    assert code == 1 and f"{template}: __use_yte__ makes Snakemake evaluate this file as a YTE template" in out
    snakemake = Path(sys.executable).parent / "snakemake"
    run = subprocess.run([str(snakemake), "-n", "--configfile", str(template)], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode != 0 and "this workflow refuses templated configs" in run.stdout + run.stderr
