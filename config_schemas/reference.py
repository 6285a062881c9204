"""The config reference in Markdown, generated from the config models.

Walks `ClusterConfig` and lists each key as operators write it under `kubev6:` in
`Pulumi.<stack>.yaml` (camelCase paths such as `gateway.nat64.engine`, `nodes[].address`)
with its type, default and description. A nested model becomes a section led by its docstring;
a discriminated union (`platform`) becomes one subsection per `kind`.

    python -m config_schemas.reference                    # print the reference
    python -m config_schemas.reference --write README.md  # replace the README's generated section
"""

from __future__ import annotations

import argparse
import inspect
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from config_schemas import addresses, model, strings

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"
REGENERATE = "python -m config_schemas.reference --write README.md"

# Keys read outside the model (config_schemas/loading.py SECRET_KEYS): a test keeps the two in step.
OUTSIDE_THE_MODEL = {
    "sshPrivateKey": (
        "secret string",
        "The SSH private key of every machine, set with `pulumi config set --secret sshPrivateKey < key` and "
        "refused unless stored as a secret; `ssh.publicKey` (its public half) is then required, and is refused "
        "without it. Unset: the stack generates a key pair.",
    )
}

# What the operator reads for each field type of strings.py and addresses.py (matched by its validators).
TYPE_LABELS: list[tuple[object, str]] = [
    (addresses.IPv6Prefix, "IPv6 prefix"),
    (addresses.UnicastIPv6Prefix, "IPv6 prefix"),
    (addresses.Nat64Prefix, "IPv6 prefix"),
    (addresses.IPv4Prefix, "IPv4 prefix"),
    (addresses.UnicastIPv4Prefix, "IPv4 prefix"),
    (addresses.IPv6Address, "IPv6 address"),
    (addresses.IPv4Address, "IPv4 address"),
    (addresses.UnicastIPv4Address, "IPv4 address"),
    (addresses.IPv4Interface, "IPv4 address/length"),
    (addresses.UnicastIPv4Interface, "IPv4 address/length"),
    (strings.InterfaceName, "interface name"),
    (strings.WholeNumber, "integer"),
    (strings.Hostname, "host name"),
    (strings.DnsDomain, "DNS domain"),
    (strings.DnsZone, "DNS zone"),
    (strings.SshHost, "host name or IP address"),
    (strings.UserName, "user name"),
    (strings.ImageRepository, "image repository"),
    (strings.ImageReference, "image reference"),
    (strings.HttpUrl, "http(s) URL"),
    (strings.AbsolutePath, "absolute path"),
    (strings.ImageSource, "http(s) URL or absolute path"),
    (strings.LibvirtUri, "libvirt URI"),
    (model.KernelWord, "kernel command-line word"),
    (model.Timeout, "Go duration"),
    (model.TokenTtl, "Go duration"),
    (model.PositiveDuration, "Go duration, above 0s"),
]
PLAIN_LABELS: dict[object, str] = {str: "string", bool: "boolean", int: "integer"}


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    description: str


def _validators(metadata: typing.Iterable[object]) -> frozenset[int]:
    """The identities of the validator functions in a field's or type's metadata."""
    return frozenset(id(m.func) for m in metadata if callable(getattr(m, "func", None)))


def _flat_metadata(metadata: typing.Iterable[object]) -> list[object]:
    """`Annotated[..., Field(ge=1)]` nests its constraints in a FieldInfo: lift them out."""
    flat: list[object] = []
    for item in metadata:
        flat += item.metadata if isinstance(item, FieldInfo) else [item]
    return flat


def _label_of(metadata: list[object]) -> str | None:
    """The most specific named type whose validators the metadata holds (Unicast... over IPv6Prefix)."""
    held = _validators(metadata)
    best: tuple[int, str] | None = None
    for alias, label in TYPE_LABELS:
        wanted = _validators(typing.get_args(alias)[1:])
        if wanted and wanted <= held and (best is None or len(wanted) > best[0]):
            best = (len(wanted), label)
    return best[1] if best else None


def _plural(label: str) -> str:
    return label + ("es" if label.endswith(("s", "x")) else "s")


def _constraints(metadata: list[object], *, listed: bool) -> str:
    low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
    least = next((m.min_length for m in metadata if isinstance(m, annotated_types.MinLen)), None)
    if low is not None and high is not None:
        return f", {low} to {high}"
    if low is not None:
        return f", at least {low}"
    if high is not None:
        return f", at most {high}"
    if least is not None and listed:
        return f", at least {least}"
    return ""


