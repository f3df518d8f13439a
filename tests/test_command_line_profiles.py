"""Snakemake's default command-line profile gives a plain `snakemake` the flags `make` adds, and
`make help` names every workflow config (profile) and the install target."""

import re
import subprocess
import sys
import time
from pathlib import Path

import yaml
from conftest import REPO

BIN = Path(sys.executable).parent
DEFAULT = REPO / "workflow/profiles/default/config.yaml"


def test_the_default_profile_sets_only_flags_make_passes_too():
    profile = yaml.safe_load(DEFAULT.read_text())
    opts = re.search(r"^SNAKEMAKE_OPTS := (.*)$", (REPO / "Makefile").read_text(), re.M).group(1).split()
    assert profile and all(f"--{key}" in opts for key in profile), (sorted(profile), opts)
    assert "configfile" not in profile  # config.yaml is the Snakefile's own default


def test_plain_snakemake_from_the_repository_root_reads_it():
    # Snakemake looks for profiles/default beside the top-level Snakefile: a link to workflow/profiles.
    assert (REPO / "profiles").is_symlink() and (REPO / "profiles").resolve() == (REPO / "workflow/profiles")
    result = subprocess.run([str(BIN / "snakemake"), "-n"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Using workflow specific profile profiles/default" in result.stdout + result.stderr


def test_make_help_names_every_profile_and_the_install_target():
    result = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    names = ["quick", *(p.stem for p in (REPO / "config").glob("*.yaml"))]
    usage = next(line for line in result.stdout.splitlines() if line.startswith("make replicate"))
    assert all(re.search(rf"[=|]{name}[|\]]", usage) for name in names), (names, usage)
    assert re.search(r"^make install ", result.stdout, re.M)


def test_make_refuses_a_second_run_of_a_profile_going_here(tmp_path):
    """Snakemake's lock lets a second run of one profile through once any run here ends (that removes the
    whole .snakemake/locks): two CIFAR-10 trainings once wrote one checkpoint side by side. make checks."""
    fake = tmp_path / "bin" / "snakemake"  # a process named snakemake, running here with tiny's config
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)
    running = subprocess.Popen([str(fake), "--cores", "1", "--configfile", "config/tiny.yaml"], cwd=REPO)
    try:
        time.sleep(0.5)
        args = ["make", "-s", "replicate", "PROFILE=tiny", "TARGET=no_such_target", "STAMP=", "GPU_STAMP="]
        result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
    finally:
        running.kill()
        running.wait()
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"A run of PROFILE=tiny is already going here (snakemake, pid {running.pid})" in result.stdout
