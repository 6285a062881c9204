"""Driving the real Pulumi engine for a stack of this project: toolchain, workspace, timings.

`StackRun` copies the project into a work folder (so stack files with salts and secrets set by a run
never touch the repository), uses a local file backend and the passphrase secrets provider, and
runs preview/up/destroy through Pulumi's Automation API with the CLI `scripts/toolchain.sh` installed.
"""

from harness.commons.engine.toolchain import EngineEnv, engine_env
from harness.commons.engine.workspace import EngineError, OpResult, StackRun

__all__ = ["EngineEnv", "EngineError", "OpResult", "StackRun", "engine_env"]
