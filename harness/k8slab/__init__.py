"""The Kubernetes lab: `lab-k8s` up through the engine lab, the cluster's checks (`k8s_checks`) and
the upstream conformance suite (`conformance`). CLI: `python -m harness.k8slab`."""
