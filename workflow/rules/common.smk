import json
import os
import shlex
import sys
from pathlib import Path

from cw_distillation import inflight, jobs, plan, store
from cw_distillation.attacks.registry import OUR_ATTACKS
from cw_distillation.checkpoint import checkpoint_of
from cw_distillation.config import (
    backend_warning,
    check_cross_keys,
    load_schema,
    read_yaml,
    validate_config,
)
from cw_distillation.datasets import NAMES as KNOWN_DATASETS
from cw_distillation.plan import t_name
from cw_distillation.provenance import config_digest
from cw_distillation.provenance import prune as prune_lineage

# A config file with __use_yte__ is a template whose Python Snakemake ran while loading it: refuse it,
# so that the run stops (check-config refuses it before it runs). read_yaml names the file.
for _configfile in workflow.configfiles:
    read_yaml(_configfile)

# Validate before any job starts: a wrong key, type or value stops here, naming the key
# (the same checks as `cw-distillation check-config`).
check_cross_keys(
    validate_config(
        config, load_schema(workflow.source_path("../schemas/config.schema.yaml"))
    )
)

PROFILE = config["profile"]
if backend_warning(config):
    print(backend_warning(config), file=sys.stderr)
RESULTS = f"results/{PROFILE}"
OUTPUTS = f"paper_outputs/{PROFILE}"
# Another profile whose verdicts this one's are set beside (table_verdicts_compared), or None.
COMPARE_WITH = config["compare_with"]
TABLE_FORMATS = ["csv", "md", "tex"]
DATASETS = config["datasets"]
# Every rule runs the library's command line, `cw-distillation` (installed with the project);
# this environment documents its software for `--sdm conda` users.
CONDA_ENV = workflow.source_path("../../environment.yml")

# Recorded in every manifest without being a rule parameter (a parameter would rerun every
# job whenever any key changed). KERAS_BACKEND: Keras reads it when a step first imports it.
# CW_DATA_MIRROR: one machine's choice, recorded beside the config digest and left out of it.
# PATH: the steps' `cw-distillation` is the one installed beside the Python that runs Snakemake, when
# none is on PATH already (`.venv/bin/snakemake ...` without an activated environment).
MIRROR_ENV = (
    f" CW_DATA_MIRROR={shlex.quote(config['data']['mirror'])}"
    if config["data"]["mirror"]
    else ""
)
shell.prefix(
    f"set -euo pipefail; command -v cw-distillation >/dev/null || export "
    f"PATH={shlex.quote(os.path.dirname(sys.executable))}:$PATH; export CW_CONFIG_DIGEST={config_digest(config)} "
    f"CW_PROFILE={PROFILE} KERAS_BACKEND={config['backend']}{MIRROR_ENV}; "
)


wildcard_constraints:
    dataset="|".join(KNOWN_DATASETS),  # src/cw_distillation/datasets.py
    temperature=r"[0-9]+(\.[0-9]+)?",
    half="a|b",
    model=jobs.WILDCARDS["model"],  # the table of jobs' (src/cw_distillation/jobs.py)
    attack=jobs.WILDCARDS["attack"],


def all_outputs():
    return [
        *model_outputs(),
        *paper_outputs(),
        f"{OUTPUTS}/REPORT.md",
        f"{OUTPUTS}/verdicts.json",
        *compared_outputs(),
    ]


