"""The README stays true: its config reference lists every key, and CI runs its test command."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from config_schemas.model import ClusterConfig

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def config_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        nested = _models(field.annotation)
        if not nested:
            keys.add(key)
        for sub in nested:
            is_list = typing.get_origin(field.annotation) is list
            keys |= config_keys(sub, key + ("[]." if is_list else "."))
    return keys


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def test_config_reference_lists_every_key_and_nothing_else() -> None:
    section = README.split("## Config reference", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))
    keys = config_keys(ClusterConfig) | {"sshPrivateKey"}
    assert keys - documented == set(), "keys missing from the README's config reference"
    assert documented - keys == set(), "README documents keys that do not exist"


def test_ci_runs_the_readme_test_command() -> None:
    assert "bash scripts/test.sh" in README
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
