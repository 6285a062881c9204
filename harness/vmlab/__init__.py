"""The VM lab: the `vmlab` stack as real VMs on this machine's libvirt (see vmlab/README.md)."""