def compared_outputs():
    """The table of verdicts beside compare_with's (none without that key): made from REPORT.md's
    verdicts.json, so not among paper_outputs(), which the report reads."""
    if not COMPARE_WITH:
        return []
    return [
        f"{OUTPUTS}/tables/verdicts_vs_{COMPARE_WITH}.{ext}" for ext in TABLE_FORMATS
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
        return f"--registry {shlex.quote(input.registry)} --mirror {shlex.quote(os.path.dirname(input.mirror))}"
    mirror = config["data"]["mirror"]
    return f"--mirror {shlex.quote(os.path.abspath(mirror))}" if mirror else ""


def res(kind):
    """Scheduler resources of one kind of job (light, train or attack), from the config's
    `resources`: mem_mb, runtime, cpus_per_task and gpu, which every rule takes whole
    (`**res("train")`)."""
    return dict(config["resources"][kind])


def result(kind, suffix="", **wildcards):
    """A result's path under results/<profile>/, in the layout of the table of jobs (jobs.KINDS),
    ``wildcards`` filled in; one not given stays ``{wildcard}``, as an output pattern names it.
    """
    return f"{RESULTS}/{jobs.path(kind, suffix, **wildcards)}"


def setting(kind, key, show=None, **names):
    """A config value that a job of ``kind`` reads (jobs.settings, which the job's store key
    covers too), as a rule's param: a function of the rule's wildcards (a function of its output
    instead would leave Snakemake's params trigger, and rerun what ran). ``names`` give the
    table's wildcards the rule names otherwise (name="teacher_T{temperature}"); ``show`` writes
    the value for the shell."""

    def value(wildcards):
        w = dict(wildcards.items())
        w.update({field: template.format(**w) for field, template in names.items()})
        found = jobs.settings(config, kind, w)[key]
        return show(found) if show else found

    return value


def as_json(value):
    return json.dumps(value, sort_keys=True)


def logged(command):
    """``command`` with its output (stdout and stderr) shown and copied into the job's log."""
    return f"{command} 2>&1 | tee {{log}}"


def step(command, rule, publish=False, code=False):
    """The shell command of one `cw-distillation` step, ``command``, with what every step's ends with:
    the name of its rule and the job's wildcards, which the step records in its manifest (Snakemake
    writes `{wildcards}` as name=value,... sorted by name), the log (``logged``), for a job whose
    results the store keeps, their copy into the store (``publish``, from params.publish), and, with
    ``code``, the rule's code input (code_of), which the step records among its inputs.
    ``rule`` is the rule's own name, checked by tests/test_workflow.py (Snakemake's shell knows it as
    `{rule}` too, but `snakemake --lint` 9.27 reports that as a variable from outside the rule).
    """
    tail = "{params.publish}" if publish else ""
    code_flag = " --code {input.code}" if code else ""
    return (
        logged(f"{command}{code_flag} --rule {rule} --wildcards={{wildcards}}") + tail
    )


# ------------------------------------------------------------------ networks

TRAINING = config["training"]


MAIN_T = t_name(TRAINING["main_temperature"])
# The datasets of the temperature sweep and of the transfer experiment; None leaves it out.
SWEEP = TRAINING["sweep_dataset"]
TRANSFER = TRAINING["transfer_dataset"]


def temperatures(dataset):
    """Every distillation temperature trained on ``dataset``: the main one, and the sweep where it runs."""
    sweep = TRAINING["temperatures"] if dataset == SWEEP else []
    return list(dict.fromkeys([MAIN_T, *map(t_name, sweep)]))


def model_names(dataset):
    names = ["standard", "init"]
    for t in temperatures(dataset):
        names += [f"teacher_T{t}", f"distilled_T{t}"]
    if dataset == TRANSFER:
        names += ["half_a", "half_b"]
    return names


def split_flags(wildcards):
    """Which training images: the hold-out, and the profile's subset (jobs.training_split)."""
    split = jobs.training_split(config, wildcards.dataset)
    flags = f"--validation-size {split['validation_size']}"
    subset = split["train_subset"]
    return flags + (f" --train-subset {subset}" if subset else "")


def training(name):
    """The settings a training rule passes to `cw-distillation train` for network ``name`` (a
    template of its wildcards), from the table of jobs (the seed is train_seed's), and the folder of
    its per-epoch checkpoint (checkpoint.checkpoint_of, where inflight.py looks for it).
    """

    def checkpoints(wildcards):
        w = dict(wildcards.items())
        network = result("model", ".keras", dataset=w["dataset"], name=name.format(**w))
        return str(checkpoint_of(network).parent)

    return dict(
        epochs=setting("model", "epochs", name=name),
        batch_size=setting("model", "batch_size", name=name),
        checkpoints=checkpoints,
    )


def model_outputs():
    return [
        result("model", ".json", dataset=dataset, name=name)
        for dataset in DATASETS
        for name in model_names(dataset)
    ]


def table_base(wildcards, output):
    """The output path without its extension: the step writes .csv, .md and .tex beside each other."""
    return os.path.splitext(output[0])[0]


# ------------------------------------------------------------------ attacks

ATTACK_CFG = config["attacks"]
# Section VIII.A: the earlier attacks again on the distilled network, with the paper's fixes.
FRAGILITY_VARIANTS = ATTACK_CFG["fragility_variants"]
# Section VIII.C: one random target per image on every network of the temperature sweep.
SWEEP_ATTACKS = ["l2_random", "jsma_f_random", "jsma_z_random"]


def image_selectors(kind):
    """The input function of the other networks that must also classify an image correctly for a
    job of ``kind`` to take it (jobs.KINDS: an attack's, attacks.images: common, and other
    profiles', attacks.images_also_correct_for; a robustness job's)."""

    def selectors(wildcards):
        own, external = jobs.KINDS[kind].images(config, dict(wildcards.items()))
        return [
            result("model", ".keras", dataset=wildcards.dataset, name=m) for m in own
        ] + external

    return selectors


def select_flags(wildcards, input):
    return (
        f"--select-with {' '.join(map(shlex.quote, input.selectors))}"
        if input.selectors
        else ""
    )


def reuse_flags(wildcards, output):
    """For a paired attack, where the store holds the same job on other images (made before the
    images were paired), the flags that let the step take its pairs over (store.reusable).
    """
    rel = os.path.relpath(output.result, RESULTS)
    parts = store_parts(rel)
    if parts is None or "images" not in parts:
        return ""
    return (
        f"--reuse-from {shlex.quote(STORE)} --results {RESULTS}"
        f" --parts {shlex.quote(json.dumps(parts, sort_keys=True))}"
    )


def train_seed(wildcards, output):
    """The training seed of the network written (jobs.settings, plan.SEED_OFFSETS), a function of the
    output as it has been, so that Snakemake's params trigger sees the params it recorded.
    """
    _, network, _ = jobs.parse(os.path.relpath(output.model, RESULTS))
    return jobs.settings(config, "model", network)["seed"]


def attack_result(dataset, model, attack):
    return result("attack", ".json", dataset=dataset, model=model, attack=attack)


def table_inputs(model):
    return [
        attack_result(dataset, model, attack)
        for dataset in DATASETS
        for attack in ATTACK_CFG["table_attacks"]
    ]


def fragility_results():
    return [
        result(
            "attack",
            ".npz",
            dataset=dataset,
            model=f"distilled_T{MAIN_T}",
            attack=attack,
        )
        for dataset in DATASETS
        for attack in [*ATTACK_CFG["table_attacks"], *FRAGILITY_VARIANTS]
        if attack not in OUR_ATTACKS
    ]


def statistics_results():
    """Every attack result on the standard and distilled networks (the report's intervals)."""
    networks = [
        result("attack", ".npz", dataset=dataset, model=model, attack=attack)
        for model in ("standard", f"distilled_T{MAIN_T}")
        for dataset in DATASETS
        for attack in ATTACK_CFG["table_attacks"]
    ]
    return list(dict.fromkeys([*networks, *fragility_results()]))


def crosscheck_results(kind):
    """The C&W results FMN is compared with ("cw"), or FMN's results on their pairs ("fmn"), in
    the same order: per dataset, the standard and the distilled network, per norm."""
    runs = [
        (dataset, model, norm)
        for dataset in DATASETS
        for model in ("standard", f"distilled_T{MAIN_T}")
        for norm in CROSSCHECK["norms"]
        if norm in ATTACK_CFG["table_attacks"]
    ]
    if kind == "cw":
        return [
            result("attack", ".npz", dataset=d, model=m, attack=n) for d, m, n in runs
        ]
    return [
        rules.crosscheck.output[0].format(dataset=d, model=m, norm=n)
        for d, m, n in runs
    ]


def sweep_models(ext):
    return [
        result("model", f".{ext}", dataset=SWEEP, name=f"distilled_T{t}")
        for t in temperatures(SWEEP)
    ]


def sweep_results():
    return [
        result("attack", ".npz", dataset=SWEEP, model=f"distilled_T{t}", attack=attack)
        for t in temperatures(SWEEP)
        for attack in SWEEP_ATTACKS
    ]


# The figures `cw-distillation figure` draws, by name (paper_outputs/<profile>/figures/<name>.pdf
# and .png; the rule that makes one is named after it), each with its key for `--figure` and the
# experiment it shows (a profile without that experiment has no such figure).
FIGURES = {
    "fig8_distance_vs_temperature": ("fig8", "sweep"),
    "jsma_success_vs_temperature": ("jsma_temperature", "sweep"),
    "fig9_transfer_standard": ("fig9", "transfer"),
    "fig10_transfer_distilled": ("fig10", "transfer"),
    "security_curves": ("security", "always"),
    "robustness_curves": ("robustness", "robustness"),
}
# The tables of each experiment that a profile may leave out (training.sweep_dataset or
# training.transfer_dataset null), and whether it runs.
EXPERIMENT_TABLES = {
    "sweep": ["temperature", "temperature_correlation"],
    "transfer": ["transfer"],
    "crosscheck": ["fmn_vs_cw"],
    "robustness": ["robustness_curves", "robustness_matrix", "masking_flags"],
}
CROSSCHECK = config["crosscheck"]
# Beyond the paper (issue 35): the datasets with robustness curves and the matrix (none: left out).
ROBUSTNESS_DATASETS = config["robustness"]["datasets"]
EXPERIMENTS = {
    "sweep": SWEEP,
    "transfer": TRANSFER,
    "crosscheck": CROSSCHECK["enabled"],
    "always": True,
    "robustness": bool(ROBUSTNESS_DATASETS),
}


def robustness_results(job):
    """Every robustness report of one job (curves or matrix), by dataset and network."""
    return [
        result("robustness", ".json", dataset=dataset, model=model, job=job)
        for dataset in ROBUSTNESS_DATASETS
        for model in plan.robustness_networks(config, dataset, job)
    ]


def robustness_eps(eps):
    """A robustness job's epsilon grid per norm, as its flags."""
    return " ".join(
        f"--{norm}-eps " + " ".join(repr(float(e)) for e in grid)
        for norm, grid in eps.items()
    )


def figure_key(wildcards, output):
    """The `--figure` key of the figure a rule writes (FIGURES, by its output's name)."""
    return FIGURES[os.path.basename(table_base(wildcards, output))][0]


NETWORK_TABLES = ("model_accuracy", "logit_norms")


def network_tables():
    """The tables made from the networks alone (no attack): a stored profile's first outputs."""
    return [
        f"{OUTPUTS}/tables/{t}.{ext}" for t in NETWORK_TABLES for ext in TABLE_FORMATS
    ]


def paper_outputs():
    """Every table and figure of the profile (an experiment it leaves out: none of its own)."""
    tables = [
        *NETWORK_TABLES,
        "table4_undistilled",
        "table6_distilled",
        "fragility",
        "attack_statistics",
        "security_curves",
    ]
    tables += [
        t for e, names in EXPERIMENT_TABLES.items() if EXPERIMENTS[e] for t in names
    ]
    figures = [
        f"adversarial_examples_{d}"
        for d in DATASETS
        if d in config["figures"]["example_datasets"]
    ]
    figures += [name for name, (_, e) in FIGURES.items() if EXPERIMENTS[e]]
    return [
        *(f"{OUTPUTS}/tables/{t}.{ext}" for t in tables for ext in TABLE_FORMATS),
        *(f"{OUTPUTS}/figures/{f}.{ext}" for f in figures for ext in ("pdf", "png")),
    ]


# Figures depend on their code: a change to plotting reruns the plots, and nothing upstream.
def code_of(step_module, *modules):
    """A table rule's code input: its step's module (steps/<step_module>.py) and the files of
    ``modules`` and of the code they import (store.code_files). As an input, a change to it reruns
    the table (and what reads it), never a training or an attack; step(..., code=True) records it.
    """
    files = [
        f"steps/{step_module}.py",
        *store.code_files(tuple(f"cw_distillation.{m}" for m in modules)),
    ]
    return [workflow.source_path(f"../../src/cw_distillation/{f}") for f in files]


PLOT_CODE = [
    workflow.source_path("../../src/cw_distillation/outputs/plots.py"),
    workflow.source_path("../../src/cw_distillation/outputs/figures.py"),
]
# The robustness curves figure has a module of its own (issue 35), so that adding it left plots.py as it was.
ROBUSTNESS_PLOT_CODE = [
    workflow.source_path("../../src/cw_distillation/outputs/robustness_plots.py"),
    workflow.source_path("../../src/cw_distillation/outputs/figures.py"),
]
# REPORT.md likewise depends on its claims' code and on the paper's values it quotes.
REPORT_CODE = [
    workflow.source_path("../../src/cw_distillation/outputs/report.py"),
    workflow.source_path("../../src/cw_distillation/outputs/beyond.py"),
    workflow.source_path("../../src/cw_distillation/outputs/claims.py"),
    workflow.source_path("../../src/cw_distillation/outputs/section8.py"),
    workflow.source_path("../../src/cw_distillation/outputs/rules.py"),
    workflow.source_path("../../src/cw_distillation/outputs/judge.py"),
    workflow.source_path("../../src/cw_distillation/intervals.py"),
    workflow.source_path("../../src/cw_distillation/verdict_rules.yaml"),
    workflow.source_path("../../src/cw_distillation/reference.py"),
    workflow.source_path("../../src/cw_distillation/reference_results.yaml"),
]


# ------------------------------------------------------------------ the store of results

STORE_CFG = config["store"]
STORE = STORE_CFG["dir"] or f"store/{PROFILE}"
if STORE_CFG["dir"] and not os.path.isdir(STORE):
    print(
        f"config key 'store.dir': store folder {STORE} does not exist; every job is computed"
        + (" (and publishes its results there)" if STORE_CFG["publish"] else ""),
        file=sys.stderr,
    )


_STORE_PARTS = {}


def store_parts(rel):
    """The parts (what its key is made of) of the job that writes results/<profile>/<rel>."""
    if rel not in _STORE_PARTS:
        _STORE_PARTS[rel] = store.parts_for(config, rel)
    return _STORE_PARTS[rel]


def restore_input(wildcards):
    """The entry's record and file where its job is restored (store.job_to_restore: a job's
    files are restored together or not at all, so a refused twin never leaves two jobs writing
    one file); else a path nothing makes, so that the job that computes the file runs instead.
    """
    rel = wildcards.stored
    parts = store_parts(rel) if os.path.isdir(STORE) else None
    restore, why = store.job_to_restore(Path(STORE), Path(RESULTS), rel, parts)
    for line in why:
        print(f"store: {line}", file=sys.stderr)
    record = f"{STORE}/{rel}{store.SUFFIX}"
    return (
        {"record": record, "entry": f"{STORE}/{rel}"}
        if restore
        else {"record": f"{record}.unused"}
    )


def publish(wildcards, output):
    """The shell tail that puts a storable job's outputs into the store (store.publish)."""
    files = [f for f in output if store_parts(os.path.relpath(f, RESULTS)) is not None]
    if not STORE_CFG["publish"] or not files:
        return ""
    parts = json.dumps(store_parts(os.path.relpath(files[0], RESULTS)), sort_keys=True)
    return (
        f" && cw-distillation store put --store {shlex.quote(STORE)} --results {RESULTS}"
        f" --parts {shlex.quote(parts)} {' '.join(map(shlex.quote, files))}"
    )


def resume(wildcards, output):
    """The shell head that copies the attack or training job's checkpoint saved in the store's
    inflight/ (a run cut off on another machine: docs/store.md, When a run is killed) where its job
    looks for it, where results/ has none; empty when there is nothing to copy. The job's
    first output names it (an attack's result, a training's network)."""
    if inflight.saved_for(Path(STORE), Path(RESULTS), Path(output[0])) is None:
        return ""
    return (
        f"cw-distillation store resume --store {shlex.quote(STORE)} --results {RESULTS}"
        f" {shlex.quote(output[0])} && "
    )
