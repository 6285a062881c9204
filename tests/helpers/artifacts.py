"""Helpers shared by several test modules (not a test module: pytest collects nothing here)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

ENTRYPOINTS = {
    "kube-apiserver": ["/usr/local/bin/kube-apiserver"],
    "kube-controller-manager": ["/usr/local/bin/kube-controller-manager"],
    "kube-scheduler": ["/usr/local/bin/kube-scheduler"],
    "kube-proxy": ["/usr/local/bin/kube-proxy"],
    "etcd": ["/usr/local/bin/etcd"],
    "coredns": ["/coredns"],
    "pause": ["/pause"],
    "agnhost": ["/agnhost"],
    "busybox": None,
}


def read_archive(path: Path) -> tuple[list[str], dict[str, Any], dict[str, tarfile.TarInfo]]:
    """RepoTags, the image config and the merged file tree of a docker archive."""
    with tarfile.open(path) as archive:
        [manifest] = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(archive.extractfile(manifest["Config"]))  # type: ignore[arg-type]
        tree: dict[str, tarfile.TarInfo] = {}
        for layer in manifest["Layers"]:
            data = archive.extractfile(layer).read()  # type: ignore[union-attr]
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            with tarfile.open(fileobj=io.BytesIO(data)) as files:
                for info in files:
                    tree[info.name.rstrip("/").removeprefix("./")] = info
    return manifest["RepoTags"], config, tree
