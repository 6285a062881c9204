"""The one place that reads Pulumi config."""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from config_schemas.loading import LoadedConfig, parse_config, raw_from_config_env, read_host_routes
from config_schemas.problems import NAMESPACE, ConfigError, Problem


def _all_config() -> dict[str, str]:
    """Every config value of the stack: the engine's map, else the PULUMI_CONFIG environment."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def load_stack_config() -> tuple[LoadedConfig, pulumi.Output[str] | None]:
    """Validate the whole stack config before any resource is declared.

    Returns the model and the SSH private key (a secret Output) if the stack sets one.
    Raises pulumi.RunError (printed without a traceback) on any problem.
    """
    values = _all_config()
    try:
        loaded = parse_config(raw_from_config_env(values), read_host_routes())
        private_key = _private_key(values)
        public_key = loaded.cluster.ssh.public_key
        # Either half alone: the stack would generate its own pair and ignore the operator's, unseen.
        if private_key is not None and public_key is None:
            raise ConfigError(
                [
                    Problem(
                        f"{NAMESPACE}:ssh.publicKey",
                        "is required with sshPrivateKey (its public half, which the machines authorise)",
                    )
                ]
            )
        if private_key is None and public_key is not None:
            raise ConfigError(
                [
                    Problem(
                        f"{NAMESPACE}:ssh.publicKey",
                        f"is given without {NAMESPACE}:sshPrivateKey: the stack would generate a key pair of its "
                        "own and ignore this key; set the private half (pulumi config set --secret sshPrivateKey "
                        "< key) or remove ssh.publicKey",
                    )
                ]
            )
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    for warning in loaded.warnings:
        pulumi.log.warn(str(warning))
    return loaded, private_key


def _private_key(values: dict[str, str]) -> pulumi.Output[str] | None:
    full_key = f"{NAMESPACE}:sshPrivateKey"
    if full_key not in values:
        return None
    secret = runtime_config.is_config_secret(full_key) or full_key in runtime_config.get_config_secret_keys_env()
    if not secret:
        raise ConfigError(
            [Problem(full_key, "must be set as a secret: pulumi config set --secret sshPrivateKey < key")]
        )
    return pulumi.Config(NAMESPACE).require_secret("sshPrivateKey")
