"""What a storable rule passes to its step is what the job's store key covers.

The store restores a result when its key matches (store.parts_for): a setting that a rule
passes to a step but that the key leaves out would let the store hand back a result made with
another value of it, silently. So every option of every storable job, read from the commands
Snakemake plans (``snakemake -n -p --forceall``), is either covered by the job's parts, with the
same value, or named here as not shaping the result; every setting and upstream job the key holds
(the table of jobs, ``jobs.KINDS``) reaches the step; and the rules the Makefile and store.smk
treat as storable are exactly the table's, those whose outputs the store keys.
"""

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from cw_distillation import jobs, plan, store
from cw_distillation.config import workflow_config

BIN = Path(sys.executable).parent
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"

# Options that say where things go, or how a job is run, never what it computes.
NOT_SHAPING = {"--out", "--metrics", "--summary", "--rule", "--wildcards", "--checkpoint-dir",
               "--checkpoint-minutes", "--reuse-from", "--results", "--parts", "--checkpoint"}
# Options whose value a part holds under the same name (dashes as underscores).
SAME_NAME = {"--dataset", "--epochs", "--batch-size", "--validation-size", "--train-subset", "--seed",
             "--n-images", "--targets", "--options", "--attack", "--kappas"}

# A robustness job's options, in its parts (plan.robustness_job) under other names.
ROBUSTNESS = {
    "--methods": lambda parts: parts["methods"],
    "--linf-eps": lambda parts: parts["eps"]["linf"],
    "--l2-eps": lambda parts: parts["eps"]["l2"],
    "--igs-steps": lambda parts: parts["igs_steps"],
    "--apgd-options": lambda parts: parts["apgd"],
    "--masking": lambda parts: parts["masking"],
}


