import json
import os

from cw_distillation.config import load_schema, validate_config
from cw_distillation.provenance import config_digest

# Validate before any job starts: a wrong key, type or value stops here, naming the key.
validate_config(
    config, load_schema(workflow.source_path("../schemas/config.schema.yaml"))
)

PROFILE = config["profile"]
RESULTS = f"results/{PROFILE}"
OUTPUTS = f"paper_outputs/{PROFILE}"
TABLE_FORMATS = ["csv", "md", "tex"]
DATASETS = config["datasets"]
# Every rule runs the library's command line, `cw-distillation` (installed with the project);
# this environment documents its software for `--sdm conda` users.
CONDA_ENV = workflow.source_path("../../environment.yml")

# Recorded in every manifest without being a rule parameter (a parameter would rerun every
# job whenever any key changed).
shell.prefix(
    f"set -euo pipefail; export CW_CONFIG_DIGEST={config_digest(config)} CW_PROFILE={PROFILE}; "
)


wildcard_constraints:
    dataset="mnist|cifar10",
    temperature=r"[0-9]+(\.[0-9]+)?",
    half="a|b",
    model=r"[A-Za-z0-9_.]+",
    attack=r"[A-Za-z0-9_]+",


def all_outputs():
    return [
        *expand(f"{RESULTS}/data/{{dataset}}.npz", dataset=DATASETS),
        *model_outputs(),
        *expand(
            f"{OUTPUTS}/tables/{{table}}.{{ext}}",
            table=["model_accuracy", "logit_norms"],
            ext=TABLE_FORMATS,
        ),
    ]


def download_source(wildcards):
    """Where the download step reads from: the network, a mirror, or the synthetic mirror."""
    if config["data"]["synthetic"]["enabled"]:
        return {
            "registry": f"{RESULTS}/synthetic/{wildcards.dataset}.registry.json",
            "mirror": f"{RESULTS}/synthetic/{wildcards.dataset}",
        }
    return {}


def download_flags(wildcards, input):
    if config["data"]["synthetic"]["enabled"]:
        return f"--registry {input.registry} --mirror {os.path.dirname(input.mirror)}"
    mirror = config["data"]["mirror"]
    return f"--mirror {os.path.abspath(mirror)}" if mirror else ""


def res(kind):
    """Scheduler resources of one kind of job, from the config (see the schema's `resources`)."""
    return config["resources"][kind]


# ------------------------------------------------------------------ networks

TRAINING = config["training"]


def t_name(t):
    """A temperature as it appears in file names: 100 -> "100", 2.5 -> "2.5"."""
    return f"{t:g}"


MAIN_T = t_name(TRAINING["main_temperature"])


def temperatures(dataset):
    """Every distillation temperature trained on ``dataset``: the main one, and the sweep where it runs."""
    sweep = TRAINING["temperatures"] if dataset in TRAINING["sweep_datasets"] else []
    return list(dict.fromkeys([MAIN_T, *map(t_name, sweep)]))


def model_names(dataset):
    names = ["standard", "init"]
    for t in temperatures(dataset):
        names += [f"teacher_T{t}", f"distilled_T{t}"]
    if dataset in TRAINING["transfer_datasets"]:
        names += ["half_a", "half_b"]
    return names


def split_flags(wildcards):
    """Which training images: the hold-out, and the profile's subset."""
    subset = TRAINING["train_subset"][wildcards.dataset]
    flags = f"--validation-size {TRAINING['validation_size']}"
    return flags + (f" --train-subset {subset}" if subset else "")


def epochs(wildcards):
    return TRAINING["epochs"][wildcards.dataset]


def model_outputs():
    return [
        f"{RESULTS}/models/{dataset}/{name}.json"
        for dataset in DATASETS
        for name in model_names(dataset)
    ]


def table_base(wildcards, output):
    """The output path without its extension: the step writes .csv, .md and .tex beside each other."""
    return os.path.splitext(output[0])[0]


# ------------------------------------------------------------------ attacks

ATTACK_CFG = config["attacks"]
# Section VIII.A: the earlier attacks again on the distilled network, with the paper's fixes.
FRAGILITY_VARIANTS = [
    "fgs_divT",
    "igs_divT",
    "jsma_f_divT",
    "lbfgs_divT",
    "lbfgs_cw",
    "deepfool_softmax",
]
# Section VIII.C: one random target per image on every network of the temperature sweep.
SWEEP_ATTACKS = ["l2_random", "jsma_f_random"]


def model_temperature(model):
    """T of a distilled (or teacher) network, from its name: distilled_T100 -> 100.0."""
    if "_T" not in model:
        raise ValueError(f"the attack variant needs a distilled network, not {model!r}")
    return float(model.rsplit("_T", 1)[1])


def attack_spec(wildcards):
    """(attack, options, targets) of an attack variant: the base attack, its config, and the fix it applies."""
    name = wildcards.attack
    targets = "random" if name.endswith("_random") else "all"
    name = name.removesuffix("_random")
    fix = {}
    if name.endswith("_divT"):  # the paper's fix: F'(x) = softmax(Z(x) / T)
        name = name.removesuffix("_divT")
        fix = {"output_temperature": model_temperature(wildcards.model)}
    if name == "lbfgs_cw":
        name, fix = "lbfgs", {"objective": "cw"}
    if name == "deepfool_softmax":
        name, fix = "deepfool", {"output": "softmax"}
    if name in ("jsma_z", "jsma_f"):
        return "jsma", {**ATTACK_CFG["jsma"], "variant": name[-1], **fix}, targets
    return name, {**ATTACK_CFG[name], **fix}, targets


def attack_images(wildcards):
    if wildcards.attack.endswith("_random"):
        return ATTACK_CFG["sweep_images"]
    return ATTACK_CFG["n_images"][wildcards.dataset]


def attack_result(dataset, model, attack):
    return f"{RESULTS}/attacks/{dataset}/{model}/{attack}.json"
