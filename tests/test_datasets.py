"""The dataset registry is the one list of datasets: the config schema, the command line, the
workflow's wildcard and the networks agree with it."""

from __future__ import annotations

import argparse

import pytest
import yaml
from conftest import REPO

from cw_distillation import datasets
from cw_distillation.data.formats import READERS
from cw_distillation.datasets import NAMES

SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())


def dataset_sets(node, path="") -> list[tuple[str, set, bool]]:
    """(where, the dataset names it lists, whether it must list every one) of each part of the
    schema that names datasets: enums of names, and objects with a key per dataset."""
    found = []
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, list) and "mnist" in enum:
            found.append((f"{path}.enum", set(enum) - {None}, True))
        properties = node.get("properties")
        if isinstance(properties, dict) and "mnist" in properties:
            # the per-dataset counts must cover every dataset; robustness grids only those with one
            found.append((f"{path}.properties", set(properties), path.startswith(".$defs.per_dataset")))
        for key, value in node.items():
            found += dataset_sets(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += dataset_sets(value, f"{path}[{i}]")
    return found


def test_the_schema_names_the_registry_s_datasets():
    places = dataset_sets(SCHEMA)
    assert len([p for p in places if p[2]]) >= 8, places  # datasets, the sweep's, transfer's, ... and the $defs
    for where, names, every in places:
        if every:
            assert names == set(NAMES), where
        else:
            assert names <= set(NAMES), where


def test_every_dataset_option_of_the_command_line_offers_the_registry_s_datasets():
    from cw_distillation.cli import build_parser

    options = []

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
            elif "--dataset" in action.option_strings:
                options.append((parser.prog, action.choices))

    walk(build_parser())
    assert len(options) >= 10
    assert all(tuple(choices or ()) == NAMES for _, choices in options), options


def test_the_workflow_types_no_dataset_name():
    """Its ``dataset`` wildcard is the registry's names (common.smk); no rule types one."""
    for path in (REPO / "workflow/rules").glob("*.smk"):
        text = path.read_text()
        assert not any(f'"{name}' in text or f"{name}|" in text for name in NAMES), path
    assert 'dataset="|".join(KNOWN_DATASETS)' in (REPO / "workflow/rules/common.smk").read_text()


@pytest.mark.parametrize("name", NAMES)
def test_each_entry_is_whole(name):
    spec = datasets.spec(name)
    assert spec.source.name == name and spec.source.payloads
    assert spec.format in READERS
    assert len(spec.class_names) == 10 and len(set(spec.class_names)) == 10
    assert len(spec.shape) == 3 and spec.display


def test_an_unknown_dataset_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown dataset 'svhn'; known: mnist, cifar10"):
        datasets.spec("svhn")
    assert datasets.display("svhn") == "svhn" and datasets.display("cifar10") == "CIFAR-10"
