"""pyproject.toml and environment.yml pin the same versions; CI runs exactly the README's test command."""

import re
import tomllib

import yaml
from conftest import REPO


def pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)==([^\s;]+)\s*", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_environment_yml_pins_the_same_versions_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == declared
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python.split("=")[1] >= project["requires-python"].removeprefix(">=")


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert "==" in dep, f"{dep} is not pinned"


def test_the_lock_holds_every_pin_of_pyproject_at_its_version_with_hashes():
    from cw_distillation import lockfile

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    locked = lockfile.pins(REPO / lockfile.LOCK)
    assert {n: locked[lockfile.canonical(n)][0] for n in declared} == declared
    assert len(locked) > 3 * len(declared)  # what they pull in is pinned too
    text = (REPO / lockfile.LOCK).read_text()
    assert text.count("--hash=sha256:") >= len(locked) and "/tmp" not in text and "/work" not in text
    makefile = (REPO / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile and "--no-deps -e ." in makefile


def test_the_environment_record_names_packages_installed_at_other_versions(tmp_path, monkeypatch):
    from cw_distillation import lockfile

    (tmp_path / lockfile.LOCK).write_text("numpy==0.0.1 \\\n    --hash=sha256:00\nno-such-dist==1.0\n"
                                          "winonly==1.0 ; sys_platform == 'win32'\n")
    got = lockfile.record(str(tmp_path))
    assert got["lock"] == lockfile.LOCK and len(got["sha256"]) == 64
    assert got["differs"][0].startswith("no-such-dist: locked 1.0, installed none")
    assert got["differs"][1].startswith("numpy: locked 0.0.1, installed ") and len(got["differs"]) == 2


def test_this_environment_holds_the_locked_versions():
    """make test installs from the lock: a package at another version means the lock is stale."""
    from cw_distillation import lockfile

    assert lockfile.differences(REPO / lockfile.LOCK) == []


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text()
    head = "\n".join(readme.splitlines()[:15])
    assert "make replicate" in head and "make test" in head
    lines = (REPO / ".ci/run").read_text().splitlines()
    ci = [line for line in lines if line and not line.startswith(("#", "set ", "cd "))]
    # the test command first, then only what the README documents
    assert ci[0] == "make test"
    assert all(f"`{command}`" in readme for command in ci[1:]), ci


def test_library_never_imports_snakemake():
    for path in (REPO / "src").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+snakemake", path.read_text(), re.M), path
