"""The engine lab: the network lab's hosts configured by the real Pulumi engine over SSH
(`engine_lab`, an sshd per host in `sshd`). CLI: `python -m harness.enginelab`. The engine driver
itself (toolchain, work copy, backend, preview/up/destroy) is `harness.commons.engine`."""
