"""Re-execution of stored results (cw_distillation.rerun): a stored attack result's pairs, rerun
with the attack and options its record names on the network its manifest names, give the
stored numbers; a network's recorded test accuracy is its weights' accuracy. A result edited and
re-hashed passes every hash check, and the rerun catches it.

The store is a small synthetic one: an untrained Table I MNIST network, a few random test images
(labelled with the network's own classes, so every image is correctly classified), and a C&W L2
result made by the attack step itself, stored with store.put."""

import cw_distillation.autodiff  # noqa: F401 (first: it sets KERAS_BACKEND)

# isort: split
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cw_distillation import cli, store
from cw_distillation.attacks.result import AttackResult, distances
from cw_distillation.files import sha256_file, sha256_tree
from cw_distillation.provenance import Step, manifest_path, write_manifest
from cw_distillation.rerun import compare_pair, draw_pairs, rows_to_rerun

L2_OPTIONS = {"max_iterations": 20, "binary_search_steps": 2, "initial_const": 10.0, "learning_rate": 0.1,
              "abort_scope": "image"}
ATTACK = "attacks/mnist/standard/l2.npz"
NETWORK = "models/mnist/standard.keras"


def _network(results: Path) -> Path:
    """An untrained MNIST network, its metrics file and the prepared data, each with a manifest."""
    from cw_distillation.models import build_model, predict_logits, save_model
    from cw_distillation.train import accuracy

    model = build_model("mnist", seed=0)
    rng = np.random.default_rng(0)
    x = {s: rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8) for s, n in (("train", 4), ("test", 12))}
    y_test = predict_logits(model, x["test"].astype(np.float32) / 255 - 0.5).argmax(1).astype(np.uint8)
    data = results / "data/mnist.npz"
    data.parent.mkdir(parents=True)
    np.savez(data, x_train=x["train"], y_train=np.zeros(4, np.uint8), x_test=x["test"], y_test=y_test)
    keras_path = save_model(model, results / NETWORK)
    write_manifest(keras_path, Step("train", {}, [data]))
    metrics = {"dataset": "mnist", "test_images": 12,
               "test_accuracy": accuracy(model, x["test"].astype(np.float32) / 255 - 0.5, y_test)}
    keras_path.with_suffix(".json").write_text(json.dumps(metrics))
    write_manifest(keras_path.with_suffix(".json"), Step("train", {}, [data, keras_path]))
    return data


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, Path]:
    """(store folder, prepared data): a network and an L2 result on 2 images x 9 targets."""
    root = tmp_path_factory.mktemp("rerun")
    results, target = root / "results", root / "store"
    data = _network(results)
    assert cli.main(["attack", "--attack", "l2", "--options", json.dumps(L2_OPTIONS), "--dataset", "mnist",
                     "--data", str(data), "--model", str(results / NETWORK), "--n-images", "2",
                     "--batch-size", "18", "--out", str(results / ATTACK),
                     "--summary", str(results / ATTACK.replace(".npz", ".json"))]) == 0
    parts = {"kind": "attack", "dataset": "mnist", "model_name": "standard", "attack": "l2",
             "options": L2_OPTIONS, "targets": "all", "batch_size": 18, "n_images": 2, "seed": 0}
    store.put(target, results, ATTACK, parts)
    for rel in (NETWORK, NETWORK.replace(".keras", ".json")):
        store.put(target, results, rel, {"kind": "model", "dataset": "mnist", "name": "standard"})
    return target, data


@pytest.fixture
def copy(made, tmp_path) -> tuple[Path, Path]:
    """A copy of the store that a test may damage."""
    shutil.copytree(made[0], tmp_path / "store")
    return tmp_path / "store", made[1]


def rerun(target: Path, data: Path, *extra: str) -> int:
    return cli.main(["verify", "rerun", str(target), "--data", str(data), *extra])


def rehash(target: Path, rel: str) -> None:
    """Make the manifest and the store record describe the edited file's bytes (a forger's step)."""
    digest = sha256_file(target / rel)
    for path in (manifest_path(target / rel), target / (rel + store.SUFFIX)):
        record = json.loads(path.read_text())
        record.get("artifact", record)["sha256"] = digest
        path.write_text(json.dumps(record))


def test_stored_pairs_rerun_identically_and_the_network_keeps_its_accuracy(made, tmp_path, capsys):
    target, data = made
    before = sha256_tree(target)
    assert rerun(target, data, "--pairs", "2", "--seed", "3", "--out", str(tmp_path / "rerun.json")) == 0
    out = capsys.readouterr().out
    assert "seed 3" in out and "0 different" in out and "recomputed" in out
    report = json.loads((tmp_path / "rerun.json").read_text())
    pairs = report["results"][0]["pairs"]
    assert report["seed"] == 3 and sum(p["drawn"] for p in pairs) == 2
    assert len(pairs) in (9, 18)  # abort_scope image: the drawn pairs' images rerun whole
    assert {p["verdict"] for p in pairs} == {"identical"}
    assert report["results"][1]["counts"]["identical"] == 1
    assert sha256_tree(target) == before


