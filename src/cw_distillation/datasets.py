"""The datasets, defined once: for each, its images' shape, where its files come from and what
they hash to, the format that reads them, the Table I network that classifies it, and the
names of its classes.

Read by every ``--dataset`` option of the command line, the workflow's ``dataset`` wildcard,
the store's keys (a dataset's payload digests), preparation, the synthetic stand-ins, the
networks and the tables and figures; ``tests/test_datasets.py`` checks the config schema's
dataset enums against it. Adding a dataset is an entry here (its ``DatasetSource`` beside
MNIST's in ``data/sources.py``, a reader in ``data/formats.py`` if its format is new), its name
in the schema, and a config that runs it (docs/extending.md).

Every step's code imports this file, so it is in every stored result's key: an edit, even of a
class name, needs ``scripts/prove_code_equivalence.py`` to keep the store (docs/extending.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from cw_distillation.data.sources import CIFAR10, MNIST, DatasetSource


@dataclass(frozen=True)
class Architecture:
    """Table I hyperparameters of one network (``models.build_model`` builds it)."""

    conv_filters: tuple[int, int, int, int]
    dense_units: int
    n_params: int  # checked by tests and by ``models.load_model``


@dataclass(frozen=True)
class Dataset:
    """One dataset as every part of the workflow sees it."""

    display: str  # its name in tables and figures
    shape: tuple[int, int, int]  # one image, (H, W, C): what the network takes
    source: DatasetSource  # the official archives, their URLs and digests (data/sources.py)
    format: str  # its payloads' format: the key of its reader in data/formats.READERS
    architecture: Architecture
    class_names: tuple[str, ...]  # in label order: figures name classes with these


DATASETS: dict[str, Dataset] = {
    "mnist": Dataset(
        "MNIST", (28, 28, 1), MNIST, "idx", Architecture((32, 32, 64, 64), 200, n_params=312_202),
        tuple(str(digit) for digit in range(10)),  # the labels are the digits themselves
    ),
    "cifar10": Dataset(
        "CIFAR-10", (32, 32, 3), CIFAR10, "cifar_binary", Architecture((64, 64, 128, 128), 256, n_params=1_147_978),
        # the order of its batches.meta.txt
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    ),
}
NAMES = tuple(DATASETS)  # the choices of every --dataset option and of the wildcard


def spec(name: str) -> Dataset:
    """The entry of dataset ``name``; a ValueError naming the known ones otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(NAMES)}") from None


def display(name: str) -> str:
    """Its name in tables and figures (the name itself for one not in the registry)."""
    return DATASETS[name].display if name in DATASETS else name
