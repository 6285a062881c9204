"""The stack's SSH key pair: from config (private key a secret) or generated once by the stack."""

from __future__ import annotations

import pulumi
from pulumi_command import local

# Generates an ed25519 key in a private temp dir and prints it; the output is a secret.
_GENERATE = 'd="$(mktemp -d)" && ssh-keygen -q -t ed25519 -N "" -C kube-v6 -f "$d/id" && cat "$d/id" && rm -rf "$d"'
_PUBLIC = 'd="$(mktemp -d)" && cat > "$d/id" && chmod 600 "$d/id" && ssh-keygen -y -f "$d/id" && rm -rf "$d"'


class SshKeyPair(pulumi.ComponentResource):
    private_key: pulumi.Output[str]
    public_key: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        private_key: pulumi.Output[str] | None,
        public_key: str | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("kubev6:index:SshKeyPair", name, None, opts)
        if private_key is not None and public_key is not None:
            self.private_key = pulumi.Output.secret(private_key)
            self.public_key = pulumi.Output.from_input(public_key)
        else:
            generated = local.Command(
                f"{name}-generate",
                create=_GENERATE,
                logging=local.Logging.NONE,
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stdout", "stderr"]),
            )
            self.private_key = pulumi.Output.secret(generated.stdout.apply(lambda s: s.strip() + "\n"))
            derived = local.Command(
                f"{name}-public",
                create=_PUBLIC,
                stdin=self.private_key,
                logging=local.Logging.STDOUT,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # Derived from a secret, but a public key is not one.
            self.public_key = pulumi.Output.unsecret(derived.stdout.apply(str.strip))
        self.register_outputs({"public_key": self.public_key})
