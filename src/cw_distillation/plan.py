"""What one workflow job computes, from the config and its wildcards, in plain Python.

The Snakemake rules and the store of results (``store``) both need it: the rules to build
a job's command, the store to key its result by everything that shapes it. Defining it
once here keeps the two from drifting apart.
"""

from __future__ import annotations

from typing import Any

from cw_distillation.attacks.registry import RANDOM_SUFFIX, TABLE_ATTACKS, parse_variant

# Offsets of each training's seed from the config's, so that no two networks share one.
SEED_OFFSETS = {"standard": 0, "init": 0, "teacher": 1, "distilled": 2, "half_a": 3, "half_b": 4}


def t_name(t: float) -> str:
    """A temperature as it appears in file names: 100 -> "100", 2.5 -> "2.5"."""
    return f"{t:g}"


def model_temperature(model: str) -> float:
    """T of a distilled (or teacher) network, from its name: distilled_T100 -> 100.0."""
    if "_T" not in model:
        raise ValueError(f"the attack variant needs a distilled network, not {model!r}")
    return float(model.rsplit("_T", 1)[1])


def model_role(name: str) -> str:
    """standard, init, teacher, distilled, half_a or half_b, from a network's file name."""
    role = name.split("_T", 1)[0]
    if role not in SEED_OFFSETS:
        raise ValueError(f"no network is called {name!r}")
    return role


def train_seed(seed: int, name: str) -> int:
    """The training seed of network ``name`` under the config's ``seed``."""
    return seed + SEED_OFFSETS[model_role(name)]


def attack_spec(config: dict, model: str, variant: str) -> tuple[str, dict[str, Any], str]:
    """(attack, options, targets) of an attack variant: the base attack, its config, the fix it
    applies, and the options the config adds to that variant (``attacks.variant_options``)."""
    attacks = config["attacks"]
    table, fix, divide_by_t, random = parse_variant(variant)
    if divide_by_t:  # the paper's fix: F'(x) = softmax(Z(x) / T)
        fix = {**fix, "output_temperature": model_temperature(model)}
    spec = TABLE_ATTACKS[table]
    added = attacks.get("variant_options", {}).get(variant.removesuffix(RANDOM_SUFFIX), {})
    options = {**attacks[spec.options_key], **spec.fixed, **fix, **added}
    return spec.runner, options, "random" if random else "all"


def image_networks(config: dict, model: str, variant: str) -> list[str]:
    """The profile's other networks that must also classify an image correctly for an attack of
    ``variant`` on ``model`` to attack it. With ``attacks.images: common`` the standard and the
    main distilled network attack the same images, so that their rows compare pair by pair;
    the temperature sweep's random-target variants, and every other network, keep their own."""
    if not paired(config, model, variant):
        return []
    main = f"distilled_T{t_name(config['training']['main_temperature'])}"
    return [m for m in ("standard", main) if m != model]


def external_image_networks(config: dict, dataset: str, model: str, variant: str) -> list[str]:
    """Networks of other profiles (.keras paths, ``attacks.images_also_correct_for``) that must
    also classify an image correctly: mnist50 attacks mnist10's images."""
    if not paired(config, model, variant):
        return []
    return list(config["attacks"]["images_also_correct_for"].get(dataset) or [])


def paired(config: dict, model: str, variant: str) -> bool:
    """Whether an attack of ``variant`` on ``model`` is one of the paired ones: the standard or
    the main distilled network, not a random-target (sweep) variant, under ``images: common``."""
    main = f"distilled_T{t_name(config['training']['main_temperature'])}"
    return (config["attacks"]["images"] == "common" and model in ("standard", main)
            and not variant.endswith(RANDOM_SUFFIX))


def attack_images(config: dict, dataset: str, variant: str) -> int:
    """How many test images the variant attacks (the sweep's, or the dataset's capped per attack)."""
    attacks = config["attacks"]
    table, _, _, random = parse_variant(variant)
    if random:
        return attacks["sweep_images"]
    n_images = attacks["n_images"][dataset]
    return min(n_images, attacks["max_images"].get(table, n_images))


# ------------------------------------------------------------------ robustness curves and matrix (issue 35)

ROBUSTNESS_JOBS = ("curves", "matrix")


def network_temperature(model: str) -> float:
    """T of the softmax F' = softmax(Z / T) a network was trained at: its distillation temperature,
    1 for every other network (the standard one)."""
    return model_temperature(model) if "_T" in model else 1.0


def robustness_networks(config: dict, dataset: str, job: str) -> list[str]:
    """The networks of a robustness job: the curves compare the standard and the main distilled
    network; the matrix runs over the standard network and every distilled one trained on
    ``dataset`` (the main temperature, and the sweep's where it runs)."""
    training = config["training"]
    main = f"distilled_T{t_name(training['main_temperature'])}"
    if job == "curves":
        return ["standard", main]
    if job != "matrix":
        raise ValueError(f"no robustness job is called {job!r}; known: {ROBUSTNESS_JOBS}")
    sweep = training["temperatures"] if dataset == training["sweep_dataset"] else []
    names = dict.fromkeys([main, *(f"distilled_T{t_name(t)}" for t in sweep)])
    return ["standard", *sorted(names, key=network_temperature)]


def robustness_image_networks(config: dict, dataset: str, model: str, job: str) -> tuple[list[str], list[str]]:
    """(the profile's other networks, other profiles' .keras files) that must also classify an image
    correctly for a robustness job on ``model`` to take it. The curves take the images the paired
    attacks take (attacks.images, attacks.images_also_correct_for); the matrix the first N that
    every network of the matrix classifies correctly, so that its rows compare image by image."""
    if job == "curves":
        return image_networks(config, model, "l2"), external_image_networks(config, dataset, model, "l2")
    own = [m for m in robustness_networks(config, dataset, job) if m != model]
    external = list(config["attacks"]["images_also_correct_for"].get(dataset) or []) \
        if config["attacks"]["images"] == "common" else []
    return own, external


def robustness_job(config: dict, dataset: str, model: str, job: str) -> dict[str, Any]:
    """What a robustness job runs: its methods, epsilon grid per norm, temperature and options."""
    cfg = config["robustness"]
    if dataset not in cfg["datasets"]:
        raise ValueError(f"config key robustness.datasets does not name {dataset!r}")
    if model not in robustness_networks(config, dataset, job):
        raise ValueError(f"no robustness {job} job runs on {model!r}")
    if job == "curves":
        eps = {norm: list(cfg["curve_eps"][dataset][norm]) for norm in ("linf", "l2")}
    else:
        eps = {norm: [cfg["matrix_eps"][dataset][norm]] for norm in ("linf", "l2")}
    return {
        "methods": list(cfg["curve_methods" if job == "curves" else "matrix_methods"]), "eps": eps,
        "temperature": network_temperature(model),
        "n_images": cfg["n_images"][dataset], "igs_steps": cfg["igs_steps"], "apgd": dict(cfg["apgd"]),
        "masking": job == "matrix",
    }
