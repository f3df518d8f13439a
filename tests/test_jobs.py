"""The table of jobs: one layout, built and parsed from one pattern per kind of job."""

from pathlib import Path

import pytest
from conftest import REPO

from cw_distillation import jobs, store
from cw_distillation.config import workflow_config

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
EXAMPLES = {  # a result of each stored kind, and its wildcards
    "models/mnist/distilled_T2.5.keras": ("model", {"dataset": "mnist", "name": "distilled_T2.5"}),
    "logits/cifar10/standard.npz": ("logits", {"dataset": "cifar10", "model": "standard"}),
    "attacks/mnist/standard/jsma_f_random.json": ("attack", {"dataset": "mnist", "model": "standard",
                                                             "attack": "jsma_f_random"}),
    "fragility/mnist/distilled_T100.json": ("fragility", {"dataset": "mnist", "model": "distilled_T100"}),
    "transfer/mnist/half_a_examples.npz": ("transfer", {"dataset": "mnist", "model": "half_a"}),
    "robustness/cifar10/standard/matrix.json": ("robustness", {"dataset": "cifar10", "model": "standard",
                                                               "job": "matrix"}),
}


@pytest.mark.parametrize("rel", sorted(EXAMPLES))
def test_a_result_path_parses_to_the_wildcards_that_build_it(rel):
    kind, wildcards = EXAMPLES[rel]
    found = jobs.parse(rel)
    assert found is not None and (found[0].name, found[1]) == (kind, wildcards)
    assert jobs.path(kind, found[2], **wildcards) == rel
    assert jobs.identify(Path("/anywhere/results/p") / rel, kind) == wildcards
    assert jobs.root_of(Path("/anywhere/results/p") / rel, kind) == Path("/anywhere/results/p")


@pytest.mark.parametrize("rel", [
    "soft_labels/mnist/T100.npz",  # made again from the teacher, not kept
    "transfer/mnist/half_a_to_half_b.npz",  # likewise the transfer predictions
    "transfer/mnist/half_b_examples.npz",  # the examples are made on half_a alone
    "robustness/mnist/standard/other.json",
    "models/mnist/standard.npz",  # a network is .keras and .json
    "data/mnist.npz",  # the data are made again from the official files
])
def test_what_the_store_does_not_keep_does_not_parse(rel):
    assert jobs.parse(rel) is None and store.job_files(rel) is None


def test_a_path_not_in_the_layout_is_named():
    with pytest.raises(ValueError, match=r"standard\.npz: not a logits result"):
        jobs.identify("/tmp/standard.npz", "logits")


def test_a_wildcard_left_out_stays_a_wildcard_as_a_rule_output_names_it():
    teacher = jobs.path("model", ".keras", name="teacher_T{temperature}")
    assert teacher == "models/{dataset}/teacher_T{temperature}.keras"
    assert jobs.path("attack", ".npz") == "attacks/{dataset}/{model}/{attack}.npz"


def test_the_store_keeps_each_kind_with_its_upstream_jobs_keys():
    """A student's key holds its init's and its teacher's (same temperature); an attack's, its network's."""
    config = workflow_config([REPO / "config/tiny.yaml"], SCHEMA)
    student = store.parts_for(config, "models/mnist/distilled_T100.json")
    assert student["init"] == store.key_of(store.model_parts(config, "mnist", "init"))
    assert student["teacher"] == store.key_of(store.model_parts(config, "mnist", "teacher_T100"))
    assert student["data"] == store.key_of(store.data_parts(config, "mnist"))
    attack = store.parts_for(config, "attacks/mnist/distilled_T100/l2.npz")
    assert attack["model"] == store.key_of(student)
    settings = jobs.settings(config, "attack", {"dataset": "mnist", "model": "distilled_T100", "attack": "l2"})
    assert {k: attack[k] for k in settings} == settings


def test_the_init_network_trains_the_one_epoch_its_rule_passes():
    config = workflow_config([REPO / "config/tiny.yaml"], SCHEMA)
    init = jobs.settings(config, "model", {"dataset": "mnist", "name": "init"})
    assert init["epochs"] == jobs.INIT_EPOCHS == 1
    assert "--epochs {jobs.INIT_EPOCHS}" in (REPO / "workflow/rules/training.smk").read_text()
