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


def oneshot_unit(path: str, description: str, script: str, after: str = "network-online.target") -> RenderedFile:
    """Runs `script up` at boot and `script down` when stopped."""
    service = {"Type": "oneshot", "RemainAfterExit": "yes", "ExecStart": f"{script} up", "ExecStop": f"{script} down"}
    return unit_file(path, description, service, after)
