"""Every artifact has a manifest; audit names whatever was changed, replaced or deleted."""

import json
import shutil

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
