"""What an attack is, defined once: the function that runs it, whether it is targeted, the
distance the paper reports it in, its name in the tables, whether the paper runs it, and the
variants Section VIII.A runs.

Adding an attack touches four files: its module (one function, ``attack``); this one (its
function in RUNNERS, its row group in TABLE_ATTACKS, in Table IV's order); the config schema
(its options, and its name in the enums, which tests/test_registry.py checks against this
file); a test.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cw_distillation.attacks.result import AttackResult


@dataclass(frozen=True)
class AttackFunction:
    """The ``attack`` function of an attack module, imported when it is first called.

    A reference by name rather than the function itself, for two reasons. Importing an attack
    module imports Keras and TensorFlow (seconds), and this registry is read where no attack
    runs: the command line's options and ``--help``, the workflow's plan, the store's keys.
    And the store's key of an attack's results covers the code of its own module
    (``store.attack_module`` reads ``module``): were this file to import every attack module,
    a change to one attack would change the keys of all the others' results.
    """

    module: str  # e.g. "cw_distillation.attacks.cw_l2"

    @property
    def function(self) -> Callable[..., AttackResult]:
        return importlib.import_module(self.module).attack

    def __call__(self, *args: Any, **kwargs: Any) -> AttackResult:
        return self.function(*args, **kwargs)


@dataclass(frozen=True)
class Runner:
    """An attack function, as `cw-distillation attack --attack <name>` runs it: every one is
    called ``attack(model, x, target, *, label=None, image_index=None, batch_size=..., **options)``,
    target None for an untargeted attack."""

    attack: AttackFunction
    targeted: bool
    metric: str  # the distance the paper reports it in
    queued: bool = False  # C&W: a queue of pairs whose in-flight state is checkpointed (cw_batch)


@dataclass(frozen=True)
class TableAttack:
    """A row group of Tables IV and VI: a runner with fixed options and its variants.

    variants: the suffix of an ``{attack}`` wildcard -> (the fragility table's column, the
    options the variant changes); "" is the attack as the table runs it. A suffix ending in
    "_divT" also divides the softmax by the network's T (the paper's fix F' = softmax(Z/T)).
    """

    runner: str
    display: str
    options_key: str  # its section of the config's attacks:
    fixed: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    ours: bool = False  # one of C&W's attacks (Sec. V), not an earlier one
    paper: bool = True  # the paper runs it: REPORT.md judges only such attacks against its claims
    variants: MappingProxyType = field(default_factory=lambda: MappingProxyType({"": ("plain", {})}))


# mypy cannot infer the empty options dicts' type (an annotation would change the code digest)
PLAIN_AND_DIVT = MappingProxyType({"": ("plain", {}), "_divT": ("divide_by_T", {})})  # type: ignore[var-annotated]

RUNNERS: dict[str, Runner] = {
    "l2": Runner(AttackFunction("cw_distillation.attacks.cw_l2"), True, "l2", queued=True),
    "l0": Runner(AttackFunction("cw_distillation.attacks.cw_l0"), True, "l0", queued=True),
    "linf": Runner(AttackFunction("cw_distillation.attacks.cw_linf"), True, "linf", queued=True),
    "fgs": Runner(AttackFunction("cw_distillation.attacks.fgs"), True, "linf"),
    "igs": Runner(AttackFunction("cw_distillation.attacks.igs"), True, "linf"),
    "jsma": Runner(AttackFunction("cw_distillation.attacks.jsma"), True, "l0"),
    "lbfgs": Runner(AttackFunction("cw_distillation.attacks.lbfgs"), True, "l2"),
    "deepfool": Runner(AttackFunction("cw_distillation.attacks.deepfool"), False, "l2"),
}

# Table IV's order: grouped by distance metric, ours first.
TABLE_ATTACKS: dict[str, TableAttack] = {
    "l0": TableAttack("l0", "Our L0", "l0", ours=True),
    "jsma_z": TableAttack("jsma", "JSMA-Z", "jsma", MappingProxyType({"variant": "z"})),
    "jsma_f": TableAttack("jsma", "JSMA-F", "jsma", MappingProxyType({"variant": "f"}), variants=PLAIN_AND_DIVT),
    "l2": TableAttack("l2", "Our L2", "l2", ours=True),
    "deepfool": TableAttack("deepfool", "DeepFool", "deepfool", variants=MappingProxyType({
        "": ("logits", {}),  # on Z, as its authors' code does
        "_softmax": ("plain", {"output": "softmax"}),  # on F, as the paper ran it
        "_softmax_divT": ("divide_by_T", {"output": "softmax"}),
    })),
    "lbfgs": TableAttack("lbfgs", "L-BFGS", "lbfgs", variants=MappingProxyType({
        **PLAIN_AND_DIVT, "_cw": ("cw_objective", {"objective": "cw"}),
    })),
    "linf": TableAttack("linf", "Our L∞", "linf", ours=True),
    "fgs": TableAttack("fgs", "Fast Gradient Sign", "fgs", variants=PLAIN_AND_DIVT),
    "igs": TableAttack("igs", "Iterative Gradient Sign", "igs", variants=PLAIN_AND_DIVT),
}

OUR_ATTACKS = tuple(name for name, a in TABLE_ATTACKS.items() if a.ours)
METRIC = MappingProxyType({name: RUNNERS[a.runner].metric for name, a in TABLE_ATTACKS.items()})
DISPLAY = MappingProxyType({name: a.display for name, a in TABLE_ATTACKS.items()})
UNTARGETED = frozenset(name for name, a in TABLE_ATTACKS.items() if not RUNNERS[a.runner].targeted)
RANDOM_SUFFIX = "_random"  # one seeded random target per image (the temperature sweep)


def in_paper(ours: bool) -> tuple[str, ...]:
    """The table attacks the paper runs, C&W's (``ours``) or the earlier ones, in Table IV's
    order: those whose rows REPORT.md judges against the paper's claims. Read at each call, so
    an entry added (or marked) outside the paper is left out wherever the report asks."""
    return tuple(name for name, a in TABLE_ATTACKS.items() if a.paper and a.ours == ours)


def variant_names() -> dict[str, tuple[str, str]]:
    """Every run of an earlier attack in the fragility analysis (an ``{attack}`` wildcard) ->
    (table attack, fragility column), e.g. lbfgs_cw -> (lbfgs, cw_objective)."""
    return {f"{name}{suffix}": (name, column) for name, a in TABLE_ATTACKS.items() if not a.ours
            for suffix, (column, _) in a.variants.items()}


def parse_variant(variant: str) -> tuple[str, dict[str, Any], bool, bool]:
    """(table attack, options it changes, divides by T, random target) of an {attack} wildcard:
    jsma_f_divT -> (jsma_f, {}, True, False), lbfgs_cw -> (lbfgs, {objective: cw}, False, False).
    """
    random = variant.endswith(RANDOM_SUFFIX)
    name = variant.removesuffix(RANDOM_SUFFIX)
    for table, attack in TABLE_ATTACKS.items():
        for suffix, (_, options) in attack.variants.items():
            if name == f"{table}{suffix}":
                return table, dict(options), suffix.endswith("_divT"), random
    raise ValueError(f"no attack variant is called {variant!r}; known: {sorted(variant_names())} "
                     f"(each also with {RANDOM_SUFFIX})")
