"""Every config key is documented where it is declared, and the reference renders it faithfully."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import netaddr
import pytest
from pydantic import BaseModel, Field

from config_schemas import loading, reference
from config_schemas.addresses import IPv6Prefix, UnicastIPv6Prefix
from config_schemas.model import ClusterConfig, LibvirtPlatform, Strict
from config_schemas.strings import WholeNumber


def all_models(model: type[BaseModel] = ClusterConfig) -> list[type[BaseModel]]:
    """`model` and every model it holds, union members included, each once."""
    found = [model]
    for field in model.model_fields.values():
        for sub in reference.nested_models(field.annotation):
            found += [m for m in all_models(sub) if m not in found]
    return found


def undocumented(models: list[type[BaseModel]]) -> list[str]:
    missing = [f"{m.__name__} (docstring)" for m in models if not (m.__dict__.get("__doc__") or "").strip()]
    for m in models:
        missing += [f"{m.__name__}.{name}" for name, f in m.model_fields.items() if not (f.description or "").strip()]
    return missing


def test_every_model_and_field_of_the_config_is_documented() -> None:
    models = all_models()
    assert {"LibvirtPlatform", "ExistingPlatform", "NodeConfig", "TimeoutsConfig"} <= {m.__name__ for m in models}
    assert undocumented(models) == [], "add a docstring or Field(description=...) in config_schemas/model.py"


def test_an_undocumented_field_or_model_is_found() -> None:
    class Bare(Strict):
        documented: int = Field(1, description="A number.")
        bare: int = 2

    assert undocumented([Bare]) == ["Bare (docstring)", "Bare.bare"]


def test_the_keys_read_outside_the_model_are_documented() -> None:
    assert set(reference.OUTSIDE_THE_MODEL) == loading.SECRET_KEYS
    assert "| `sshPrivateKey` | secret string | unset |" in reference.render()


@pytest.mark.parametrize(
    ("model", "name", "label"),
    [
        (LibvirtPlatform, "vcpus", "integer, 1 to 64"),
        (LibvirtPlatform, "memory_mib", "integer, at least 512"),
        (LibvirtPlatform, "domain_type", "`kvm` or `qemu`"),
        (LibvirtPlatform, "kernel", "absolute path"),
        (LibvirtPlatform, "kernel_cmdline", "list of kernel command-line words, at least 1"),
        (LibvirtPlatform, "uplink_prefix", "IPv4 prefix"),
        (ClusterConfig, "api_version", "`kubev6.dev/v1alpha1`"),
    ],
)
def test_type_labels(model: type[BaseModel], name: str, label: str) -> None:
    field = model.model_fields[name]
    assert reference.type_label(field.annotation, field.metadata) == label


def test_the_most_specific_named_type_wins() -> None:
    assert reference.type_label(UnicastIPv6Prefix) == "IPv6 prefix"
    assert reference.type_label(Annotated[WholeNumber, Field(ge=0)] | None) == "integer, at least 0"
    assert reference.type_label(list[IPv6Prefix]) == "list of IPv6 prefixes"
    assert reference.type_label(Literal["a", "b"]) == "`a` or `b`"


def test_a_type_without_a_label_is_refused() -> None:
    with pytest.raises(TypeError, match="TYPE_LABELS"):
        reference.type_label(netaddr.EUI)


def test_defaults_as_operators_write_them() -> None:
    class Defaults(Strict):
        """Defaults."""

        needed: int = Field(description="x")
        off: bool = Field(False, description="x")
        empty: list[str] = Field(default_factory=list, description="x")
        unset: str | None = Field(None, description="x")
        prefix: IPv6Prefix = Field(netaddr.IPNetwork("fd00::/64"), description="x")

    fields = Defaults.model_fields
    assert [reference.default_text(fields[n]) for n in fields] == [
        "required",
        "`false`",
        "`[]`",
        "unset",
        "`fd00::/64`",
    ]


def test_sections_follow_the_models() -> None:
    text = reference.render()
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings[:3] == ["### `platform`", "#### `kind: libvirt`", "#### `kind: existing`"]
    assert "### `nodes[]`" in headings and "### `gateway.nat64`" in headings
    assert "| `platform.kind` | `existing` | required |" in text
    assert "| `kubernetes.timeouts.kubernetesAPICall` | Go duration | `1m0s` |" in text  # the alias, not camelCase


def test_table_cells_stay_one_cell() -> None:
    assert reference._cell("a | b\n  c") == "a \\| b c"


def test_write_replaces_only_the_marked_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{reference.BEGIN}\nstale\n{reference.END}\n\n## after\n")
    assert reference.main(["--write", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(f"# title\n\n{reference.BEGIN}\n") and text.endswith(f"{reference.END}\n\n## after\n")
    assert "stale" not in text and reference.section_of(text) == reference.render()

    assert reference.main([]) == 0
    assert capsys.readouterr().out == reference.render()


def test_write_without_markers_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert reference.main(["--write", str(readme)]) == 1
    assert readme.read_text() == "# no markers\n"
    assert "markers" in capsys.readouterr().err
