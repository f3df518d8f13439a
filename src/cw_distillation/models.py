"""The two networks of Table I, and loading/saving them safely.

Both output the logits Z(x) (no softmax layer): the attacks work on Z, and
training applies softmax(Z/T) inside the loss (see ``train``).
Inputs are ``x: (N, H, W, C) float32 in [-0.5, 0.5]``.
"""

from __future__ import annotations

import os
from pathlib import Path

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np

from cw_distillation import datasets
from cw_distillation.files import atomic_path

N_CLASSES = 10


def _seed(seed: int | None, offset: int) -> int | None:
    """A distinct seed per layer, so layers of one shape don't get equal weights."""
    return None if seed is None else seed * 100 + offset


def build_model(dataset: str, *, seed: int | None = None) -> keras.Model:
    """The Table I network for ``dataset`` ("mnist" or "cifar10"), outputting logits Z(x).

    conv-conv-pool-conv-conv-pool-flatten-dense-dropout(0.5)-dense-dense(10); 3x3 'valid'
    convolutions, ReLU everywhere except the last (linear) layer. Initialisation is Keras's
    default (Glorot-uniform kernels, zero biases), as in the reference code; ``seed`` makes
    it (and the dropout masks) reproducible.
    """
    spec = datasets.spec(dataset)
    arch = spec.architecture
    f1, f2, f3, f4 = arch.conv_filters

    def conv(filters: int, name: str, k: int) -> keras.layers.Conv2D:
        return keras.layers.Conv2D(
            filters,
            (3, 3),
            padding="valid",
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=_seed(seed, k)),
            name=name,
        )

    def dense(units: int, name: str, k: int, activation: str | None) -> keras.layers.Dense:
        return keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=_seed(seed, k)),
            name=name,
        )

    return keras.Sequential(
        [
            keras.Input(shape=spec.shape, dtype="float32", name="image"),
            conv(f1, "conv1", 1),
            conv(f2, "conv2", 2),
            keras.layers.MaxPooling2D((2, 2), name="pool1"),
            conv(f3, "conv3", 3),
            conv(f4, "conv4", 4),
            keras.layers.MaxPooling2D((2, 2), name="pool2"),
            keras.layers.Flatten(name="flatten"),
            dense(arch.dense_units, "dense1", 5, "relu"),
            keras.layers.Dropout(0.5, seed=_seed(seed, 6), name="dropout"),
            dense(arch.dense_units, "dense2", 7, "relu"),
            dense(N_CLASSES, "logits", 8, None),
        ],
        name=f"{dataset}_table1",
    )


def dataset_of(model: keras.Model) -> str:
    """Which Table I architecture ``model`` has, from its input shape and parameter count."""
    shape = tuple(model.input_shape[1:])
    for name, spec in datasets.DATASETS.items():
        if shape == spec.shape and model.count_params() == spec.architecture.n_params:
            return name
    raise ValueError(
        f"model {model.name!r} (input {shape}, {model.count_params()} parameters) "
        "is not a Table I network"
    )


def copy_model(model: keras.Model) -> keras.Model:
    """A fresh, uncompiled network with ``model``'s architecture and weights."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def save_model(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """Write architecture + weights to ``path`` (.keras) atomically.

    The file is written under a temporary name in the same folder and then renamed,
    so a crash never leaves a half-written model where a later job would read it.
    Optimizer state is not included: resumable state lives in training checkpoints.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: model files must end in .keras")
    with atomic_path(path) as tmp:
        copy_model(model).save(tmp)
    return path


def load_model(path: str | os.PathLike[str], dataset: str) -> keras.Model:
    """Load a .keras network and check it is the Table I network for ``dataset``.

    Raises FileNotFoundError for a missing file and ValueError (naming the file) for a
    corrupt file or a different architecture, so a wrong path fails loudly, not later.
    """
    path = Path(path)
    spec = datasets.spec(dataset)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:
        raise ValueError(f"{path}: not a readable .keras model ({err})") from err
    shape = tuple(model.input_shape[1:])
    if shape != spec.shape or model.count_params() != spec.architecture.n_params:
        raise ValueError(
            f"{path}: expected the {dataset} network (input {spec.shape}, "
            f"{spec.architecture.n_params} parameters), found input {shape}, "
            f"{model.count_params()} parameters"
        )
    if tuple(model.output_shape[1:]) != (N_CLASSES,):
        raise ValueError(f"{path}: expected {N_CLASSES} logits, found {model.output_shape}")
    return model


def predict_logits(model: keras.Model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Z(x): (N, 10) float32 logits, inference mode (no dropout)."""
    z = model.predict(np.asarray(x, dtype=np.float32), batch_size=batch_size, verbose=0)
    return np.asarray(z, dtype=np.float32)
