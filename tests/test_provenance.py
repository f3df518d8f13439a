"""Every artifact has a manifest; audit names whatever was changed, replaced or deleted."""

import json
import re
import shutil
from pathlib import Path

import pytest

from cw_distillation import provenance
from cw_distillation.cli import main
from cw_distillation.provenance import Step


@pytest.fixture
def chain(tmp_path, monkeypatch):
    """synthesize -> download (from the synthetic mirror) -> prepare, through the CLI, in tmp_path."""
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "synthesize",
                "--dataset",
                "mnist",
                "--out-dir",
                "results/t/synthetic",
                "--n-train",
                "40",
                "--n-test",
                "20",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "download",
                "--dataset",
                "mnist",
                "--out-dir",
                "results/t/raw/mnist",
                "--mirror",
                "results/t/synthetic",
                "--registry",
                "results/t/synthetic/mnist.registry.json",
                "--no-progress",
                "--rule",
                "download",
                "--wildcards",
                "dataset=mnist",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "prepare",
                "--dataset",
                "mnist",
                "--raw-dir",
                "results/t/raw/mnist",
                "--out",
                "results/t/data/mnist.npz",
                "--rule",
                "prepare",
            ]
        )
        == 0
    )
    return tmp_path


def audit_lines(folder) -> tuple[int, list[str]]:
    findings, _ = provenance.audit(folder)
    return (1 if findings else 0), [str(f) for f in findings]


def test_manifest_records_what_a_reviewer_needs(chain):
    m = provenance.read_manifest("results/t/data/mnist.npz")
    assert m["step"]["command"] == "prepare" and m["step"]["rule"] == "prepare"
    assert m["inputs"][0]["path"] == "results/t/raw/mnist"
    assert {"python", "tensorflow", "keras", "numpy", "snakemake"} <= set(m["software"])
    assert m["environment"]["lock"] == "requirements.lock" and m["environment"]["differs"] == []
    assert {"git_commit", "git_dirty"} <= set(m["code"]) and m["hardware"]["cpu_threads"] >= 1
    assert m["started"] <= m["ended"]
    assert m["step"]["notes"]["shapes"]["x_train"] == [40, 28, 28, 1]
    # the lineage carries the download and the synthesis: the chain reaches the root without the files
    steps = sorted(node["step"]["command"] for node in m["lineage"].values())
    assert set(steps) == {"download", "synthesize"}


def test_audit_passes_on_a_fresh_run(chain, capsys):
    assert main(["audit", "results/t"]) == 0
    assert "audit passed" in capsys.readouterr().out


def test_audit_names_an_artifact_with_one_changed_byte(chain, capsys):
    path = chain / "results/t/data/mnist.npz"
    data = bytearray(path.read_bytes())
    data[-10] ^= 1
    path.write_bytes(bytes(data))
    assert main(["audit", "results/t"]) == 1
    out = capsys.readouterr().out
    assert "CHANGED" in out and "results/t/data/mnist.npz" in out


def test_audit_names_the_artifact_made_from_a_replaced_input(chain, capsys):
    # the raw files are replaced by another (well-recorded) download: the npz made from the old ones is stale
    assert (
        main(
            [
                "synthesize",
                "--dataset",
                "mnist",
                "--out-dir",
                "other",
                "--n-train",
                "40",
                "--n-test",
                "20",
                "--seed",
                "4",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "download",
                "--dataset",
                "mnist",
                "--out-dir",
                "results/t/raw/mnist",
                "--mirror",
                "other",
                "--registry",
                "other/mnist.registry.json",
                "--no-progress",
            ]
        )
        == 0
    )
    assert main(["audit", "results/t"]) == 1
    out = capsys.readouterr().out
    assert "STALE" in out and "results/t/data/mnist.npz: its input results/t/raw/mnist has changed" in out


def test_audit_names_a_deleted_artifact_and_a_deleted_input(chain, capsys):
    (chain / "results/t/data/mnist.npz").unlink()
    shutil.rmtree(chain / "results/t/raw/mnist")
    (chain / "results/t/raw/mnist.prov.json").unlink()
    assert main(["audit", "results/t"]) == 1
    out = capsys.readouterr().out
    assert "MISSING        results/t/data/mnist.npz" in out


