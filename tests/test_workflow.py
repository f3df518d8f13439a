"""The real workflow: lint-clean, planned quickly, stopped by a bad config, and run end to end (tiny profile)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
TINY = REPO / "config/tiny.yaml"


def with_default_config(folder: Path) -> None:
    """The default profile where a run in ``folder`` (--directory) looks for it, as in a clone: a run
    that names no --configfile reads config.yaml."""
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")


# A bound that catches a hung run, not a slow one: the tiny run takes ~5-10 min on 2 idle cores and
# several times that on a loaded machine (CW_TEST_TIMEOUT_S sets it).
RUN_TIMEOUT_S = int(os.environ.get("CW_TEST_TIMEOUT_S", "2400"))


def snakemake(*args: str, cwd: Path = REPO, timeout: int = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_snakefmt_finds_nothing_to_change():
    result = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_snakemake_lint_is_clean():
    result = snakemake("--lint")
    assert result.returncode == 0 and "Congratulations" in result.stdout + result.stderr, result.stdout + result.stderr


def test_paper_profile_plans_its_dag():
    result = snakemake("-n", "--configfile", str(REPO / "config/paper.yaml"), timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_profile_without_sweep_and_transfer_plans_neither(tmp_path):
    """config/cifar10.yaml: training.sweep_dataset and transfer_dataset null leave out the sweep's networks,
    attacks, tables and figures and the transfer experiment's, and nothing else."""
    result = snakemake("-n", "--directory", str(tmp_path), "--configfile", str(REPO / "config/cifar10.yaml"),
                       cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    jobs = planned_jobs(result.stdout + result.stderr)
    assert {"train_teacher", "train_distilled", "attack", "fragility", "table6_distilled", "replication_report"} <= jobs
    assert not jobs & {"train_half", "transfer_examples", "transfer_predict", "table_transfer", "fig_transfer",
                       "table_temperature", "fig8_distance_vs_temperature", "jsma_success_vs_temperature"}, jobs
    assert "distilled_T1." not in result.stdout and "_random" not in result.stdout
    # robustness.datasets names cifar10: its curves and matrix, on the standard and distilled networks only
    assert {"robustness", "table_robustness_curves", "table_robustness_matrix", "robustness_curves"} <= jobs
    assert set(re.findall(r"robustness/cifar10/(\w+)/", result.stdout)) == {"standard", "distilled_T100"}


def test_compare_with_adds_the_table_of_moved_verdicts_to_figures_and_a_missing_base_stops_the_run(tmp_path):
    """config/mnist50.yaml and cifar50.yaml compare with mnist10 and cifar10: the figures target makes
    tables/verdicts_vs_<profile> from both verdicts.json; a base profile with no verdicts.json is named."""
    extra = tmp_path / "compare.yaml"
    extra.write_text("compare_with: base\n")
    args = ("figures", "-n", "--directory", str(tmp_path), "--configfile", str(TINY), str(extra))
    result = snakemake(*args, cwd=tmp_path, timeout=300)
    assert result.returncode != 0
    assert "config key 'compare_with': paper_outputs/base/verdicts.json does not exist" in result.stdout + result.stderr
    (tmp_path / "paper_outputs/base").mkdir(parents=True)
    (tmp_path / "paper_outputs/base/verdicts.json").write_text('{"profile": "base", "rows": []}')
    result = snakemake(*args, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "table_verdicts_compared" in planned_jobs(result.stdout + result.stderr)
    assert "paper_outputs/tiny/tables/verdicts_vs_base.md" in result.stdout


def test_network_tables_make_the_networks_tables_without_any_attack(tmp_path):
    """make figures TARGET=network_tables (a profile whose networks are stored before its attacks have
    run, as cifar50 was): test accuracy and logit sizes, planned with the trainings and logits only."""
    result = snakemake("network_tables", "-n", "--directory", str(tmp_path), "--configfile", str(TINY),
                       cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result.stdout + result.stderr)
    assert {"table_model_accuracy", "table_logit_norms", "logits", "train_distilled"} <= jobs
    assert not jobs & {"attack", "fragility", "table4_undistilled", "replication_report"}, jobs


def test_every_table_and_figure_step_is_given_the_code_that_shapes_it(tmp_path):
    """Each table and figure rule lists its code as an input (a change reruns it, never a training or an
    attack) and passes it with --code, so that its manifest records it and audit names it once it changes
    (the security curves' grid once changed with no table rerun); REPORT.md gets its code with --inputs."""
    result = snakemake("-n", "-p", "--forceall", "--directory", str(tmp_path), "--configfile", str(TINY),
                       cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    steps = re.findall(r"cw-distillation (table-[a-z-]+|figure[a-z-]*) (.*?) --rule", result.stdout)
    assert {name for name, _ in steps} >= {"table-security", "table-accuracy", "table-robustness-matrix", "figure"}
    for name, args in steps:
        assert " --code " in f" {args}", f"{name} is not given its code"
    security = next(args for name, args in steps if name == "table-security")
    assert "src/cw_distillation/outputs/security_curves.py" in security
    assert "src/cw_distillation/steps/reporting.py" in security


def test_snakemake_from_the_venv_finds_the_steps_without_an_activated_environment(tmp_path):
    """`.venv/bin/snakemake ...` as the README writes it, with no cw-distillation on PATH: the steps run."""
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "results/tiny/synthetic/mnist.registry.json",
         "--cores", "1", "--directory", str(tmp_path), "--configfile", str(TINY)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (tmp_path / "results/tiny/synthetic/mnist.registry.json").is_file()


def test_a_misspelled_key_stops_the_run_before_any_job(tmp_path):
    with_default_config(tmp_path)
    result = snakemake("--cores", "1", "--directory", str(tmp_path), "--config", "data={mirorr: /x}", cwd=tmp_path)
    assert result.returncode != 0
    assert "config key 'data'" in result.stderr and "'mirorr' was unexpected" in result.stderr
    assert not (tmp_path / "results").exists()


def test_a_mirror_path_cannot_inject_shell_commands(tmp_path):
    with_default_config(tmp_path)
    injected = tmp_path / "INJECTED"
    result = snakemake("-n", "--directory", str(tmp_path), "--config", f'data={{mirror: "/tmp/m; touch {injected} #"}}',
                       cwd=tmp_path)
    assert result.returncode != 0 and "config key 'data.mirror'" in result.stdout + result.stderr, result.stdout[-2000:]
    assert not injected.exists()


def test_a_mirror_path_with_a_space_reaches_the_download_step_whole(tmp_path):
    with_default_config(tmp_path)
    mirror = tmp_path / "my mirror"
    mirror.mkdir()
    result = snakemake("-n", "-p", "--forceall", "results/quick/raw/mnist", "--directory", str(tmp_path),
                       "--config", f'data={{mirror: "{mirror}"}}', cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"--mirror '{mirror}'" in result.stdout + result.stderr


@pytest.mark.parametrize("publish", ["true", "false"])
def test_a_store_folder_that_does_not_exist_is_reported_in_one_line(tmp_path, publish):
    missing = tmp_path / "no-such-store"
    (tmp_path / "store.yaml").write_text(f"store: {{dir: {missing}, publish: {publish}}}\n")
    result = snakemake("-n", "results/tiny/synthetic/mnist.registry.json", "--directory", str(tmp_path),
                       "--configfile", str(TINY), str(tmp_path / "store.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"config key 'store.dir': store folder {missing} does not exist; every job is computed" in result.stderr


@pytest.mark.parametrize(("target", "value"), [
    ("store-check", "PROFILE=x;touch {pwned}"),
    ("store-check", "PROFILE=$(shell touch {pwned})"),
    ("store-check", "PROFILE=it's; touch {pwned}"),
    ("dry-run", "TARGET=a;touch {pwned}"),
    ("dry-run", "TARGET=`touch {pwned}`"),
    ("dry-run", "TARGET=$$(touch {pwned})"),
    ("store-check", "CORES=1;touch {pwned}"),
])
def test_a_make_variable_never_runs_as_a_command(tmp_path, target, value):
    """make's PROFILE, TARGET and the numbers: a value with a quote, a ; or a $(...) stops make in one
    line naming it, before anything expands it (issue 34); run for real, not -n."""
    pwned = tmp_path / "PWNED"
    run = subprocess.run(["make", target, value.format(pwned=pwned)], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    name = value.split("=", 1)[0]
    assert run.returncode == 2 and f"*** {name}='" in run.stderr, run.stdout[-2000:] + run.stderr[-2000:]
    assert not pwned.exists()
    run = subprocess.run(["make", target], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={**os.environ, name: value.format(pwned=pwned)})  # from the environment
    assert run.returncode == 2 and f"*** {name}='" in run.stderr and not pwned.exists(), run.stderr[-2000:]


def test_a_profile_with_a_space_is_refused_in_one_line_and_targets_split_on_spaces():
    run = subprocess.run(["make", "-n", "replicate", "PROFILE=my profile"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "PROFILE='my profile': a profile is the name of a file" in run.stderr, run.stderr
    run = subprocess.run(["make", "-n", "dry-run", "PROFILE=tiny", "TARGET=results/tiny/data/mnist.npz figures"],
                         cwd=REPO, capture_output=True, text=True, check=True)
    assert "snakemake results/tiny/data/mnist.npz figures -n --cores" in run.stdout, run.stdout


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny profile end to end, in a scratch folder (as a user would run it, via snakemake)."""
    work = tmp_path_factory.mktemp("tiny")
    (work / "publish.yaml").write_text("store: {dir: null, publish: true}\n")  # fills work/store/tiny
    result = snakemake("--cores", "2", "--directory", str(work), "--configfile", str(TINY), str(work / "publish.yaml"),
                       cwd=work)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return work


def test_tiny_profile_runs_end_to_end(tiny_run):
    import numpy as np

    with np.load(tiny_run / "results/tiny/data/mnist.npz") as z:
        assert z["x_train"].shape == (500, 28, 28, 1) and z["x_train"].dtype == np.uint8
        assert z["x_test"].shape == (60, 28, 28, 1)
        assert np.bincount(z["y_train"], minlength=10).tolist() == [50] * 10
    outputs = tiny_run / "paper_outputs/tiny"
    for name in [
        "model_accuracy",
        "logit_norms",
        "table4_undistilled",
        "table6_distilled",
        "fragility",
        "temperature",
        "temperature_correlation",
        "transfer",
        "attack_statistics",
        "robustness_curves",
        "robustness_matrix",
        "masking_flags",
    ]:
        for ext in ("csv", "md", "tex"):
            assert (outputs / "tables" / f"{name}.{ext}").stat().st_size > 0, name
    for name in [
        "fig8_distance_vs_temperature",
        "jsma_success_vs_temperature",
        "fig9_transfer_standard",
        "fig10_transfer_distilled",
        "adversarial_examples_mnist",
        "robustness_curves",
    ]:
        assert (outputs / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF"), name
        assert (outputs / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG"), name
    curves = json.loads((tiny_run / "results/tiny/robustness/mnist/distilled_T100/curves.json").read_text())
    assert {c["method"] for c in curves["curves"]} == {"fgs_ce", "fgs_ce_divT", "fgs_margin", "igs_ce", "igs_ce_divT",
                                                        "igs_margin", "apgd_dlr"}
    assert all(c["robust_accuracy"][0] == 1.0 and c["eps"][0] == 0 for c in curves["curves"]), "eps 0: clean"
    matrix = json.loads((tiny_run / "results/tiny/robustness/mnist/distilled_T1/matrix.json").read_text())
    assert len(matrix["curves"]) == 8 and matrix["masking"]["images"] == 2
    report = (outputs / "REPORT.md").read_text()
    assert "Replication report: profile `tiny`" in report and "Verdicts (" in report
    # tiny is a smoke test: its report judges nothing and lists no row; every row is still in its JSON's count
    assert "smoke test" in report and "paper_outputs/mnist10/REPORT.md" in report
    verdicts = json.loads((outputs / "verdicts.json").read_text())
    assert verdicts["profile"] == "tiny" and verdicts["left_out"] > 0 and verdicts["rows"] == []
    # the init network trains one epoch, and its provenance says so (not an unused default of 50)
    init = json.loads((tiny_run / "results/tiny/models/mnist/init.keras.prov.json").read_text())
    assert init["step"]["params"]["epochs"] == 1 and init["step"]["params"]["role"] == "init"


def test_tiny_run_manifests_name_no_machine_path(tiny_run):
    """Every path a manifest records is relative to the repository (issue 34): none names the run's
    folder, Snakemake's source cache or a mirror by an absolute path."""
    manifests = [p for folder in ("results/tiny", "paper_outputs/tiny", "store/tiny")
                 for p in (tiny_run / folder).rglob("*.json")
                 if p.name.endswith(".prov.json") or "provenance" in p.parts]
    assert len(manifests) > 50
    absolute = [f"{p}: {m}" for p in manifests for m in re.findall(r'"(/[^"]*)"', p.read_text())]
    assert absolute == [], absolute[:5]


@pytest.mark.parametrize("folder", ["results/tiny", "paper_outputs/tiny"])
def test_tiny_run_passes_its_audit(tiny_run, folder):
    result = subprocess.run(
        [str(BIN / "cw-distillation"), "audit", folder], cwd=tiny_run, env=ENV, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("folder", ["results/tiny", "paper_outputs/tiny"])
def test_the_audit_gives_the_same_answer_from_another_folder(tiny_run, folder, tmp_path):
    result = subprocess.run([str(BIN / "cw-distillation"), "audit", str(tiny_run / folder)], cwd=tmp_path, env=ENV,
                            capture_output=True, text=True)
    assert result.returncode == 0 and "audit passed" in result.stdout, result.stdout[-3000:]


def test_every_expensive_job_leaves_a_benchmark_and_they_make_a_job_time_table(tiny_run):
    benchmarks = sorted((tiny_run / "results/tiny/benchmarks").glob("*.tsv"))
    names = {p.stem for p in benchmarks}
    assert "train_mnist_standard" in names and "attack_mnist_standard_l2" in names and "train_mnist_init" in names
    out = tiny_run / "paper_outputs/tiny/tables/job_times"
    result = subprocess.run(
        [str(BIN / "cw-distillation"), "table-job-times", "--benchmarks", "results/tiny/benchmarks",
         "--out-base", "paper_outputs/tiny/tables/job_times"],
        cwd=tiny_run, env=ENV, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = out.with_suffix(".md").read_text()
    assert "| attack |" in table and "train_standard" in table


def test_the_html_report_carries_report_md(tiny_run):
    result = snakemake("--report", "report.html", "--directory", str(tiny_run), "--configfile", str(TINY),
                       str(tiny_run / "publish.yaml"), cwd=tiny_run)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tiny_run / "report.html").read_text()
    assert "REPORT.md" in html and "Verdict" in html


def test_a_second_run_has_nothing_to_do(tiny_run):
    result = snakemake("-n", "--directory", str(tiny_run), "--configfile", str(TINY), str(tiny_run / "publish.yaml"),
                       cwd=tiny_run)
    assert "Nothing to be done" in result.stdout + result.stderr


def makefile_rerun_triggers() -> list[str]:
    """The --rerun-triggers the Makefile gives Snakemake (make replicate, figures, dry-run)."""
    plan = subprocess.run(["make", "-n", "dry-run", "PROFILE=tiny"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout
    found = re.search(r"--rerun-triggers((?: [a-z][a-z-]*)+)", plan)
    assert found, plan
    return ["--rerun-triggers", *found.group(1).split()]


def test_a_reworded_shell_line_does_not_retrain_what_this_tree_computed(tiny_run, tmp_path):
    """Snakemake's `code` trigger reruns every job of a rule whose shell text changed; the store keys (config
    values and the digests of the code that shapes a result) do not change with it, so the Makefile leaves
    that trigger out, and a rule's reworded command line retrains nothing (issue 34)."""
    copy = tmp_path / "workflow-copy"  # the workflow with one rule's shell text changed, nothing else
    copy.mkdir()
    shutil.copy(REPO / "Snakefile", copy)
    shutil.copytree(REPO / "workflow", copy / "workflow")
    for name in ("src", "environment.yml"):
        (copy / name).symlink_to(REPO / name)
    rules = copy / "workflow/rules/training.smk"
    text = rules.read_text()
    assert text.count("cw-distillation train --role half ") == 1
    rules.write_text(text.replace("cw-distillation train --role half ", "cw-distillation train  --role half "))

    def plan(*triggers: str) -> set[str]:
        result = subprocess.run([str(BIN / "snakemake"), "-s", str(copy / "Snakefile"), "-n", "--directory",
                                 str(tiny_run), "--configfile", str(TINY), str(tiny_run / "publish.yaml"), *triggers],
                                cwd=tiny_run, env=ENV, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return planned_jobs(result.stdout + result.stderr)

    assert "train_half" in plan(), "Snakemake's default triggers retrain both halves (the trap)"
    assert not plan(*makefile_rerun_triggers()) & EXPENSIVE, "the Makefile's: nothing trains or attacks"


def planned_jobs(output: str) -> set[str]:
    """Rule names in the 'Job stats' table of a dry run."""
    lines = output.split("Job stats:", 1)[1].splitlines()[3:] if "Job stats:" in output else []
    jobs = set()
    for line in lines:
        if not line.strip() or line.startswith("total"):
            break
        jobs.add(line.split()[0])
    return jobs


def test_changing_plotting_code_reruns_only_the_plots(tiny_run):
    plots = REPO / "src/cw_distillation/outputs/plots.py"
    before = plots.stat()
    try:
        os.utime(plots)  # as if edited now
        result = snakemake("-n", "--directory", str(tiny_run), "--configfile", str(TINY),
                           str(tiny_run / "publish.yaml"), cwd=tiny_run)
    finally:
        os.utime(plots, ns=(before.st_atime_ns, before.st_mtime_ns))
    jobs = planned_jobs(result.stdout + result.stderr)
    assert {"fig8_distance_vs_temperature", "fig_transfer", "adversarial_examples"} <= jobs, jobs
    assert jobs <= {
        "fig8_distance_vs_temperature",
        "jsma_success_vs_temperature",
        "fig_transfer",
        "adversarial_examples",
        "security_curves",
        "replication_report",
        "all",
    }, jobs


def test_one_figure_target_plans_only_its_chain(tmp_path):
    target = "paper_outputs/tiny/figures/fig9_transfer_standard.pdf"
    result = snakemake(target, "-n", "--directory", str(tmp_path), "--configfile", str(TINY), cwd=tmp_path)
    jobs = planned_jobs(result.stdout + result.stderr)
    assert {"fig_transfer", "table_transfer", "transfer_examples", "train_half"} <= jobs, jobs
    assert not jobs & {
        "attack",
        "table4_undistilled",
        "table6_distilled",
        "fragility",
        "table_temperature",
        "fig8_distance_vs_temperature",
        "replication_report",
    }, jobs


def test_max_images_caps_one_attack_and_its_variants(tmp_path):
    """attacks.max_images lowers the image count of the attack it names (and its _divT variant) only."""
    import re

    attacks = "results/tiny/attacks/mnist/distilled_T100"
    targets = [f"{attacks}/{name}.json" for name in ("jsma_f", "jsma_f_divT", "jsma_z", "l2")]
    override = tmp_path / "override.yaml"
    override.write_text("attacks: {n_images: {mnist: 2, cifar10: 1}, max_images: {jsma_f: 1}}\n")
    result = snakemake(*targets, "-n", "-p", "--directory", str(tmp_path), "--configfile", str(TINY), str(override),
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = re.findall(r"--n-images (\d+) .*?--summary \S+/(\w+)\.json", result.stdout + result.stderr)
    counts = {name: n for n, name in found}
    assert counts == {"jsma_f": "1", "jsma_f_divT": "1", "jsma_z": "2", "l2": "2"}, counts


def test_every_step_is_told_its_own_rule_and_wildcards_and_logs(tmp_path):
    """The shared shell tail (common.smk's step): the rule's name, Snakemake's `{wildcards}` (name=value,
    sorted by name; nothing for a rule without wildcards) and the log, on every job of the tiny profile."""
    import re

    result = snakemake("-n", "-p", "--forceall", "--directory", str(tmp_path), "--configfile", str(TINY), cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = re.findall(r"^rule (\w+):\n((?:    .*\n)*)Shell command: (.*)$", out, re.M)
    jobs = [job for job in jobs if job[2] != "None"]  # rule all
    assert len(jobs) > 50
    for rule, block, command in jobs:
        log = re.search(r"^    log: (\S+)$", block, re.M).group(1)
        wildcards = re.search(r"^    wildcards: (.*)$", block, re.M)
        named = ",".join(sorted(wildcards.group(1).split(", "))) if wildcards else ""
        assert f" --rule {rule} --wildcards={named} 2>&1 | tee {log}" in command, (rule, command[-300:])
    logs = "results/tiny/logs"
    attack = "--rule attack --wildcards=attack=l2,dataset=mnist,model=standard"
    assert f"{attack} 2>&1 | tee {logs}/attack_mnist_standard_l2.log\n" in out


# ------------------------------------------------------------------ the store of results

EXPENSIVE = {"train_standard", "train_half", "train_init", "train_teacher", "train_distilled", "attack",
             "fragility", "transfer_examples", "logits", "robustness"}


def fresh_copy_with_store(tiny_run: Path, tmp_path: Path) -> Path:
    """A new working copy (nothing in results/) that has the tiny run's store."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copytree(tiny_run / "store", fresh / "store")
    return fresh


def test_the_store_lets_a_fresh_copy_skip_every_training_and_attack(tiny_run, tmp_path):
    fresh = fresh_copy_with_store(tiny_run, tmp_path)
    result = snakemake("-n", "--directory", str(fresh), "--configfile", str(TINY), cwd=fresh)
    jobs = planned_jobs(result.stdout + result.stderr)
    assert "restore" in jobs and not jobs & EXPENSIVE, jobs
    # and really: one figure's chain restores, plots, and trains nothing
    target = "paper_outputs/tiny/figures/fig9_transfer_standard.pdf"
    result = snakemake(target, "--cores", "2", "--directory", str(fresh), "--configfile", str(TINY), cwd=fresh)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (fresh / target).exists() and "train_half" not in result.stderr
    assert "no job ran" in (fresh / "results/tiny/logs/restore/models/mnist/half_b.keras.log").read_text()


def test_changed_epochs_retrain_only_the_networks_they_change(tiny_run, tmp_path):
    fresh = fresh_copy_with_store(tiny_run, tmp_path)
    (fresh / "epochs.yaml").write_text("training: {epochs: {mnist: 3, cifar10: 1}}\n")  # tiny trains 2
    result = snakemake("-n", "--directory", str(fresh), "--configfile", str(TINY), str(fresh / "epochs.yaml"),
                       cwd=fresh)
    jobs = planned_jobs(result.stdout + result.stderr)
    assert {"train_standard", "train_teacher", "train_distilled", "attack"} <= jobs, jobs
    assert "train_init" not in jobs, "the init network trains one epoch whatever training.epochs says"
    assert "stored for another job (epochs: 2 in the store, 3 now" in result.stderr


def flip_a_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 1
    path.write_bytes(bytes(raw))


def planned_outputs(output: str) -> dict[str, str]:
    """Each output file of a dry run's jobs -> the rule of the job that writes it."""
    jobs = re.findall(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", output, re.M)
    return {f: rule for rule, block in jobs for line in re.findall(r"^    output: (.*)$", block, re.M)
            for f in line.split(", ")}


def test_a_changed_byte_in_a_stored_network_is_refused_and_it_is_retrained(tiny_run, tmp_path):
    """The figures of a fresh copy whose stored half_b.keras (the Fig. 9 target network) has a flipped byte:
    the network and its metrics, whose own entry verifies, are made by one training job, which gives the
    stored bytes back; everything else is restored, and the run finishes (issue 34: before, Snakemake
    stopped with an AmbiguousRuleException for half_b.json, restored, and trained too)."""
    fresh = fresh_copy_with_store(tiny_run, tmp_path)
    flip_a_byte(fresh / "store/tiny/models/mnist/half_b.keras")
    result = snakemake("figures", "--cores", "2", "--directory", str(fresh), "--configfile", str(TINY), cwd=fresh)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "store/tiny/models/mnist/half_b.keras: SHA-256" in result.stderr and "refused" in result.stderr
    assert "store/tiny/models/mnist/half_b.json: verifies, but is not restored" in result.stderr
    ran = planned_outputs(result.stdout + result.stderr)
    assert ran["results/tiny/models/mnist/half_b.json"] == ran["results/tiny/models/mnist/half_b.keras"] == "train_half"
    assert not {rule for rule in ran.values()} & (EXPENSIVE - {"train_half"}), "nothing else was computed"
    assert (fresh / "paper_outputs/tiny/REPORT.md").is_file() and (fresh / "paper_outputs/tiny/figures").is_dir()
    record = json.loads((tiny_run / "store/tiny/models/mnist/half_b.keras.store.json").read_text())
    from cw_distillation.files import sha256_file

    assert sha256_file(fresh / "results/tiny/models/mnist/half_b.keras") == record["sha256"], "the same network"


# One damaged file in each of several stored jobs (issue 34's seven kinds), a network's or an attack's,
# while the other file of the job verifies: (the file under store/tiny/, the damage, the rule that recomputes).
STORE_DAMAGE = {
    "models/mnist/half_b.keras": (flip_a_byte, "train_half"),
    "attacks/mnist/standard/l2.npz": (flip_a_byte, "attack"),
    "attacks/mnist/distilled_T100/l0.npz": (Path.unlink, "attack"),
    "models/mnist/teacher_T100.keras.store.json": (
        lambda p: p.write_text(p.read_text().replace('"key": "', '"key": "0', 1)), "train_teacher"),
    "attacks/mnist/distilled_T100/fgs.npz.store.json": (lambda p: p.write_text("{not json"), "attack"),
    "attacks/mnist/standard/jsma_f.json.store.json": (Path.unlink, "attack"),
    "models/mnist/standard.keras.prov.json": (Path.unlink, "train_standard"),
}


def test_a_damaged_file_of_any_stored_job_recomputes_the_whole_job_and_nothing_is_ambiguous(tiny_run, tmp_path):
    fresh = fresh_copy_with_store(tiny_run, tmp_path)
    for rel, (damage, _) in STORE_DAMAGE.items():
        damage(fresh / "store/tiny" / rel)
    result = snakemake("-n", "--directory", str(fresh), "--configfile", str(TINY), cwd=fresh)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "Ambiguous" not in out, out[-3000:]
    planned = planned_outputs(out)
    for rel, (_, rule) in STORE_DAMAGE.items():
        stem = re.sub(r"\.(keras|npz|json)(\.store\.json|\.prov\.json)?$", "", rel)
        twins = [f"results/tiny/{stem}{suffix}" for suffix in
                 ((".keras", ".json") if stem.startswith("models/") else (".npz", ".json"))]
        assert [planned.get(f) for f in twins] == [rule, rule], (rel, [planned.get(f) for f in twins])
        assert f"store: store/tiny/{rel.removesuffix('.store.json')}" in result.stderr, rel  # named, with why
    assert {r for r in planned.values()} & EXPENSIVE == {r for _, r in STORE_DAMAGE.values()}, "nothing else"


def test_a_checkpoint_saved_in_the_store_reaches_the_job_on_a_fresh_copy(tiny_run, tmp_path):
    fresh = fresh_copy_with_store(tiny_run, tmp_path)
    rel = "attacks/mnist/standard/fgs"
    for entry in (fresh / "store/tiny").glob("attacks/mnist/standard/fgs.*"):
        entry.unlink()  # the job is computed, not restored
    saved = fresh / "store/tiny/inflight/attacks/mnist/standard/.fgs.checkpoint.npz"
    saved.parent.mkdir(parents=True)
    saved.write_bytes(b"PK\x03\x04 cut off on another machine")  # not a usable checkpoint: the job says so
    result = snakemake(f"results/tiny/{rel}.json", "--cores", "1", "--directory", str(fresh), "--configfile",
                       str(TINY), str(tiny_run / "publish.yaml"), cwd=fresh)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (fresh / "results/tiny/logs/attack_mnist_standard_fgs.log").read_text()
    [line] = [x for x in log.splitlines() if "discarding" in x]
    assert "results/tiny/attacks/mnist/standard/.fgs.checkpoint.npz" in line, "the saved checkpoint was copied beside"
    assert (fresh / f"store/tiny/{rel}.npz.store.json").exists() and not saved.exists(), "published; saved copy gone"


def attack_command(run: Path, out: Path, checkpoint_minutes: float) -> list[str]:
    """C&W L2 on the tiny distilled network, long enough to be killed in the middle."""
    options = '{"binary_search_steps": 6, "max_iterations": 300, "learning_rate": 0.01, "initial_const": 0.001}'
    return [str(BIN / "cw-distillation"), "attack", "--attack", "l2", "--options", options, "--targets", "all",
            "--dataset", "mnist", "--data", str(run / "results/tiny/data/mnist.npz"),
            "--model", str(run / "results/tiny/models/mnist/distilled_T100.keras"), "--n-images", "2",
            "--batch-size", "9", "--checkpoint-minutes", str(checkpoint_minutes),
            "--out", str(out), "--summary", str(out.with_suffix(".json"))]


def test_a_killed_attack_job_resumes_from_its_checkpoint_to_the_same_result(tiny_run, tmp_path):
    import signal
    import time

    import numpy as np

    from cw_distillation.steps.attacking import checkpoint_path

    whole = tmp_path / "whole.npz"
    subprocess.run(attack_command(tiny_run, whole, 1e9), env=ENV, check=True, capture_output=True, timeout=600)
    killed = tmp_path / "killed.npz"
    ckpt = checkpoint_path(killed)
    job = subprocess.Popen(attack_command(tiny_run, killed, 1e-4), env=ENV, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not ckpt.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert ckpt.exists() and not killed.exists(), "killed after its first checkpoint, before the end"
    rerun = subprocess.run(attack_command(tiny_run, killed, 1e9), env=ENV, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0 and "resuming from checkpoint" in rerun.stderr, rerun.stderr[-2000:]
    assert not ckpt.exists(), "a finished job removes its checkpoint"

    damaged = tmp_path / "damaged.npz"
    checkpoint_path(damaged).write_bytes(b"PK\x03\x04 truncated")
    again = subprocess.run(attack_command(tiny_run, damaged, 1e9), env=ENV, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    [line] = [x for x in again.stderr.splitlines() if "discarding" in x]
    assert str(checkpoint_path(damaged)) in line

    with np.load(whole) as a, np.load(killed) as b, np.load(damaged) as c:
        for name in ("x_adv", "l0", "l2", "linf", "success"):
            assert a[name].tobytes() == b[name].tobytes() == c[name].tobytes(), name
