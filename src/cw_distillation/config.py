"""Config validation against the workflow's JSON schema, with defaults filled in.

We call jsonschema directly (the validator Snakemake itself wraps) so that an
error names the offending key as a dotted path in one line, instead of dumping
the schema: ``config key 'training.temperatures[0]': 0 is less than or equal to ...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The config does not match the schema."""


def _with_defaults(cls: type) -> type:
    """A validator class that fills each property's ``default`` before descending into it."""
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: dict, instance: Any, schema: dict) -> Iterator:
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = _copy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(cls, {"properties": set_defaults})


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
            else:
                lines.append(f"config key '{key_path(err)}': {err.message}")
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))
    return config


def load_config(path: str | Path, schema_path: str | Path) -> dict:
    return validate_config(yaml.safe_load(Path(path).read_text()) or {}, load_schema(schema_path))