def test_audit_names_a_file_no_manifest_describes(chain, capsys):
    (chain / "results/t/data/notes.csv").write_text("a,b\n")
    assert main(["audit", "results/t"]) == 1
    assert "UNRECORDED     results/t/data/notes.csv" in capsys.readouterr().out


def test_committed_outputs_audit_without_the_intermediate_files(chain, capsys):
    table = chain / "paper_outputs/t/tables/counts.csv"
    table.parent.mkdir(parents=True)
    table.write_text("class,count\n0,4\n")
    provenance.write_manifest(table, Step(command="tables", params={}, inputs=[chain / "results/t/data/mnist.npz"]))
    assert provenance.manifest_path(table) == chain / "paper_outputs/t/provenance/tables/counts.csv.json"
    shutil.rmtree(chain / "results")  # a fresh clone: results/ is not committed
    assert main(["audit", "paper_outputs/t"]) == 0
    table.write_text("class,count\n0,5\n")
    assert main(["audit", "paper_outputs/t"]) == 1
    assert "paper_outputs/t/tables/counts.csv" in capsys.readouterr().out


def test_a_link_without_provenance_breaks_the_chain(chain, capsys):
    stray = chain / "stray.npz"
    stray.write_bytes(b"not recorded")
    out = chain / "results/t/derived.bin"
    out.write_bytes(b"x")
    provenance.write_manifest(out, Step(command="tables", params={}, inputs=[stray]))
    assert main(["audit", "results/t"]) == 1
    assert "BROKEN-CHAIN" in capsys.readouterr().out


def test_explain_prints_the_chain_back_to_the_download(chain, capsys):
    assert main(["explain", "results/t/data/mnist.npz"]) == 0
    out = capsys.readouterr().out
    assert (
        out.index("step: cw-distillation prepare")
        < out.index("step: cw-distillation download")
        < out.index("step: cw-distillation synthesize")
    )
    assert '"n_train": 40' in out


def test_manifests_are_json_with_sorted_keys(chain):
    text = provenance.manifest_path("results/t/data/mnist.npz").read_text()
    assert json.loads(text)["schema"] == provenance.SCHEMA_VERSION


def test_code_leaves_are_sources_and_package_data_only():
    """Inputs without a manifest pass the audit only if they are the package's own files."""
    from cw_distillation.provenance import is_code

    assert is_code("src/cw_distillation/outputs/report.py")
    assert is_code("src/cw_distillation/reference_results.yaml")
    assert not is_code("config.yaml")
    assert not is_code("results/quick/data/mnist.npz")


def test_manifest_records_the_code_and_time_at_the_start_of_a_step(tmp_path, monkeypatch):
    # A commit made while a long step runs must not be recorded as the code that made its output.
    import subprocess
    import time

    from cw_distillation.steps import data

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("a\n")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    first = git("rev-parse", "HEAD")
    monkeypatch.chdir(tmp_path)
    provenance.code_version.cache_clear()
    original = data.synthesize

    def commit_then_synthesize(args):
        time.sleep(1.1)  # manifests give seconds
        during.append(provenance.now())
        (tmp_path / "b.txt").write_text("b\n")
        git("add", "b.txt")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "during the step")
        return original(args)

    during: list[str] = []
    monkeypatch.setattr(data, "synthesize", commit_then_synthesize)
    try:
        args = ["synthesize", "--dataset", "mnist", "--out-dir", "results/s", "--n-train", "20", "--n-test", "10"]
        assert main(args) == 0
        manifest = json.loads(provenance.manifest_path(tmp_path / "results/s/mnist").read_text())
        assert git("rev-parse", "HEAD") != first
        assert manifest["code"]["git_commit"] == first
        assert manifest["started"] < during[0] <= manifest["ended"]  # ISO 8601 UTC, same format
    finally:
        provenance.code_version.cache_clear()  # other tests read the code version of their own cwd
        monkeypatch.setattr(provenance, "_process_start", None)


