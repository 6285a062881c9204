"""The pidfile daemon script of machines without systemd, one renderer for all of them: DNS64's
`dns64.sh`, the mirror's `mirror.sh`, the node supervisor `supervise.sh`, the BGP speaker's
`bgp.sh` and HAProxy's `haproxy.sh`, and the shell pieces they share (is the pidfile's process
alive, start one in the background, stop it, stop a restart loop's process group).

Each script is a `case` over its action with a usage line for anything else; the callers give the
cases. A pidfile is a path or a quoted shell variable (`"$PIDFILE"`), written as given.
"""

from __future__ import annotations

from collections.abc import Sequence

from rendering.files import RenderedFile

# A case's body: its lines (indented under the label, ended by `;;`), or one command on the label's line.
Case = tuple[str, Sequence[str] | str]


def alive(pidfile: str) -> str:
    """A shell test: the process `pidfile` names is running."""
    return f'[ -f {pidfile} ] && kill -0 "$(cat {pidfile})" 2>/dev/null'


def running_function(pidfile: str) -> str:
    """`running`, the same test as a shell function."""
    return f"running() {{ {alive(pidfile)}; }}"


def background(command: str, pidfile: str, output: str) -> list[str]:
    """Start `command` in the background, its output to `output`, its pid into `pidfile`."""
    return [f"nohup {command} >{output} 2>&1 &", f"echo $! > {pidfile}"]


def kill_pidfile(pidfile: str) -> str:
    """Stop the process `pidfile` names, if any, and remove the pidfile."""
    return f'if [ -f {pidfile} ]; then kill "$(cat {pidfile})" 2>/dev/null || true; rm -f {pidfile}; fi'


def stop_group(pidfile: str) -> list[str]:
    """Stop a restart loop started with `setsid` and everything it runs (its process group): TERM,
    up to 5 s to end (a BGP speaker closes its sessions), then KILL. Needs `running`."""
    return [
        "if running; then",
        f"  pgid=$(cat {pidfile})",
        '  kill -TERM "-$pgid" 2>/dev/null || true',
        '  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "-$pgid" 2>/dev/null || break; sleep 0.5; done',
        '  kill -KILL "-$pgid" 2>/dev/null || true',
        "fi",
        f"rm -f {pidfile}",
    ]


def daemon_script(
    path: str,
    comments: Sequence[str],
    cases: Sequence[Case],
    *,
    preamble: Sequence[str] = (),
    selector: str = '"${1:-up}"',
    usage: str | None = None,
) -> RenderedFile:
    """`#!/bin/sh`, the comments, `set -eu`, the preamble, then `case <selector>` over `cases` and
    a usage line (default: the case labels) for any other action."""
    lines = ["#!/bin/sh", *(f"# {c}" for c in comments), "set -eu", *preamble, f"case {selector} in"]
    for label, body in cases:
        if isinstance(body, str):
            lines.append(f"  {label}) {body} ;;")
        else:
            lines += [f"  {label})", *(f"    {line}" for line in body), "    ;;"]
    usage = usage if usage is not None else "|".join(label for label, _ in cases)
    lines += [f'  *) echo "usage: $0 {usage}" >&2; exit 2 ;;', "esac"]
    return RenderedFile(path, "\n".join(lines) + "\n", "0755")
