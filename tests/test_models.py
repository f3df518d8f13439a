"""Table I architectures and safe model files."""

from __future__ import annotations

from pathlib import Path

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np
import pytest

from cw_distillation.models import (
    build_model,
    copy_model,
    dataset_of,
    load_model,
    save_model,
)

TABLE_I_SHAPES = {
    "mnist": [
        ("conv1", (26, 26, 32)), ("conv2", (24, 24, 32)), ("pool1", (12, 12, 32)),
        ("conv3", (10, 10, 64)), ("conv4", (8, 8, 64)), ("pool2", (4, 4, 64)),
        ("flatten", (1024,)), ("dense1", (200,)), ("dropout", (200,)),
        ("dense2", (200,)), ("logits", (10,)),
    ],
    "cifar10": [
        ("conv1", (30, 30, 64)), ("conv2", (28, 28, 64)), ("pool1", (14, 14, 64)),
        ("conv3", (12, 12, 128)), ("conv4", (10, 10, 128)), ("pool2", (5, 5, 128)),
        ("flatten", (3200,)), ("dense1", (256,)), ("dropout", (256,)),
        ("dense2", (256,)), ("logits", (10,)),
    ],
}


@pytest.fixture(scope="module")
def mnist_model() -> keras.Model:
    return build_model("mnist", seed=0)


@pytest.mark.parametrize(("dataset", "n_params"), [("mnist", 312_202), ("cifar10", 1_147_978)])
def test_table1_networks_have_the_reference_parameter_counts(dataset: str, n_params: int) -> None:
    assert build_model(dataset).count_params() == n_params


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_layer_output_shapes_follow_table1(dataset: str) -> None:
    model = build_model(dataset)
    got = [(layer.name, tuple(layer.output.shape[1:])) for layer in model.layers]
    assert got == TABLE_I_SHAPES[dataset]
    assert dataset_of(model) == dataset


def test_hidden_layers_use_relu_and_the_output_is_linear_logits(mnist_model: keras.Model) -> None:
    acts = {layer.name: layer.activation.__name__ for layer in mnist_model.layers
            if hasattr(layer, "activation")}
    assert acts == {"conv1": "relu", "conv2": "relu", "conv3": "relu", "conv4": "relu",
                    "dense1": "relu", "dense2": "relu", "logits": "linear"}
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (8, 28, 28, 1)).astype(np.float32)
    z = np.asarray(mnist_model(x))
    assert z.shape == (8, 10)
    assert (z < 0).any(), "logits, not probabilities: some must be negative"


def test_unknown_dataset_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="svhn"):
        build_model("svhn")


def test_seed_fixes_the_initial_weights() -> None:
    a, b, c = (build_model("mnist", seed=s).get_weights() for s in (7, 7, 8))
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[0], a[2][:, :, :1, :]), "layers get distinct seeds"


def test_saved_model_loads_back_with_identical_weights(
    mnist_model: keras.Model, tmp_path: Path
) -> None:
    path = save_model(mnist_model, tmp_path / "sub" / "m.keras")
    loaded = load_model(path, "mnist")
    assert all(np.array_equal(u, v) for u, v in
               zip(mnist_model.get_weights(), loaded.get_weights(), strict=True))
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.keras"], "no temp files left"


def test_failed_save_leaves_neither_target_nor_temp_file(
    mnist_model: keras.Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_save(self: keras.Model, filepath: str, *args: object, **kwargs: object) -> None:
        Path(filepath).write_bytes(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_model(mnist_model, tmp_path / "m.keras")
    assert list(tmp_path.iterdir()) == []


def test_load_model_rejects_a_wrong_architecture_naming_the_file(
    mnist_model: keras.Model, tmp_path: Path
) -> None:
    path = save_model(mnist_model, tmp_path / "mnist.keras")
    with pytest.raises(ValueError, match=r"mnist\.keras.*cifar10"):
        load_model(path, "cifar10")


def test_load_model_rejects_a_missing_file_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothere\.keras"):
        load_model(tmp_path / "nothere.keras", "mnist")


def test_load_model_rejects_a_corrupt_file_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.keras"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"corrupt\.keras"):
        load_model(path, "mnist")


def test_copy_model_is_independent_of_the_original(mnist_model: keras.Model) -> None:
    clone = copy_model(mnist_model)
    assert np.array_equal(clone.get_weights()[0], mnist_model.get_weights()[0])
    clone.layers[0].kernel.assign(np.zeros(clone.layers[0].kernel.shape, np.float32))
    assert not np.array_equal(clone.get_weights()[0], mnist_model.get_weights()[0])
