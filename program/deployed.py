"""This stack's own outputs from its last completed deployment, read synchronously.

One StackReference of the current stack per program run (two would share a URN): made in
`__main__` and handed to what reads it. On the file backend and the service alike it reads the last
completed update; one in progress has not written its outputs yet. Synchronous on purpose: what is
read decides what is declared.

Read once, as the program starts, before any other resource: the file backend rewrites the stack's
checkpoint while resources register, and a reference read then can meet a half-written file
("failed to load checkpoint: EOF", seen on the VM lab, whose program read nothing of it). A stack
that reads nothing back makes no reference at all.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime.sync_await import _sync_await

READ_AT_START = "liveSettings"  # any output name: the first read resolves the whole reference


class Deployed:
    def __init__(self) -> None:
        self._me = pulumi.StackReference(
            f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}", opts=pulumi.ResourceOptions()
        )
        _sync_await(self._me.get_output_details(READ_AT_START))  # the read itself, now (see above)

    def output(self, name: str) -> Any | None:
        """The output `name` as the last deployment left it (secret or not); None when there is none."""
        details = _sync_await(self._me.get_output_details(name))
        return details.value if details.value is not None else details.secret_value