def type_label(annotation: object, metadata: typing.Iterable[object] = ()) -> str:
    """How a field's type reads in the reference: `IPv6 prefix`, `integer, 1 to 64`, `list of ...`."""
    meta = _flat_metadata(metadata)
    if typing.get_origin(annotation) is typing.Annotated:
        base, *inner = typing.get_args(annotation)
        return type_label(base, [*_flat_metadata(inner), *meta])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        # An optional key: its default (unset) says so; the type is what may be set.
        present = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(type_label(a) for a in present) + _constraints(meta, listed=False)
    if typing.get_origin(annotation) is typing.Literal:
        return " or ".join(f"`{value}`" for value in typing.get_args(annotation))
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return f"list of {_plural(type_label(item))}" + _constraints(meta, listed=True)
    label = _label_of(meta) or PLAIN_LABELS.get(annotation)
    if label is None:
        raise TypeError(f"no reference label for {annotation!r} {meta!r}: add it to TYPE_LABELS")
    return label + _constraints(meta, listed=False)


def default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`[{', '.join(str(v) for v in value)}]`"
    return f"`{value}`"


def nested_models(annotation: object) -> list[type[BaseModel]]:
    """The config models a field holds: itself, a list's items, a union's members."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in nested_models(arg)]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _doc(cls: type[BaseModel]) -> str:
    return inspect.cleandoc(cls.__dict__.get("__doc__") or "")


def _table(rows: list[Row]) -> list[str]:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    lines += [f"| `{r.key}` | {_cell(r.type)} | {_cell(r.default)} | {_cell(r.description)} |" for r in rows]
    return lines


def _sections(
    cls: type[BaseModel], prefix: str, lead: list[str], extra: typing.Sequence[Row] = ()
) -> Iterator[list[str]]:
    """One section per model: `lead` (heading and text), the table of its plain keys and `extra`, then
    its nested models."""
    rows: list[Row] = []
    later: list[tuple[type[BaseModel], str, list[str]]] = []
    for name, field in cls.model_fields.items():
        key = prefix + (field.alias or name)
        held = nested_models(field.annotation)
        if not held:
            rows.append(
                Row(key, type_label(field.annotation, field.metadata), default_text(field), field.description or "")
            )
            continue
        path = key + ("[]" if typing.get_origin(field.annotation) is list else "")
        if len(held) == 1:
            later.append((held[0], path + ".", [f"### `{path}`", "", _doc(held[0])]))
            continue
        # A discriminated union: the key's own description, then each kind with its keys.
        later.append((held[0], path + ".", [f"### `{path}`", "", field.description or "", "", *_kind_lead(held[0])]))
        later += [(variant, path + ".", _kind_lead(variant)) for variant in held[1:]]
    rows += extra
    yield [*lead, *(["", *_table(rows)] if rows else [])]
    for sub, sub_prefix, sub_lead in later:
        yield from _sections(sub, sub_prefix, sub_lead)


def _kind_lead(variant: type[BaseModel]) -> list[str]:
    (kind,) = typing.get_args(variant.model_fields["kind"].annotation)
    return [f"#### `kind: {kind}`", "", _doc(variant)]


def render() -> str:
    """The whole reference, the text between the README's markers."""
    extra = [Row(key, kind, "unset", text) for key, (kind, text) in OUTSIDE_THE_MODEL.items()]
    sections = _sections(model.ClusterConfig, "", [_doc(model.ClusterConfig)], extra)
    note = f"<!-- Generated from config_schemas/model.py by `{REGENERATE}`; edit the descriptions there. -->"
    return "\n".join([note, "", *("\n".join(s) + "\n" for s in sections)]).rstrip("\n") + "\n"


def replace_section(document: str, reference: str) -> str:
    """`document` with the text between the markers replaced by `reference`."""
    head, begin, rest = document.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the markers {BEGIN} and {END} are missing")
    return f"{head}{BEGIN}\n{reference}{END}{tail}"


def section_of(document: str) -> str:
    """The text between the markers ('' without them)."""
    rest = document.partition(BEGIN)[2]
    return rest.partition(END)[0].removeprefix("\n") if END in rest else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, metavar="FILE", help="replace FILE's section between the markers")
    args = parser.parse_args(argv)
    reference = render()
    if args.write is None:
        sys.stdout.write(reference)
        return 0
    try:
        args.write.write_text(replace_section(args.write.read_text(), reference))
    except (OSError, ValueError) as exc:
        print(f"{args.write}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