def planned_jobs(configfile: Path, tmp_path: Path) -> list[list[str]]:
    """The argv of every ``cw-distillation`` command the workflow plans for this config."""
    result = subprocess.run(
        [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-n", "-p", "--forceall", "--directory", str(tmp_path),
         "--configfile", str(configfile)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    commands = re.findall(r"^Shell command: (cw-distillation .*?)(?: 2>&1 \|.*)?$", result.stdout, re.M)
    assert commands, result.stdout[-2000:]
    return [shlex.split(c)[1:] for c in commands]


def options(argv: list[str]) -> dict[str, list[str]]:
    """--flag -> its values (``--a=b`` too)."""
    out: dict[str, list[str]] = {}
    flag = None
    for arg in argv[1:]:
        if arg.startswith("--"):
            flag, _, value = arg.partition("=")
            out[flag] = [value] if value else []
        elif flag is not None:
            out[flag].append(arg)
    return out


def value_of(values: list[str]):
    parsed = []
    for v in values:
        try:
            parsed.append(json.loads(v))
        except ValueError:
            parsed.append(v)
    return parsed[0] if len(parsed) == 1 else parsed


def uncovered(argv: list[str], config: dict, results: str) -> tuple[str | None, list[str]]:
    """(the rule, each option of this job that its store key does not cover, and why); rule None
    for a job the store does not keep."""
    opts = options(argv)
    if argv[0] == "store" or "--out" not in opts or not opts["--out"][0].startswith(results + "/"):
        return None, []  # the restore rule, downloads, tables and figures
    parts = store.parts_for(config, str(Path(opts["--out"][0]).relative_to(results)))
    if parts is None:
        return None, []
    rule = opts["--rule"][0]
    problems = []
    upstream = {  # input files: the key names the key of the job that made them
        "--data": parts.get("data"),
        "--model": parts.get("model"),
        "--init": parts.get("init"),
        "--soft-labels": parts.get("teacher"),
        "--select-with": (parts.get("images") or {}).get("also_correct_for"),
    }
    name = parts.get("name", "")
    role = plan.model_role(name) if parts["kind"] == "model" else ""
    from_name = {  # a network's role, half and temperature are its name
        "--role": {"distilled": "student", "half_a": "half", "half_b": "half"}.get(role, role),
        "--half": role.removeprefix("half_") if role.startswith("half_") else None,
        "--temperature": name.rsplit("_T", 1)[1] if "_T" in name else None,
    }
    for flag, values in opts.items():
        if flag in NOT_SHAPING:
            continue
        if flag in upstream:
            if not upstream[flag]:
                problems.append(f"{rule}: {flag} {values} is an input its store key does not name")
            continue
        if flag in from_name and parts["kind"] == "model":
            want = from_name[flag]
            if want is None or str(value_of(values)) != str(want):
                problems.append(f"{rule}: {flag} {values}, but the key's network name {name!r} says {want!r}")
            continue
        if parts["kind"] == "robustness" and flag in ROBUSTNESS:
            want = ROBUSTNESS[flag](parts)
            got = [value_of([v]) for v in values] if flag in ("--methods", "--linf-eps", "--l2-eps") else (
                True if flag == "--masking" else value_of(values))
            if got != want:
                problems.append(f"{rule}: {flag} {values}, but the store key holds {want!r}")
            continue
        key = flag[2:].replace("-", "_")
        if flag in SAME_NAME | {"--temperature"} and key in parts:
            if value_of(values) != parts[key]:
                problems.append(f"{rule}: {flag} {values}, but the store key holds {key} = {parts[key]!r}")
            continue
        problems.append(f"{rule}: {flag} {values} reaches the step, but its store key has no {key!r}")
    if "--parts" in opts and json.loads(opts["--parts"][0]) != parts:
        problems.append(f"{rule}: the --parts it passes differ from store.parts_for")
    return rule, problems


# The option that passes each setting of the table of jobs, where it is not the setting's name.
FLAG_OF = {"eps": ("--linf-eps", "--l2-eps"), "apgd": ("--apgd-options",)}
# The option that passes each upstream job's result.
INPUT_OF = {"data": "--data", "model": "--model", "init": "--init", "teacher": "--soft-labels"}


def unpassed(argv: list[str], config: dict, results: str) -> list[str]:
    """Each setting and upstream job the store key of this job holds that the rule does not pass
    to the step (a setting that is off, none or zero may be left out: the step's default)."""
    opts = options(argv)
    if argv[0] == "store" or "--out" not in opts or not opts["--out"][0].startswith(results + "/"):
        return []
    found = jobs.parse(str(Path(opts["--out"][0]).relative_to(results)))
    if found is None:
        return []
    kind, w, _ = found
    rule = opts["--rule"][0]
    problems = []
    for key, value in jobs.settings(config, kind.name, w).items():
        flags = FLAG_OF.get(key, ("--" + key.replace("_", "-"),))
        if value and not set(flags) <= set(opts):
            problems.append(f"{rule}: the store key holds {key} = {value!r}, but the rule passes no {' '.join(flags)}")
    problems += [f"{rule}: the store key holds the key of its {field} job, but the rule passes no {INPUT_OF[field]}"
                 for field in kind.upstream(config, w) if INPUT_OF[field] not in opts]
    parts = store.parts_for(config, str(Path(opts["--out"][0]).relative_to(results)))
    if (parts.get("images") or {}).get("also_correct_for") and "--select-with" not in opts:
        problems.append(f"{rule}: the store key holds the networks its images must also suit, but no --select-with")
    return problems


@pytest.mark.parametrize("profile", ["config/tiny.yaml", "config/mnist10.yaml"])
def test_every_option_of_a_storable_job_is_in_its_store_key(profile, tmp_path):
    config = workflow_config([REPO / profile], SCHEMA)
    results = f"results/{config['profile']}"
    rules, problems = set(), []
    for argv in planned_jobs(REPO / profile, tmp_path):
        rule, found = uncovered(argv, config, results)
        if rule:
            rules.add(rule)
            problems += found
    assert not problems, "\n".join(sorted(set(problems)))
    assert {"train_standard", "train_init", "train_teacher", "train_distilled", "attack", "logits"} <= rules


@pytest.mark.parametrize("profile", ["config/tiny.yaml", "config/mnist10.yaml"])
def test_every_setting_a_store_key_holds_reaches_the_step(profile, tmp_path):
    config = workflow_config([REPO / profile], SCHEMA)
    results = f"results/{config['profile']}"
    problems = [p for argv in planned_jobs(REPO / profile, tmp_path) for p in unpassed(argv, config, results)]
    assert not problems, "\n".join(sorted(set(problems)))


def test_a_setting_the_store_key_holds_but_the_rule_leaves_out_is_caught():
    config = workflow_config([REPO / "config/tiny.yaml"], SCHEMA)
    argv = ["train", "--role", "standard", "--dataset", "mnist", "--data", "results/tiny/data/mnist.npz",
            "--validation-size", "100", "--epochs", "2", "--batch-size", "32", "--seed", "0",
            "--out", "results/tiny/models/mnist/standard.keras", "--rule", "train_standard"]
    assert unpassed(argv, config, "results/tiny") == []
    at = argv.index("--epochs")
    assert unpassed([*argv[:at], *argv[at + 2:]], config, "results/tiny") == [
        "train_standard: the store key holds epochs = 2, but the rule passes no --epochs"]
    at = argv.index("--data")
    assert unpassed([*argv[:at], *argv[at + 2:]], config, "results/tiny") == [
        "train_standard: the store key holds the key of its data job, but the rule passes no --data"]


def test_a_setting_passed_by_a_rule_alone_is_caught():
    """The check itself: a training option the key lacks is named."""
    config = workflow_config([REPO / "config/tiny.yaml"], SCHEMA)
    argv = ["train", "--role", "standard", "--dataset", "mnist", "--data", "results/tiny/data/mnist.npz",
            "--validation-size", "100", "--epochs", "2", "--batch-size", "32", "--seed", "0",
            "--out", "results/tiny/models/mnist/standard.keras", "--rule", "train_standard"]
    assert uncovered(argv, config, "results/tiny") == ("train_standard", [])
    _, found = uncovered([*argv, "--learning-rate", "0.1"], config, "results/tiny")
    assert found == ["train_standard: --learning-rate ['0.1'] reaches the step, but its store key has no "
                     "'learning_rate'"]
    at = argv.index("--epochs") + 1
    _, found = uncovered([*argv[:at], "3", *argv[at + 1:]], config, "results/tiny")
    assert found == ["train_standard: --epochs ['3'], but the store key holds epochs = 2"]


def test_the_makefile_and_store_smk_name_exactly_the_storable_rules(tmp_path):
    config = workflow_config([REPO / "config/tiny.yaml"], SCHEMA)
    planned = planned_jobs(REPO / "config/tiny.yaml", tmp_path)
    storable = {uncovered(argv, config, "results/tiny")[0] for argv in planned} - {None}
    assert set(jobs.STORABLE_RULES) == storable, "the table of jobs names the rules whose outputs the store keys"
    makefile = re.search(r"^EXPENSIVE_RULES := (.*)$", (REPO / "Makefile").read_text(), re.M)[1]
    assert tuple(makefile.split("|")) == jobs.STORABLE_RULES
    order = re.search(r"ruleorder:\s*((?:\s*>?\s*\w+)+)", (REPO / "workflow/rules/store.smk").read_text())[1]
    first, *rest = (r.strip() for r in order.split(">"))
    assert first == "restore" and tuple(rest) == jobs.STORABLE_RULES


def test_each_planned_result_is_written_by_a_rule_of_its_kind(tmp_path):
    """The table's rules of a kind are the rules that write its results, and what the store keeps
    (store.job_files) is what those rules write."""
    for argv in planned_jobs(REPO / "config/tiny.yaml", tmp_path):
        opts = options(argv)
        out = opts.get("--out", [""])[0]
        found = jobs.parse(out.removeprefix("results/tiny/")) if out.startswith("results/tiny/") else None
        if argv[0] == "store" or found is None:
            continue
        kind, _, _ = found
        assert opts["--rule"][0] in kind.rules, (kind.name, argv)


def test_the_restore_rule_takes_what_the_table_stores():
    restorable = re.compile(jobs.RESTORABLE)
    for kind in jobs.STORED:
        for suffix in kind.suffixes:
            rel = jobs.path(kind.name, suffix, dataset="mnist", name="standard", model="half_a", attack="l2",
                            job="curves")
            assert restorable.fullmatch(rel), rel
    assert "stored=jobs.RESTORABLE" in (REPO / "workflow/rules/store.smk").read_text()
