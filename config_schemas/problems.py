"""Config problems: a config key, what is wrong with it, and how bad it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

NAMESPACE = "kubev6"


@dataclass(frozen=True)
class Problem:
    key: str  # e.g. "kubev6:nodes[2].address"
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def key(*parts: str | int) -> str:
    """`key("nodes", 2, "address")` -> "kubev6:nodes[2].address"."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return f"{NAMESPACE}:{text}"


def from_validation_error(error: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into one line per config key, using the YAML (camelCase) names."""
    problems = []
    for item in error.errors(include_url=False):
        # Discriminated unions add the tag ("libvirt") to the location; it is not a key.
        loc = [p for p in item["loc"] if p not in ("libvirt", "existing")]
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling; keys are camelCase)"
        elif item["type"] == "missing":
            message = "required key is missing"
        loc = [_one_line(p) if isinstance(p, str) else p for p in loc]
        problems.append(Problem(key(*loc) if loc else f"{NAMESPACE}:", _one_line(message)))
    return problems


def _one_line(text: str) -> str:
    """Messages quote the user's input; escape line breaks and other control characters
    so each problem stays one line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class ConfigError(Exception):
    """Raised with every problem found, before any resource is declared."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the stack config has {len(problems)} problem(s):\n{lines}")
