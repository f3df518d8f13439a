"""Config validation against the workflow's JSON schema, with defaults filled in.

We call jsonschema directly (the validator Snakemake itself wraps) so that an
error names the offending key as a dotted path in one line, instead of dumping
the schema: ``config key 'training.temperatures[0]': 0 is less than or equal to ...``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The config does not match the schema."""


def _with_defaults(cls: type[Any]) -> type[Any]:
    """A validator class that fills each property's ``default`` before descending into it. An object
    given in part keeps the rest of its default: a profile that sets ``resources.train.mem_mb`` keeps
    the paper's runtime, cores and GPU of ``resources.train`` (not the generic job defaults)."""
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: dict, instance: Any, schema: dict) -> Iterator:
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" not in sub:
                    continue
                if name not in instance:
                    instance[name] = _copy(sub["default"])
                elif isinstance(instance[name], dict) and isinstance(sub["default"], dict):
                    _fill(instance[name], sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(cls, {"properties": set_defaults})


def _fill(instance: dict, default: dict) -> None:
    """The keys of ``default`` that ``instance`` lacks, recursively."""
    for key, value in default.items():
        if key not in instance:
            instance[key] = _copy(value)
        elif isinstance(instance[key], dict) and isinstance(value, dict):
            _fill(instance[key], value)


def _copy(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


def key_path(error: jsonschema.ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def load_schema(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def validate_config(config: dict, schema: dict) -> dict:
    """Fill defaults into ``config`` in place and raise ConfigError naming every bad key."""
    cls = _with_defaults(jsonschema.validators.validator_for(schema))
    validator = cls(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = []
        for err in errors:
            if err.validator == "additionalProperties":
                allowed = ", ".join(sorted(err.schema.get("properties", {})))
                lines.append(f"config key '{key_path(err)}': {err.message}; allowed keys here: {allowed}")
            elif err.validator in ("exclusiveMinimum", "exclusiveMaximum"):  # jsonschema says "less than or equal"
                sign = {"exclusiveMinimum": ">", "exclusiveMaximum": "<"}
                lines.append(f"config key '{key_path(err)}': {err.instance!r} must be {sign[err.validator]} "
                             f"{err.validator_value}")
            else:
                lines.append(f"config key '{key_path(err)}': {err.message}")
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))
    return config


# The default profile (quick): what the Snakefile reads when the command line names no --configfile.
DEFAULT_CONFIG = "config.yaml"
OUTPUTS_ROOT = "paper_outputs"  # paper_outputs/<profile>/, relative to the working directory as DEFAULT_CONFIG


def merge(base: dict, override: dict) -> dict:
    """``override`` over ``base``, recursively, as Snakemake merges --configfile files (dicts merge
    key by key; anything else is replaced)."""
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


# The key that turns a config file into a YTE template for Snakemake (its expressions are Python).
YTE_KEY = "__use_yte__"


def read_yaml(path: str | Path) -> dict:
    """A YAML mapping; ConfigError naming the file (and line) for a syntax error."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys, not {type(data).__name__}")
    if data and YTE_KEY in data:
        raise ConfigError(
            f"{path}: {YTE_KEY} makes Snakemake evaluate this file as a YTE template, which runs the Python it "
            f"holds; this workflow refuses templated configs (write plain values; docs/design.md, Security)")
    return data or {}


def workflow_config(configfiles: Sequence[str | Path], schema_path: str | Path) -> dict:
    """The config a workflow run with these --configfile files sees, as the Snakefile builds it: the
    files merged in order over the schema's defaults (the paper's settings), validated, cross-checked.
    No file: the default profile, DEFAULT_CONFIG (relative to the working directory, as Snakemake reads it)."""
    config: dict = {}
    for path in configfiles or [DEFAULT_CONFIG]:
        config = merge(config, read_yaml(path))
    return check_cross_keys(validate_config(config, load_schema(schema_path)))


def check_cross_keys(config: dict) -> dict:
    """The checks one key's schema cannot make alone; ConfigError naming the key."""
    for key in ("sweep_dataset", "transfer_dataset"):
        dataset = config["training"][key]
        if dataset is not None and dataset not in config["datasets"]:
            raise ConfigError(
                f"config key 'training.{key}': {dataset!r} is not one of datasets {config['datasets']} "
                "(null leaves that experiment out)"
            )
    robustness = config["robustness"]
    outside = [d for d in robustness["datasets"] if d not in config["datasets"]]
    if outside:
        raise ConfigError(f"config key 'robustness.datasets': {outside} not among datasets {config['datasets']}")
    for i, pair in enumerate(robustness["stronger_than"]):
        missing = [m for m in pair if m not in robustness["matrix_methods"]]
        if missing:
            raise ConfigError(f"config key 'robustness.stronger_than[{i}]': {missing} not among "
                              f"robustness.matrix_methods {robustness['matrix_methods']}")
    other = config.get("compare_with")
    if other == config["profile"]:
        raise ConfigError(f"config key 'compare_with': {other!r} is this profile; name another profile (or null)")
    if other and not (Path(OUTPUTS_ROOT) / other / "verdicts.json").is_file():
        raise ConfigError(
            f"config key 'compare_with': {OUTPUTS_ROOT}/{other}/verdicts.json does not exist "
            f"(make figures PROFILE={other} writes it; null compares with no profile)"
        )
    mirror = config["data"]["mirror"]
    if mirror and not Path(mirror).is_dir():
        raise ConfigError(
            f"config key 'data.mirror': {mirror!r} is not a folder "
            "(it should hold mnist/ and cifar10/ with the official files; README: Offline machines)"
        )
    return config


def backend_warning(config: dict, environ: dict[str, str] | None = None) -> str | None:
    """A warning when KERAS_BACKEND in the environment differs from the config's ``backend``
    (the workflow's steps follow the config key), else None."""
    import os

    wanted = (os.environ if environ is None else environ).get("KERAS_BACKEND", config["backend"])
    if wanted == config["backend"]:
        return None
    return (f"KERAS_BACKEND={wanted} is set, but the config's backend is {config['backend']}: the steps run on "
            f"{config['backend']} (--config backend={wanted} changes that; make replicate passes KERAS_BACKEND on "
            "as that key)")
