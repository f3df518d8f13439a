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


def all_outputs():
    return expand(f"{RESULTS}/data/{{dataset}}.npz", dataset=DATASETS)


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
