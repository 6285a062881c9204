"""Where the Pulumi CLI is and the environment every engine call runs with."""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pulumi import automation as auto

ROOT = Path(__file__).resolve().parents[3]
TOOLCHAIN_SCRIPT = ROOT / "scripts" / "toolchain.sh"


@dataclass(frozen=True)
class EngineEnv:
    """The CLI folder, the local backend folder and the passphrase file of one set of runs."""

    cli_dir: Path
    backend_dir: Path
    passphrase_file: Path | None  # None: the operator's PULUMI_CONFIG_PASSPHRASE(_FILE) is used

    def command(self) -> auto.PulumiCommand:
        """The Automation API's handle on exactly this CLI (it expects ROOT/bin/pulumi)."""
        if self.cli_dir.name != "bin":
            raise ToolchainMissing(f"{self.cli_dir}: the Automation API needs the CLI in a folder named bin")
        return auto.PulumiCommand(root=str(self.cli_dir.parent))

    def variables(self) -> dict[str, str]:
        env = {
            "PATH": f"{self.cli_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_BACKEND_URL": f"file://{self.backend_dir}",
            # Offline: the update check would only time out.
            "PULUMI_SKIP_UPDATE_CHECK": "1",
        }
        if self.passphrase_file is not None:
            env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(self.passphrase_file)
        return env


class ToolchainMissing(RuntimeError):
    pass


def cli_dir() -> Path:
    """The folder of the pinned `pulumi` (scripts/toolchain.sh installs it if needed and prints it)."""
    res = subprocess.run(["bash", str(TOOLCHAIN_SCRIPT)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise ToolchainMissing(f"scripts/toolchain.sh failed (exit {res.returncode}):\n{res.stderr.strip()}")
    return Path(res.stdout.strip().splitlines()[-1])


def engine_env(state_dir: Path, passphrase: str | None = None) -> EngineEnv:
    """A backend under `state_dir`; a passphrase from the operator's environment, else one generated
    and kept (mode 0600) next to that backend, so later runs can decrypt the same stacks."""
    backend = state_dir / "backend"
    backend.mkdir(parents=True, exist_ok=True)
    operator_set = "PULUMI_CONFIG_PASSPHRASE" in os.environ or "PULUMI_CONFIG_PASSPHRASE_FILE" in os.environ
    if passphrase is None and operator_set:
        return EngineEnv(cli_dir(), backend, None)
    pass_file = state_dir / "passphrase"
    if passphrase is not None or not pass_file.exists():
        pass_file.touch(mode=0o600)
        pass_file.write_text(passphrase if passphrase is not None else secrets.token_urlsafe(24))
    return EngineEnv(cli_dir(), backend, pass_file)
