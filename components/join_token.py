"""A kubeadm bootstrap token, generated once and kept as a secret in state."""

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
