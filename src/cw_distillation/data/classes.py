"""What each label of a dataset means, in label order: figures name classes with these.

Kept apart from ``sources`` and ``prepare``: those shape the prepared data (their code enters
the store's keys), while a class name only labels a figure.
"""

from __future__ import annotations

# CIFAR-10's order is that of its batches.meta.txt; MNIST's labels are the digits themselves.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
}