def test_two_trainings_from_one_seed_publish_byte_identical_networks(chain):
    """Keras stamps the wall clock into a .keras file (metadata.json's date_saved, zip entry
    times): published networks are rewritten without it, so the same weights have the same
    SHA-256, and the audit and the store compare those. Two processes, as the workflow runs
    them (Keras numbers its layer names per process)."""
    import subprocess
    import sys
    import zipfile

    from cw_distillation.files import sha256_file

    digests = []
    for run in ("a", "b"):  # each takes seconds: their wall-clock stamps differ
        out = f"results/t/models/{run}.keras"
        args = ["train", "--role", "standard", "--dataset", "mnist", "--data", "results/t/data/mnist.npz"]
        args += ["--validation-size", "5", "--epochs", "1", "--batch-size", "16", "--seed", "4"]
        args += ["--out", out, "--metrics", f"results/t/models/{run}.json"]
        subprocess.run([sys.executable, "-m", "cw_distillation", *args], check=True, capture_output=True)
        with zipfile.ZipFile(out) as z:
            assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            assert "date_saved" not in json.loads(z.read("metadata.json"))
        digests.append(sha256_file(out))
        assert provenance.recorded_sha256(out) == digests[-1]
    assert digests[0] == digests[1]
    code, lines = audit_lines("results/t")
    assert code == 0, lines


def test_normalizing_an_archive_keeps_its_arrays_and_is_idempotent(tmp_path):
    import numpy as np

    from cw_distillation.files import normalize_archive, sha256_file

    path = tmp_path / "r.npz"
    np.savez_compressed(path, x=np.arange(6.0).reshape(2, 3), y=np.array([True, False]))
    assert normalize_archive(path)
    first = sha256_file(path)
    assert normalize_archive(path) and sha256_file(path) == first
    with np.load(path) as z:
        assert z["x"].tolist() == [[0, 1, 2], [3, 4, 5]] and z["y"].tolist() == [True, False]
    (tmp_path / "t.csv").write_text("a\n")
    assert not normalize_archive(tmp_path / "t.csv") and not normalize_archive(tmp_path / "missing.npz")


def test_benchmark_files_are_bookkeeping_like_logs(chain):
    bench = chain / "results/t/benchmarks/prepare_mnist.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text("s\th:m:s\n1.0\t0:00:01\n")
    (chain / "results/t/stray.txt").write_text("x")
    _, lines = audit_lines("results/t")
    assert not any("benchmarks" in line for line in lines)
    assert any("stray.txt" in line and "UNRECORDED" in line for line in lines)


def test_a_table_made_from_benchmark_files_passes_the_audit(chain):
    bench = chain / "results/t/benchmarks"
    bench.mkdir(parents=True)
    for name in ("train_mnist_standard", "attack_mnist_standard_l2"):
        (bench / f"{name}.tsv").write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t900\n")
    args = ["table-job-times", "--benchmarks", "results/t/benchmarks", "--out-base", "results/t/tables/job_times"]
    assert main(args) == 0
    code, lines = audit_lines("results/t")
    assert code == 0, lines


def test_a_later_run_rewriting_the_benchmark_files_leaves_the_job_time_table_audited(chain, capsys):
    """A job-time table records one run's cost: a later run's benchmark files (issue 34, make replicate
    on a fresh clone) are named in a note, not STALE findings; the table's own bytes are still checked."""
    bench = chain / "results/t/benchmarks"
    bench.mkdir(parents=True)
    (bench / "train_mnist_standard.tsv").write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t900\n")
    args = ["table-job-times", "--benchmarks", "results/t/benchmarks", "--out-base", "paper_outputs/t/tables/job_times"]
    assert main(args) == 0
    (bench / "train_mnist_standard.tsv").write_text("s\th:m:s\tmax_rss\n13.1\t0:00:13\t905\n")  # the next run's
    capsys.readouterr()
    assert main(["audit", "paper_outputs/t"]) == 0
    out = capsys.readouterr().out
    assert "STALE" not in out and "audit passed" in out, out
    assert "note: paper_outputs/t/tables/job_times.md: a record of an earlier run's job times" in out, out
    table = chain / "paper_outputs/t/tables/job_times.md"
    table.write_text(table.read_text().replace("12.5", "1.25"))
    assert main(["audit", "paper_outputs/t"]) == 1
    assert "CHANGED        paper_outputs/t/tables/job_times.md" in capsys.readouterr().out


