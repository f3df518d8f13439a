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
