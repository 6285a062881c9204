"""The one place that reads Pulumi config."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import get_config_env, get_config_secret_keys_env

from config_schemas.loading import LoadedConfig, parse_config, raw_from_config_env, read_host_routes
from config_schemas.problems import NAMESPACE, ConfigError, Problem


def load_stack_config() -> tuple[LoadedConfig, pulumi.Output[str] | None]:
    """Validate the whole stack config before any resource is declared.

    Returns the model and the SSH private key (a secret Output) if the stack sets one.
    Raises pulumi.RunError (printed without a traceback) on any problem.
    """
    env = get_config_env()
    try:
        loaded = parse_config(raw_from_config_env(env), read_host_routes())
        private_key = _private_key(env)
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    for warning in loaded.warnings:
        pulumi.log.warn(str(warning))
    return loaded, private_key


def _private_key(env: dict[str, str]) -> pulumi.Output[str] | None:
    full_key = f"{NAMESPACE}:sshPrivateKey"
    if full_key not in env:
        return None
    if full_key not in get_config_secret_keys_env():
        raise ConfigError(
            [Problem(full_key, "must be set as a secret: pulumi config set --secret sshPrivateKey < key")]
        )
    return pulumi.Config(NAMESPACE).require_secret("sshPrivateKey")