def test_the_committed_job_time_tables_pass_the_audit_after_a_new_run(tmp_path):
    """paper_outputs/quick's job-time tables against the benchmark files a fresh clone's make replicate
    writes (every one rewritten): no finding names them (before issue 34: 252 STALE findings)."""
    from conftest import REPO

    shutil.copytree(REPO / "paper_outputs/quick", tmp_path / "paper_outputs/quick")
    tables = sorted((tmp_path / "paper_outputs/quick/provenance/tables").glob("job_times.*.json"))
    assert len(tables) == 3
    for manifest in tables:
        for item in json.loads(manifest.read_text())["inputs"]:
            if provenance.is_benchmark(item["path"]):
                (tmp_path / item["path"]).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / item["path"]).write_text("s\th:m:s\n1.0\t0:00:01\n")
    notes: list[str] = []
    findings, _ = provenance.audit(tmp_path / "paper_outputs/quick", notes)
    assert not [f for f in findings if "job_times" in f.path or "benchmarks" in f.detail], findings
    assert len(notes) == 3 and all("job_times" in n for n in notes), notes


# ----------------------------------------------------------------------------- issue 34: portable, code-aware, small


def machine_paths(folder) -> list[str]:
    """Every absolute path (a JSON string starting with /) in the manifests under ``folder``."""
    found = []
    for path in sorted(folder.rglob("*.json")):
        found += [f"{path}: {m}" for m in re.findall(r'"(/[^"]*)"', path.read_text())]
    return found


def publish(chain, name: str, inputs: list) -> None:
    """A published output of ``chain``'s prepared data, made by the given inputs."""
    out = chain / "paper_outputs/t" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{name}\n")
    provenance.write_manifest(out, Step(command="tables", params={}, inputs=inputs))


def test_code_is_recorded_by_its_place_in_the_repository_whatever_path_the_run_used():
    cache = ("/root/.cache/snakemake/snakemake/source-cache/snakemake-runtime-cache/tmp9brvfrun/file/work/qc/"
             "workflow/rules/../../src/cw_distillation/outputs/plots.py")
    assert provenance.portable(cache) == "src/cw_distillation/outputs/plots.py"
    assert provenance.portable("/elsewhere/clone/src/cw_distillation/reference_results.yaml") == (
        "src/cw_distillation/reference_results.yaml")
    assert provenance.portable("/work/shared/datasets", repo=Path("/work/main")) == "../shared/datasets"
    assert provenance.portable("results/t/data/mnist.npz") == "results/t/data/mnist.npz"


def test_another_mirror_gives_the_same_config_digest():
    config = {"profile": "t", "seed": 0, "data": {"mirror": "/work/shared/datasets", "synthetic": {"enabled": False}}}
    other = {**config, "data": {**config["data"], "mirror": "/mnt/other mirror"}}
    assert provenance.config_digest(config) == provenance.config_digest(other)
    assert provenance.config_digest(config) != provenance.config_digest({**config, "seed": 1})


def test_manifests_name_no_machine_and_record_the_mirror_beside_the_config(chain, monkeypatch):
    monkeypatch.setenv("CW_DATA_MIRROR", str(chain / "mirror"))
    publish(chain, "tables/counts.csv", [chain / "results/t/data/mnist.npz", Path(provenance.__file__)])
    assert machine_paths(chain / "results") == [] and machine_paths(chain / "paper_outputs") == []
    manifest = json.loads(provenance.manifest_path("paper_outputs/t/tables/counts.csv").read_text())
    assert manifest["data_mirror"] == "mirror"
    assert [i["path"] for i in manifest["inputs"]] == ["results/t/data/mnist.npz", "src/cw_distillation/provenance.py"]


