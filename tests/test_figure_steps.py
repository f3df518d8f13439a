"""The figure steps choose and name what the figures show: one source image per class with its
class's name, each temperature's interval, and only the grids worth drawing."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import REPO

from cw_distillation.attacks.result import AttackResult
from cw_distillation.cli import main
from cw_distillation.config import ConfigError, load_schema, validate_config
from cw_distillation.datasets import DATASETS
from cw_distillation.outputs import plots
from cw_distillation.outputs.temperature import TEMPERATURE_COLUMNS, temperature_rows

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")


def write_attack(tmp_path, images: list[int], labels: list[int]) -> tuple:
    """An L2 result on tiny CIFAR-like images (9 targets per image) and the dataset it attacked."""
    n_test = max(images) + 1
    rng = np.random.default_rng(0)
    x_test = rng.integers(0, 256, (n_test, 4, 4, 3), dtype=np.uint8)
    data = tmp_path / "cifar10.npz"
    np.savez(data, x_train=x_test, y_train=np.zeros(n_test, np.uint8), x_test=x_test, y_test=np.zeros(n_test, np.uint8))
    label = np.repeat(labels, 9)
    target = np.array([t for c in labels for t in range(10) if t != c])
    n = len(label)
    result = tmp_path / "attacks/cifar10/distilled_T100/l2.npz"
    result.parent.mkdir(parents=True)
    AttackResult(
        x_adv=np.zeros((n, 4, 4, 3), np.float32),
        success=np.ones(n, bool),
        l0=np.ones(n),
        l2=np.ones(n),
        linf=np.ones(n),
        iterations=np.ones(n, int),
        seconds=np.ones(n),
        image_index=np.repeat(images, 9),
        target=target,
        label=label,
    ).save(result)
    return result, data


@pytest.mark.parametrize(("n_sources", "rows"), [(10, [5, 2, 0]), (2, [5, 2])])
def test_cifar10_grid_shows_one_image_per_class_named_by_its_class(tmp_path, monkeypatch, n_sources, rows):
    # attacked in order: images 0 and 1 are both ships (8), 2 a cat (3), 5 an automobile (1)
    result, data = write_attack(tmp_path, images=[0, 1, 2, 5], labels=[8, 8, 3, 1])
    shown = []
    monkeypatch.setattr(plots, "adversarial_examples", lambda images, base: shown.append(images) or [])
    args = ["figure-examples", "--dataset", "cifar10", "--result", str(result), "--data", str(data)]
    assert main([*args, "--n-sources", str(n_sources), "--out-base", str(tmp_path / "grid")]) == 0
    (images,) = shown
    assert list(images["class_names"]) == list(DATASETS["cifar10"].class_names)
    assert [images["class_names"][c] for c in images["labels"]] == ["automobile", "cat", "ship"][: len(rows)]
    assert len(images["originals"]) == len(rows)
    assert "no airplane, bird, deer, dog, frog, horse, truck among the 4 attacked images" in images["title"]
    # each row's original is that test image (the dataset scaled to [-0.5, 0.5])
    x_test = np.load(data)["x_test"].astype(np.float32) / 255 - 0.5
    assert np.allclose(images["originals"], x_test[rows])


def test_class_names_are_ten_per_dataset_in_label_order():
    assert DATASETS["mnist"].class_names == tuple("0123456789")
    assert len(DATASETS["cifar10"].class_names) == 10 and DATASETS["cifar10"].class_names[0] == "airplane"
    assert DATASETS["cifar10"].class_names[8] == "ship"


def test_temperature_rows_carry_each_temperatures_interval_over_images():
    l2 = {"l2": {"average": {"n_images": 20, "mean": 2.0, "prob": 1.0}}}
    sweep = [
        {"temperature": 1, "test_accuracy": 0.99, "l2": l2, "l2_interval": [1.8, 2.3]},
        {"temperature": 100, "test_accuracy": 0.98, "l2": l2},  # no interval given: empty cells
    ]
    rows = temperature_rows(sweep)
    assert (rows[0]["l2_mean_lo"], rows[0]["l2_mean_hi"]) == (1.8, 2.3)
    assert rows[1]["l2_mean_lo"] is None and rows[1]["l2_mean_hi"] is None
    assert all(list(r) == TEMPERATURE_COLUMNS for r in rows)


def test_example_sources_defaults_to_one_row_per_class_and_is_bounded():
    config = validate_config({}, SCHEMA)
    assert config["figures"] == {"example_sources": 10, "example_datasets": ["mnist", "cifar10"]}
    for bad in (0, 11, "3"):
        with pytest.raises(ConfigError, match=r"figures\.example_sources"):
            validate_config({"figures": {"example_sources": bad}}, SCHEMA)
    with pytest.raises(ConfigError, match=r"figures\.example_datasets"):
        validate_config({"figures": {"example_datasets": ["svhn"]}}, SCHEMA)


def test_quick_profile_draws_no_grid_of_its_cifar10_networks_at_chance():
    quick = validate_config(yaml.safe_load((REPO / "config.yaml").read_text()), SCHEMA)
    assert quick["figures"]["example_datasets"] == ["mnist"]
    cifar10 = validate_config(yaml.safe_load((REPO / "config/cifar10.yaml").read_text()), SCHEMA)
    assert "cifar10" in cifar10["figures"]["example_datasets"]
