"""Stack outputs: topology facts in clear, cluster credentials as secrets, and every stage's state."""

from __future__ import annotations

import pulumi

from components.kubeadm_master import KubeadmMaster
from components.workload_checks import WorkloadChecks
from planning.plan import ClusterPlan


def stage_states(plan: ClusterPlan) -> dict[str, str]:
    stages = plan.stages
    return {
        "network": "on",
        "install": "on" if stages.install else "off (stages.install: false)",
        "kubeadm": "on" if stages.kubeadm else "off (stages.kubeadm: false)",
        "workloads": "on" if stages.workloads else "off (stages.workloads: false)",
    }


def export_outputs(
    plan: ClusterPlan,
    master: KubeadmMaster | None,
    workloads: WorkloadChecks | None,
    live: dict[str, str] | None = None,
    policy_checks: pulumi.Output[dict[str, str]] | None = None,
    machine_ids: dict[str, str] | None = None,
) -> None:
    domain_type = plan.libvirt.domain_type if plan.libvirt is not None else "n/a"
    pulumi.export("platform", {"kind": plan.platform, "domainType": domain_type})
    pulumi.export("stages", stage_states(plan))
    pulumi.export(
        "gateway",
        {
            "name": plan.gateway.name,
            "address": str(plan.gateway.address),
            "nat64Prefix": str(plan.nat64.prefix),
            "nat64Engine": plan.nat64.engine,
            "dns64Engine": plan.dns64.engine,
        },
    )
    pulumi.export(
        "nodes",
        {n.name: {"role": n.role, "address": str(n.address), "podSubnet": str(n.pod_subnet)} for n in plan.nodes},
    )
    pulumi.export("serviceSubnet", str(plan.service_subnet))
    pulumi.export("clusterDns", str(plan.dns_service_ip))
    if master is not None:
        pulumi.export("apiEndpoint", master.api_endpoint)
        pulumi.export("joinToken", master.token)
        pulumi.export("caCertHash", master.ca_cert_hash)
        pulumi.export("kubeconfig", master.kubeconfig)
        pulumi.export("certificateExpiry", master.cert_expiry)  # name -> expiry date (kubeadm certs)
        if master.certificate_key is not None:  # several masters: the key of the uploaded certificates
            pulumi.export("certificateKey", master.certificate_key)
            pulumi.export("controlPlane", [m.name for m in plan.masters])
    if machine_ids is not None:
        pulumi.export("machineIds", machine_ids)  # which machine each host is (program/machine_ids.py)
    if live is not None:
        pulumi.export("liveSettings", live)  # what the next run refuses to change (program/live_settings.py)
    checks: object = workloads.results if workloads else stage_states(plan)["workloads"]
    if workloads and policy_checks is not None:  # network.policy: the policy check's Jobs beside them
        checks = pulumi.Output.all(workloads.results, policy_checks).apply(lambda both: {**both[0], **both[1]})
    pulumi.export("workloadChecks", checks)
