"""kubeadm credentials generated once and kept as secrets in state: bootstrap tokens, the certificate key."""

from __future__ import annotations

import pulumi
from pulumi_command import local

# Format required by kubeadm: [a-z0-9]{6}.[a-z0-9]{16}
_GENERATE = (
    "python3 -c 'import secrets, string; a = string.ascii_lowercase + string.digits; "
    'r = lambda n: "".join(secrets.choice(a) for _ in range(n)); print(r(6) + "." + r(16))\''
)


def join_token(name: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    token = local.Command(
        name,
        create=_GENERATE,
        logging=local.Logging.NONE,
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["stdout", "stderr"]),
    )
    return pulumi.Output.secret(token.stdout.apply(str.strip))


# kubeadm's certificate key: an AES-256 key, hex-encoded (32 bytes).
_GENERATE_CERTIFICATE_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


def certificate_key(name: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The key `kubeadm init --upload-certs` encrypts the control plane's certificates with, for the
    other masters' joins: generated once on the machine running `pulumi up`, kept as a secret in state."""
    key = local.Command(
        name,
        create=_GENERATE_CERTIFICATE_KEY,
        logging=local.Logging.NONE,
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["stdout", "stderr"]),
    )
    return pulumi.Output.secret(key.stdout.apply(str.strip))
