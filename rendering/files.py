"""A rendered file and the shell that installs a set of them idempotently."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

HEREDOC_END = "KUBEV6_EOF"


@dataclass(frozen=True)
class RenderedFile:
    path: str
    content: str
    mode: str = "0644"

    def __post_init__(self) -> None:
        if f"\n{HEREDOC_END}\n" in f"\n{self.content}\n":
            raise ValueError(f"{self.path}: content contains the heredoc terminator")
        if not self.path.startswith("/"):
            raise ValueError(f"{self.path}: paths are absolute")


def install_script(files: Sequence[RenderedFile], then: Sequence[str] = (), *, first: Sequence[str] = ()) -> str:
    """A POSIX shell script that runs `first`, writes `files` in place and runs `then`.

    Files are written through (`cat >`), not replaced, so a bind-mounted file such as a
    network namespace's /etc/resolv.conf keeps its mount. Re-running it changes nothing.
    """
    lines = ["set -eu", *first]
    for f in files:
        path = shlex.quote(f.path)
        directory = shlex.quote(f.path.rsplit("/", 1)[0] or "/")
        lines.append(f"mkdir -p {directory}")
        if f.content.endswith("\n"):
            # The heredoc adds the last newline back: strip exactly one, keep the others.
            lines += [f"cat > {path} <<'{HEREDOC_END}'", f.content[:-1], HEREDOC_END]
        else:
            # A heredoc always ends in a newline; write the exact text (empty too) instead.
            lines.append(f"printf '%s' {shlex.quote(f.content)} > {path}")
        lines.append(f"chmod {f.mode} {path}")
    lines += list(then)
    return "\n".join(lines) + "\n"


def remove_script(paths: Sequence[str], first: Sequence[str] = (), last: Sequence[str] = ()) -> str:
    """Run `first`, delete `paths`, run `last` (commands tolerate failures: the thing may be gone)."""
    lines = ["set -u"]
    lines += [f"{cmd} || true" for cmd in first]
    lines += [f"rm -f {shlex.quote(p)}" for p in paths]
    lines += [f"{cmd} || true" for cmd in last]
    return "\n".join(lines) + "\n"
