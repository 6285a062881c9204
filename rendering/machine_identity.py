"""A machine's identity on an existing host: a token the stack writes once, read back on every run.

A host that comes back empty (reinstalled, its disk recreated) has lost the file, so the program
picks a new token (program/machine_ids.py); every command on that host is replaced with it and runs
again. A replaced command's delete is the old one's undo, kept in state: it must not undo what the
replacement just made, so every delete on the host first checks that the machine still holds the
token the command was made with (on another machine there is nothing of it to undo).
"""

from __future__ import annotations

import shlex

from rendering.files import RenderedFile
from rendering.layout import MACHINE_ID_PATH
from rendering.steps import Step


def identity_step(token: str) -> Step:
    """Writes the token; its delete (`guarded_delete`) removes it only while it is this token."""
    return Step(files=(RenderedFile(MACHINE_ID_PATH, f"{token}\n"),))


def holds_token(token: str) -> str:
    """A shell test: true while this machine holds `token`."""
    return f'[ "$(cat {MACHINE_ID_PATH} 2>/dev/null)" = {shlex.quote(token)} ]'


def guarded_delete(token: str, delete: str) -> str:
    """`delete` on the machine the command was made on; elsewhere a note and success."""
    return (
        f"if ! {holds_token(token)}; then\n"
        f"  echo 'kube-v6: this machine is not the one this command was made on "
        f"({MACHINE_ID_PATH} differs): nothing of it to undo' >&2\n"
        "  exit 0\n"
        f"fi\n{delete}"
    )


def identity_delete(token: str) -> str:
    return guarded_delete(token, f"rm -f {MACHINE_ID_PATH}")
