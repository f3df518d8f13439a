"""Adversarial attacks: the C&W L0 / L2 / L-infinity attacks, the earlier ones the paper compares
them with, and two later ones (APGD, FMN).

Every attack is a module with one function, called the same way::

    from cw_distillation.attacks import cw_l2, deepfool
    result = cw_l2.attack(model, x, target)              # targeted: target (N,) int
    result = deepfool.attack(model, x, None, label=y)    # untargeted: target None

``attack(model, x, target, *, label=None, image_index=None, batch_size=..., **options)``:
``model`` maps x, (N, H, W, C) float32 in [-0.5, 0.5], to logits; ``label`` and ``image_index``
(N,) are stored in the result (default: the model's class of x, 0..N-1); the options are
keyword arguments whose defaults are the paper's. It returns an ``AttackResult``. APGD and FMN
take a target or None; DeepFool only None; the others a target.

The modules are exported lazily: importing one imports Keras and TensorFlow, and this package
is imported (for ``registry``) where no attack runs. ``registry.py`` says which of them the
workflow runs and how.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

# The package's modules that are not attacks: what the attacks share, and the registry.
HELPERS = frozenset({"box", "cw_batch", "gradient_sign", "losses", "objective", "pairs", "registry", "result"})
# The attack modules, each with its function ``attack``: every other module of the package, so
# that a new attack's module is exported by being there (tests/test_registry.py checks each).
__all__ = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in HELPERS)


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