@pytest.fixture
def checkout(chain):
    """``chain`` as a checkout: the package's report.py copied to src/, and a published report made with it."""
    code = chain / "src/cw_distillation/outputs/report.py"
    code.parent.mkdir(parents=True)
    shutil.copy(Path(provenance.__file__).parent / "outputs/report.py", code)
    publish(chain, "REPORT.md", [chain / "results/t/data/mnist.npz", code])
    return code


def test_audit_names_an_edited_source_file_as_stale_code(checkout, capsys):
    assert main(["audit", "paper_outputs/t"]) == 0
    before = provenance.sha256_any(checkout)
    checkout.write_text(checkout.read_text() + "# a comment\n")
    assert main(["audit", "paper_outputs/t"]) == 1
    out = capsys.readouterr().out
    after = provenance.sha256_any(checkout)
    assert f"STALE-CODE     src/cw_distillation/outputs/report.py: made by {before[:8]}, now {after[:8]}" in out


def test_audit_names_a_source_file_that_is_gone(checkout, capsys):
    checkout.unlink()
    assert main(["audit", "paper_outputs/t"]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if "report.py" in line]
    assert len(lines) == 1 and lines[0].startswith("MISSING-CODE   src/cw_distillation/outputs/report.py: no longer")


@pytest.mark.parametrize("text", ["[]", '{"artifact": {"path": "paper_outputs/t/x", "sha256": "0"}}', "{not json"])
def test_a_manifest_that_is_not_one_is_named_in_one_line(chain, capsys, text):
    publish(chain, "tables/counts.csv", [chain / "results/t/data/mnist.npz"])
    bad = provenance.manifest_path("paper_outputs/t/tables/counts.csv")
    bad.write_text(text)
    assert main(["audit", "paper_outputs/t"]) == 1
    out = capsys.readouterr().out
    assert next(line for line in out.splitlines() if str(bad) in line).startswith("UNREADABLE")
    assert "counts.csv" not in out.replace(str(bad), "")  # one line, not one more for the table
    assert main(["explain", "paper_outputs/t/tables/counts.csv"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0] and "Traceback" not in err[0]


def test_published_manifests_store_each_lineage_node_once(chain, capsys):
    for name in ("figures/a.png", "figures/a.pdf"):
        publish(chain, name, [chain / "results/t/data/mnist.npz"])
    nodes = {p.stem for p in (chain / "paper_outputs/t/provenance/lineage").glob("*.json")}
    refs = [json.loads(provenance.manifest_path(f"paper_outputs/t/figures/{n}").read_text())["lineage"]
            for n in ("a.png", "a.pdf")]
    # prepare, download, the synthetic mirror and its registry: once for both figures
    assert len(nodes) == 4 and set(refs[0].values()) == set(refs[1].values()) == nodes
    assert main(["audit", "paper_outputs/t"]) == 0
    assert main(["explain", "paper_outputs/t/figures/a.png"]) == 0
    assert "step: cw-distillation synthesize" in capsys.readouterr().out
    assert main(["explain", "paper_outputs/t/figures/a.png", "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "step: cw-distillation prepare" in out and "step: cw-distillation download" not in out
    assert "(made by download; beyond --depth 1)" in out


def test_an_edited_lineage_node_is_named(chain, capsys):
    publish(chain, "figures/a.png", [chain / "results/t/data/mnist.npz"])
    node = next((chain / "paper_outputs/t/provenance/lineage").glob("*.json"))
    node.write_text(node.read_text().replace('"seed"', '"seed" ', 1))
    assert main(["audit", "paper_outputs/t"]) == 1
    assert f"{node.relative_to(chain)}: lineage node whose SHA-256 is not its name" in capsys.readouterr().out


def as_written_before(manifest: Path, chain: Path) -> None:
    """Rewrite a manifest as the code before issue 34 wrote it: the lineage embedded, code named
    by a Snakemake source-cache path, the mirror by an absolute path."""
    data = provenance.load(manifest)
    cache = "/root/.cache/snakemake/source-cache/tmpx/file/work/qc/workflow/rules/../../"
    for node in [data, *data["lineage"].values()]:
        for item in node["inputs"]:
            item["path"] = cache + item["path"] if provenance.is_code(item["path"]) else str(chain / item["path"])
        node["schema"] = 1
    manifest.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def test_relativize_rewrites_old_manifests_without_touching_the_results(checkout, capsys):
    chain = checkout.parents[3]
    publish(chain, "tables/counts.csv", [chain / "results/t/data/mnist.npz"])
    for manifest in provenance._manifests_under(chain / "paper_outputs/t"):
        as_written_before(manifest, chain)
    for path in (chain / "results/t").rglob("*.prov.json"):
        as_written_before(path, chain)
    shutil.rmtree(chain / "paper_outputs/t/provenance/lineage")
    results = {p: p.read_bytes() for p in chain.rglob("*") if p.is_file() and not provenance.is_manifest(p)}
    assert machine_paths(chain / "paper_outputs") and main(["audit", "paper_outputs/t"]) == 0
    assert main(["provenance", "relativize", "paper_outputs/t", "results/t"]) == 0
    assert machine_paths(chain / "paper_outputs") == [] and machine_paths(chain / "results") == []
    assert {p: p.read_bytes() for p in results} == results
    assert main(["audit", "paper_outputs/t"]) == 0 and main(["audit", "results/t"]) == 0
    text = {p: p.read_text() for p in (chain / "paper_outputs").rglob("*.json")}
    assert main(["provenance", "relativize", "paper_outputs/t"]) == 0  # a second time: nothing changes
    assert {p: p.read_text() for p in (chain / "paper_outputs").rglob("*.json")} == text
    checkout.write_text(checkout.read_text() + "# a comment\n")
    assert main(["audit", "paper_outputs/t"]) == 1
    assert "STALE-CODE     src/cw_distillation/outputs/report.py" in capsys.readouterr().out


def test_relativize_removes_the_nodes_no_manifest_references(chain, capsys):
    publish(chain, "figures/a.png", [chain / "results/t/data/mnist.npz"])
    stray = chain / "paper_outputs/t/provenance/lineage" / ("0" * 64 + ".json")
    stray.write_text("{}\n")
    assert main(["provenance", "relativize", "paper_outputs/t"]) == 0
    assert not stray.exists() and "1 unreferenced lineage node(s) removed" in capsys.readouterr().out


def test_prune_removes_only_the_nodes_no_manifest_references_any_more(chain, capsys):
    publish(chain, "figures/a.png", [chain / "results/t/data/mnist.npz"])
    nodes = chain / "paper_outputs/t/provenance/lineage"
    kept = {p.name for p in nodes.glob("*.json")}
    stray = nodes / ("0" * 64 + ".json")  # what a manifest rewritten since referenced
    stray.write_text("{}\n")
    assert main(["provenance", "prune", "paper_outputs/t"]) == 0
    assert "paper_outputs/t: 1 unreferenced lineage node(s) removed" in capsys.readouterr().out
    assert {p.name for p in nodes.glob("*.json")} == kept and main(["audit", "paper_outputs/t"]) == 0


def test_a_code_input_named_by_a_snapshot_elsewhere_is_recorded_as_the_code_that_ran(chain, tmp_path_factory):
    # Snakemake names code inputs by copies in its source cache, made when the run started; a module
    # edited during the run is imported in its new form, and that is what the manifest must hash.
    cache = tmp_path_factory.mktemp("source-cache") / "workflow/rules/../../src/cw_distillation/outputs/report.py"
    cache.parent.mkdir(parents=True)
    cache.write_text("# the module as it was when the run started\n")
    publish(chain, "REPORT.md", [chain / "results/t/data/mnist.npz", cache])
    recorded = provenance.load(provenance.manifest_path("paper_outputs/t/REPORT.md"))["inputs"][1]
    imported = Path(provenance.__file__).parent / "outputs/report.py"
    assert recorded == {"path": "src/cw_distillation/outputs/report.py", "sha256": provenance.sha256_any(imported)}
