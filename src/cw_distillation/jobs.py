"""The table of jobs: for each kind of job whose result the workflow keys, where its results lie
(one path pattern, built and parsed), the config values it reads and the jobs upstream of it.

The rules (``workflow/rules/*.smk``) take their outputs and the settings they pass to a step from
here; the store (``store``) builds its keys and its file patterns from here; the steps that read
results parse their paths with it. Written once, the three cannot drift apart: a setting a rule
passes is a setting the store's key covers (``tests/test_job_parts.py``).

Nothing here shapes a result (``store.NOT_SHAPING``): it names values, the steps compute.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cw_distillation import plan

Wildcards = Mapping[str, str]
# (the kind of an upstream job, its wildcards)
Upstream = tuple[str, dict[str, str]]

# What each wildcard of a results path matches (a kind may narrow one: Kind.narrowed).
WILDCARDS = {"dataset": r"\w+", "name": r"[\w.]+", "model": r"[\w.]+", "attack": r"\w+", "job": r"\w+"}
# The init network's one epoch from scratch (the reference's step 0; rule train_init passes it).
INIT_EPOCHS = 1


@dataclass(frozen=True)
class Kind:
    """One kind of job.

    path: its results path without suffix, relative to results/<profile>/, with {wildcards};
    suffixes: the files one job writes (restored together or not at all); rules: the rules that
    compute it; identity: the store key's field -> the wildcard it holds; settings: the config
    values the job reads (what its rule passes to the step); upstream: the store key's field ->
    the job whose key it holds; images: the profile's networks and other profiles' .keras files
    that must also classify an image correctly for the job to take it (None: it takes its own),
    images_always: whether its key holds "images" even where both lists are empty; stored: whether
    the store keeps its results (the prepared data are made again from the official files, but
    their key enters every other); narrowed: a wildcard this kind matches more narrowly than
    WILDCARDS (the transfer examples are made on half_a alone).
    """

    name: str
    path: str
    suffixes: tuple[str, ...]
    rules: tuple[str, ...]
    identity: Mapping[str, str]
    settings: Callable[[dict, Wildcards], dict[str, Any]]
    upstream: Callable[[dict, Wildcards], dict[str, Upstream]]
    stored: bool = True
    narrowed: Mapping[str, str] | None = None
    images: Callable[[dict, Wildcards], tuple[list[str], list[str]]] | None = None
    images_always: bool = False

    @property
    def wildcards(self) -> list[str]:
        return [field for _, field, _, _ in string.Formatter().parse(self.path) if field]

    def regex(self, field: str) -> str:
        """What its wildcard ``field`` matches (a rule's wildcard constraint, where it narrows one)."""
        return {**WILDCARDS, **(self.narrowed or {})}[field]

    @property
    def pattern(self) -> str:
        """The regular expression of its paths without suffix, a named group per wildcard."""
        return "".join(
            re.escape(text) + (f"(?P<{field}>{self.regex(field)})" if field else "")
            for text, field, _, _ in string.Formatter().parse(self.path)
        )


def _on(w: Wildcards, **fields: str) -> dict[str, str]:
    """The wildcards of a job on the same dataset."""
    return {"dataset": w["dataset"], **fields}


# ------------------------------------------------------------------ what each kind reads


def _data_settings(config: dict, w: Wildcards) -> dict[str, Any]:
    """The synthetic generator's settings and seed, or the SHA-256 of each official payload."""
    from cw_distillation.datasets import DATASETS

    synthetic = config["data"]["synthetic"]
    if synthetic["enabled"]:
        return {"synthetic": {k: synthetic[k] for k in sorted(synthetic) if k != "enabled"}, "seed": config["seed"]}
    return {"payloads": [p.sha256 for p in DATASETS[w["dataset"]].source.payloads]}


def training_split(config: dict, dataset: str) -> dict[str, Any]:
    """Which training images a network is trained on: the hold-out, and the profile's subset
    (the soft labels are computed on the same images)."""
    training = config["training"]
    return {"validation_size": training["validation_size"], "train_subset": training["train_subset"][dataset]}


def _model_settings(config: dict, w: Wildcards) -> dict[str, Any]:
    training, name = config["training"], w["name"]
    return {
        "epochs": INIT_EPOCHS if plan.model_role(name) == "init" else training["epochs"][w["dataset"]],
        "batch_size": training["batch_size"], **training_split(config, w["dataset"]),
        "seed": plan.train_seed(config["seed"], name),
    }


def _model_upstream(config: dict, w: Wildcards) -> dict[str, Upstream]:
    """The data; a teacher's and a student's init; a student's teacher (same temperature)."""
    role, name = plan.model_role(w["name"]), w["name"]
    upstream: dict[str, Upstream] = {"data": ("data", _on(w))}
    if role in ("teacher", "distilled"):
        upstream["init"] = ("model", _on(w, name="init"))
    if role == "distilled":
        upstream["teacher"] = ("model", _on(w, name=f"teacher_T{name.rsplit('_T', 1)[1]}"))
    return upstream


def _network_upstream(config: dict, w: Wildcards) -> dict[str, Upstream]:
    """The network the job runs, and the data."""
    return {"model": ("model", _on(w, name=w["model"])), "data": ("data", _on(w))}


def _attack_settings(config: dict, w: Wildcards) -> dict[str, Any]:
    attack, options, targets = plan.attack_spec(config, w["model"], w["attack"])
    return {"attack": attack, "options": options, "targets": targets,
            "n_images": plan.attack_images(config, w["dataset"], w["attack"]),
            "batch_size": config["attacks"]["batch_size"], "seed": config["seed"]}


def _attack_images(config: dict, w: Wildcards) -> tuple[list[str], list[str]]:
    return (plan.image_networks(config, w["model"], w["attack"]),
            plan.external_image_networks(config, w["dataset"], w["model"], w["attack"]))


def _fragility_settings(config: dict, w: Wildcards) -> dict[str, Any]:
    return {"n_images": config["attacks"]["n_images"][w["dataset"]],
            "temperature": plan.model_temperature(w["model"])}


def _transfer_settings(config: dict, w: Wildcards) -> dict[str, Any]:
    transfer = config["transfer"]
    return {"kappas": transfer["kappas"], "n_images": transfer["n_images"], "targets": transfer["targets"],
            "seed": config["seed"],
            "options": {**config["attacks"]["l2"], "max_iterations": transfer["max_iterations"]},
            "batch_size": config["attacks"]["batch_size"]}


def _robustness_settings(config: dict, w: Wildcards) -> dict[str, Any]:
    return {**plan.robustness_job(config, w["dataset"], w["model"], w["job"]),
            "batch_size": config["attacks"]["batch_size"], "seed": config["seed"]}


def _robustness_images(config: dict, w: Wildcards) -> tuple[list[str], list[str]]:
    return plan.robustness_image_networks(config, w["dataset"], w["model"], w["job"])


# ------------------------------------------------------------------ the table

KINDS = {kind.name: kind for kind in (
    Kind("data", "data/{dataset}", (".npz",), ("prepare",), {"dataset": "dataset"},
         _data_settings, lambda config, w: {}, stored=False),
    Kind("model", "models/{dataset}/{name}", (".keras", ".json"),
         ("train_standard", "train_half", "train_init", "train_teacher", "train_distilled"),
         {"dataset": "dataset", "name": "name"}, _model_settings, _model_upstream),
    Kind("logits", "logits/{dataset}/{model}", (".npz",), ("logits",),
         {"dataset": "dataset", "model_name": "model"}, lambda config, w: {}, _network_upstream),
    Kind("attack", "attacks/{dataset}/{model}/{attack}", (".npz", ".json"), ("attack",),
         {"dataset": "dataset", "model_name": "model", "variant": "attack"}, _attack_settings,
         _network_upstream, images=_attack_images),
    Kind("fragility", "fragility/{dataset}/{model}", (".json",), ("fragility",),
         {"dataset": "dataset", "model_name": "model"}, _fragility_settings, _network_upstream),
    # Section VIII.D's examples are made on one network, the first half's.
    Kind("transfer", "transfer/{dataset}/{model}_examples", (".npz",), ("transfer_examples",),
         {"dataset": "dataset", "model_name": "model"}, _transfer_settings, _network_upstream,
         narrowed={"model": "half_a"}),
    Kind("robustness", "robustness/{dataset}/{model}/{job}", (".json",), ("robustness",),
         {"dataset": "dataset", "model_name": "model", "job": "job"}, _robustness_settings,
         _network_upstream, narrowed={"job": "|".join(plan.ROBUSTNESS_JOBS)},
         images=_robustness_images, images_always=True),
)}
STORED = tuple(kind for kind in KINDS.values() if kind.stored)
# The rules whose results the store keeps, in the table's order (the Makefile's EXPENSIVE_RULES and
# store.smk's ruleorder name the same; tests/test_job_parts.py checks them).
STORABLE_RULES = tuple(rule for kind in STORED for rule in kind.rules)
# Every file the store may hold, as the restore rule's wildcard constraint: below a stored kind's
# folder, with one of their suffixes (parse says which job writes it).
RESTORABLE = (
    "(" + "|".join(dict.fromkeys(kind.path.split("/")[0] for kind in STORED)) + r")/[A-Za-z0-9_./]+\."
    + "(" + "|".join(dict.fromkeys(suffix.lstrip(".") for kind in STORED for suffix in kind.suffixes)) + ")"
)


def settings(config: dict, kind: str, w: Wildcards) -> dict[str, Any]:
    """The config values a job of ``kind`` with wildcards ``w`` reads."""
    return KINDS[kind].settings(config, w)


def path(kind: str, suffix: str = "", **w: str) -> str:
    """The results path of a job of ``kind`` (relative to results/<profile>/), ``w`` filled in;
    a wildcard not given stays ``{wildcard}``, as a rule's output names it."""
    job = KINDS[kind]
    return job.path.format_map({field: w.get(field, f"{{{field}}}") for field in job.wildcards}) + suffix


def parse(rel: str, kinds: tuple[Kind, ...] = STORED) -> tuple[Kind, dict[str, str], str] | None:
    """(the kind, the wildcards, the suffix) of the job that writes ``rel`` (a path relative to
    results/<profile>/), or None for a file no job of ``kinds`` writes."""
    for kind in kinds:
        for suffix in kind.suffixes:
            if rel.endswith(suffix):
                match = re.fullmatch(kind.pattern, rel.removesuffix(suffix))
                if match:
                    return kind, match.groupdict(), suffix
    return None


def identify(file: str | Path, kind: str) -> dict[str, str]:
    """The wildcards of a result of ``kind`` anywhere (results/<profile>/..., a store, a copy): read
    from its last path components, as many as the kind's layout has. ValueError if it has not that
    layout."""
    parts, depth = Path(file).parts, _depth(kind)
    found = parse("/".join(parts[-depth:]), (KINDS[kind],)) if len(parts) >= depth else None
    if found is None:
        raise ValueError(f"{file}: not a {kind} result ({KINDS[kind].path}{'|'.join(KINDS[kind].suffixes)})")
    return found[1]


def root_of(file: str | Path, kind: str) -> Path:
    """The results folder a result of ``kind`` lies in (results/<profile>/ for the workflow's)."""
    identify(file, kind)
    return Path(*Path(file).parts[:-_depth(kind)])


def _depth(kind: str) -> int:
    return KINDS[kind].path.count("/") + 1
