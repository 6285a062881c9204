"""components/k8s_objects.py declares each kind as the installed pulumi-kubernetes SDK class does
(type token, apiVersion and kind, aliases, output properties), read from the class's own source, so
an SDK upgrade that changes one fails here; and a check Job's verdict reads its status as a dict."""

from __future__ import annotations

import inspect
import re

import pulumi_kubernetes as k8s
import pytest

from components import k8s_objects as ko
from components.workload_checks import verdict

SDK_CLASSES = {
    ko.NAMESPACE: k8s.core.v1.Namespace,
    ko.SERVICE: k8s.core.v1.Service,
    ko.SERVICE_ACCOUNT: k8s.core.v1.ServiceAccount,
    ko.DEPLOYMENT: k8s.apps.v1.Deployment,
    ko.DAEMON_SET: k8s.apps.v1.DaemonSet,
    ko.JOB: k8s.batch.v1.Job,
    ko.CLUSTER_ROLE: k8s.rbac.v1.ClusterRole,
    ko.CLUSTER_ROLE_BINDING: k8s.rbac.v1.ClusterRoleBinding,
    ko.NETWORK_POLICY: k8s.networking.v1.NetworkPolicy,
}


@pytest.mark.parametrize("kind", SDK_CLASSES, ids=lambda k: k.kind)
def test_kind_is_declared_as_the_sdk_class_declares_it(kind: ko.Kind) -> None:
    source = inspect.getsource(SDK_CLASSES[kind]._internal_init)
    assert f"'{kind.token}'" in source
    assert f"""__props__.__dict__["api_version"] = '{kind.api_version}'""" in source
    assert f"""__props__.__dict__["kind"] = '{kind.kind}'""" in source
    assert tuple(re.findall(r'Alias\(type_="([^"]+)"\)', source)) == kind.aliases
    outputs = re.findall(r'__props__\.__dict__\["(\w+)"\] = None', source)
    assert tuple(outputs) == kind.outputs


def test_every_kind_the_module_declares_is_checked() -> None:
    assert {v for v in vars(ko).values() if isinstance(v, ko.Kind)} == set(SDK_CLASSES)


def test_a_check_verdict_reads_the_job_status_in_the_api_spelling() -> None:
    assert verdict(None) == "unknown"
    assert verdict({"succeeded": 1, "active": 0}) == "pass"
    assert verdict({"failed": 2}) == "fail"
    assert verdict({}) == "fail"
