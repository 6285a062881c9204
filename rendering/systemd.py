"""systemd units of the project: `up`/`down` scripts run once at boot, or a supervised daemon."""

from __future__ import annotations

from rendering.files import RenderedFile


def unit_file(
    path: str, description: str, service: dict[str, str], after: str = "network-online.target"
) -> RenderedFile:
    body = "\n".join(f"{k}={v}" for k, v in service.items())
    return RenderedFile(
        path,
        f"""[Unit]
Description={description}
After={after}
Wants=network-online.target

[Service]
{body}

[Install]
WantedBy=multi-user.target
""",
    )


def oneshot_unit(
    path: str,
    description: str,
    script: str,
    after: str = "network-online.target",
    extra: dict[str, str] | None = None,
) -> RenderedFile:
    """Runs `script up` at boot and `script down` when stopped."""
    service = {"Type": "oneshot", "RemainAfterExit": "yes", "ExecStart": f"{script} up", "ExecStop": f"{script} down"}
    return unit_file(path, description, {**(extra or {}), **service}, after)


def shared_runtime_directory(run_dir: str) -> dict[str, str]:
    """systemd creates `run_dir` (under /run) before the unit's first command. Units sharing it
    must preserve it: systemd removes a unit's RuntimeDirectory= when that unit stops, which would
    take the other units' pidfiles with it."""
    if not run_dir.startswith("/run/"):
        raise ValueError(f"{run_dir}: RuntimeDirectory= is under /run")
    return {"RuntimeDirectory": run_dir.removeprefix("/run/"), "RuntimeDirectoryPreserve": "yes"}


def systemd_or(systemd: str, direct: str) -> str:
    """`systemd` where systemd is the init system; elsewhere (namespace machines) `direct`."""
    return f"if [ -d /run/systemd/system ]; then {systemd}; else {direct}; fi"