def test_the_pairs_of_named_images_rerun_all_together(made, tmp_path, capsys):
    """--images: every pair of those test images (the pairs a job attacked itself, rerun as it
    attacked them), not a random draw."""
    target, data = made
    images = [str(i) for i in np.unique(AttackResult.load(target / ATTACK).image_index)]
    assert rerun(target / ATTACK, data, "--images", *images, "--out", str(tmp_path / "r.json")) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    pairs = report["results"][0]["pairs"]
    assert report["images"] == list(map(int, images)) and len(pairs) == 18 and all(p["drawn"] for p in pairs)
    assert {p["verdict"] for p in pairs} == {"identical"}
    assert f"every pair of test image(s) {', '.join(images)}" in capsys.readouterr().out


def test_images_a_result_lacks_are_named_with_the_file(made, capsys):
    target, data = made
    assert rerun(target / ATTACK, data, "--images", "9999") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(str(target / ATTACK)) and "no pairs of test image(s) 9999" in err


def test_an_edited_and_rehashed_result_is_caught(copy, capsys):
    target, data = copy
    stored = AttackResult.load(target / ATTACK)
    x = np.load(data)["x_test"][stored.image_index].astype(np.float32) / 255 - 0.5
    stored.x_adv = (x + 0.5 * (stored.x_adv - x)).astype(np.float32)  # every example twice as close
    stored.l0, stored.l2, stored.linf = distances(x, stored.x_adv)
    stored.save(target / ATTACK)
    rehash(target, ATTACK)
    parts = json.loads((target / (ATTACK + store.SUFFIX)).read_text())["parts"]
    assert store.check_entry(target, ATTACK, parts) is None  # every hash agrees
    assert rerun(target / ATTACK, data, "--pairs", "1") == 1
    assert "different" in capsys.readouterr().out.replace("0 different", "")


def test_a_network_whose_recorded_accuracy_was_edited_is_caught(copy, capsys):
    target, data = copy
    metrics_rel = NETWORK.replace(".keras", ".json")
    metrics = json.loads((target / metrics_rel).read_text())
    (target / metrics_rel).write_text(json.dumps({**metrics, "test_accuracy": metrics["test_accuracy"] - 0.25}))
    rehash(target, metrics_rel)
    assert rerun(target / NETWORK, data) == 1
    assert capsys.readouterr().out.splitlines()[-1].endswith(": different")


@pytest.mark.parametrize("damage, named", [
    (lambda t: (t / (ATTACK + store.SUFFIX)).unlink(), ATTACK + store.SUFFIX),
    (lambda t: manifest_path(t / ATTACK).write_text("{not json"), ATTACK + ".prov.json"),
    (lambda t: [(t / NETWORK).unlink(), (t / (NETWORK + store.SUFFIX)).unlink()], ATTACK),
], ids=["store record missing", "manifest not JSON", "network not found"])
def test_a_bad_entry_is_named_in_one_line_and_nothing_changes(copy, capsys, damage, named):
    target, data = copy
    damage(target)
    before = sha256_tree(target)
    assert rerun(target / ATTACK, data) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(str(target / named)), err
    assert sha256_tree(target) == before


def test_the_drawn_pairs_depend_on_the_seed_alone():
    np.testing.assert_array_equal(draw_pairs(450, 3, seed=0), draw_pairs(450, 3, seed=0))
    assert len(draw_pairs(5, 9, seed=0)) == 5


def test_an_l2_pair_aborting_with_its_image_reruns_with_that_image_s_pairs():
    image_index = np.repeat([4, 7, 9], 3)
    drawn = np.array([4])
    np.testing.assert_array_equal(rows_to_rerun(drawn, image_index, "l2", {}), [3, 4, 5])
    np.testing.assert_array_equal(rows_to_rerun(drawn, image_index, "l2", {"abort_scope": "pair"}), [4])
    np.testing.assert_array_equal(rows_to_rerun(drawn, image_index, "l0", {}), [4])


def test_a_rerun_drifting_within_the_tolerance_or_close_is_told_apart_from_a_different_one():
    x = np.zeros((1, 2, 2, 1), np.float32)
    stored = AttackResult(x + 0.1, np.array([True]), *distances(x, x + 0.1), np.zeros(1), np.zeros(1),
                          np.zeros(1), np.zeros(1), np.zeros(1))
    for shift, verdict in ((0.0, "identical"), (1e-7, "within tolerance"), (1e-3, "close"), (0.05, "different")):
        moved = AttackResult(**{**stored.__dict__, "x_adv": x + np.float32(0.1 + shift)})
        moved.l0, moved.l2, moved.linf = distances(x, moved.x_adv)
        assert compare_pair(stored, moved, 0, 0, "l2")[0] == verdict, shift


def test_a_folder_without_stored_results_is_named(tmp_path, capsys):
    assert rerun(tmp_path, tmp_path / "mnist.npz") == 1
    assert capsys.readouterr().err.strip() == f"{tmp_path}: no stored attack results (attacks/) or networks (models/)"
