"""deploy/k8s: the overlays rendered by kustomize (kubectl) and validated offline.

Built-in objects are validated against the Kubernetes schemas (kubernetes-validate,
strict); the RabbitMQ operators' objects are held to deploy/rabbitmq/definitions.json.
Every service in the code has its web and worker Deployment with probes, autoscaling,
a disruption budget and a migration Job.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.32.0"
SERVICES = sorted(
    p.name for p in (ROOT / "services").iterdir() if (p / "worker.py").exists() and p.name != "core"
)
# Provinces trust the national identity service (ARCHITECTURE "Federation").
OVERLAY_SERVICES = {"national": SERVICES, "province": [s for s in SERVICES if s != "identity"]}
# Secrets ops create (docs/operations.md); the manifests only refer to them.
EXTERNAL_SECRETS = {
    *(f"portal-{s}-database" for s in SERVICES),
    *(f"portal-{s}-rabbitmq" for s in SERVICES),
    "portal-integrator-rabbitmq",
    "portal-identity-secrets",
    "portal-notify-secrets",
    "portal-national-shovel",
    "portal-gateway-metrics",
}
TOPOLOGY_SPEC_FIELDS = {
    "Exchange": {"name", "type"},
    "Queue": {"name", "type"},
    "Binding": {"source", "destination", "destinationType"},
    "Policy": {"name", "pattern", "definition"},
    "User": {"importCredentialsSecret"},
    "Permission": {"vhost", "permissions"},
    "TopicPermission": {"vhost", "permissions"},
    "Shovel": {"name", "uriSecret", "srcQueue", "destExchange"},
}


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is not installed: the overlays cannot be rendered with kustomize")
    return path


def render(overlay: Path) -> list[dict[str, Any]]:
    output = subprocess.run(
        [kubectl(), "kustomize", str(overlay)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(K8S / "overlays" / overlay))


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["spec"]["template"]["spec"]["containers"])


def walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def test_every_manifest_file_is_valid_yaml() -> None:
    """Runs without kubectl too: nothing in deploy/k8s is unreadable."""
    files = sorted(K8S.rglob("*.yaml"))
    assert len(files) >= 8
    # Data files a kustomization puts into a ConfigMap are not manifests.
    data_files = {
        kustomization.parent / name
        for kustomization in K8S.rglob("kustomization.yaml")
        for generator in yaml.safe_load(kustomization.read_text(encoding="utf-8")).get(
            "configMapGenerator", []
        )
        for name in generator.get("files", [])
    }
    for path in files:
        if path in data_files:
            assert yaml.safe_load(path.read_text(encoding="utf-8")), path
            continue
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        assert docs, path
        for doc in docs:
            assert "kind" in doc and ("apiVersion" in doc), path


@pytest.mark.parametrize("overlay", ["national", "province"])
def test_built_in_objects_match_the_kubernetes_schemas(overlay: str) -> None:
    objects = rendered(overlay)
    built_in = [o for o in objects if not o["apiVersion"].startswith("rabbitmq.com/")]
    assert len(built_in) > 30
    for obj in built_in:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_broken_object() -> None:
    deployment = copy.deepcopy(of_kind(rendered("national"), "Deployment")["catalog-web"])
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", ["national", "province"])
def test_each_service_has_probed_deployments_autoscaling_budgets_and_a_migration(
    overlay: str,
) -> None:
    objects = rendered(overlay)
    deployments = of_kind(objects, "Deployment")
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]
        for h in of_kind(objects, "HorizontalPodAutoscaler").values()
    }
    budgets = {
        p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for p in of_kind(objects, "PodDisruptionBudget").values()
    }
    jobs = of_kind(objects, "Job")
    services = of_kind(objects, "Service")
    expected = OVERLAY_SERVICES[overlay]
    for service in expected:
        for process in (f"{service}-web", f"{service}-worker"):
            (container,) = containers(deployments[process])
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", process
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", process
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert deployments[process]["spec"]["template"]["spec"]["securityContext"][
                "runAsNonRoot"
            ]
            assert process in hpas and process in budgets, process
        assert f"{service}-web" in services
        assert (
            jobs[f"{service}-migrate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
            == "migrate"
        )
    assert "gateway" in deployments and "gateway" in hpas and "gateway" in budgets
    others = {d for d in deployments if d not in ("gateway", "gateway-redis")}
    assert others == {f"{s}-{p}" for s in expected for p in ("web", "worker")}


@pytest.mark.parametrize("overlay", ["national", "province"])
def test_references_resolve_and_only_secret_references_are_committed(overlay: str) -> None:
    objects = rendered(overlay)
    assert of_kind(objects, "Secret") == {}
    config_maps = set(of_kind(objects, "ConfigMap"))
    deployments = of_kind(objects, "Deployment")
    for obj in objects:
        for node in walk(obj):
            if "secretKeyRef" in node:
                assert node["secretKeyRef"]["name"] in EXTERNAL_SECRETS
            if "configMapRef" in node:
                assert node["configMapRef"]["name"] in config_maps
    for service in of_kind(objects, "Service").values():
        selector = service["spec"]["selector"]
        assert any(
            selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            for d in deployments.values()
        ), service["metadata"]["name"]
    clusters = of_kind(objects, "RabbitmqCluster")
    assert clusters["portal-rabbitmq"]["spec"]["replicas"] == 3
    assert (
        "default_queue_type = quorum"
        in clusters["portal-rabbitmq"]["spec"]["rabbitmq"]["additionalConfig"]
    )
    for obj in objects:
        if obj["apiVersion"].startswith("rabbitmq.com/") and obj["kind"] != "RabbitmqCluster":
            assert obj["spec"]["rabbitmqClusterReference"]["name"] in clusters
            assert TOPOLOGY_SPEC_FIELDS[obj["kind"]] <= set(obj["spec"]), obj["metadata"]
        if obj["kind"] == "User":
            assert obj["spec"]["importCredentialsSecret"]["name"] in EXTERNAL_SECRETS


def test_only_the_gateway_takes_traffic_from_outside() -> None:
    policies = of_kind(rendered("province"), "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {}
    open_to_all = [
        name
        for name, policy in policies.items()
        if any("from" not in rule for rule in policy["spec"].get("ingress", []))
    ]
    assert open_to_all == ["gateway-from-anywhere"]
    selector = policies["gateway-from-anywhere"]["spec"]["podSelector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": "gateway"}


def test_the_broker_topology_is_the_definitions_file() -> None:
    definitions = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text())
    objects = rendered("national")
    exchanges = {o["spec"]["name"]: o["spec"] for o in of_kind(objects, "Exchange").values()}
    assert {e["name"]: e["type"] for e in definitions["exchanges"]} == {
        n: e["type"] for n, e in exchanges.items()
    }
    permissions = {
        p["spec"]["userReference"]["name"]: p["spec"]["permissions"]
        for p in of_kind(objects, "Permission").values()
    }
    for permission in definitions["permissions"]:
        if permission["user"] == "portal-admin":  # the operator makes its own administrator
            continue
        assert permissions[permission["user"]] == {
            key: permission[key] for key in ("configure", "write", "read")
        }
    policies = {
        p["spec"]["name"]: p["spec"]["definition"] for p in of_kind(objects, "Policy").values()
    }
    assert policies == {p["name"]: p["definition"] for p in definitions["policies"]}


def test_the_province_code_is_one_parameter_and_its_events_are_shovelled(tmp_path: Path) -> None:
    copy_root = tmp_path / "k8s"
    shutil.copytree(K8S, copy_root)
    (copy_root / "overlays/province/province.env").write_text("PORTAL_PROVINCE=42\n")
    objects = render(copy_root / "overlays/province")
    (config,) = of_kind(tuple(objects), "ConfigMap").values()
    assert config["data"]["PORTAL_PROVINCE"] == "42"
    assert config["data"]["PORTAL_ROLE"] == "province"
    assert "identity-web" not in of_kind(tuple(objects), "Deployment")
    (shovel,) = of_kind(tuple(objects), "Shovel").values()
    assert shovel["spec"]["destExchange"] == "portal.events"
    (binding,) = [
        b
        for b in of_kind(tuple(objects), "Binding").values()
        if b["spec"]["destination"] == shovel["spec"]["srcQueue"]
    ]
    assert binding["spec"]["routingKey"] == "catalog.procedure.*"
    (gateway,) = containers(of_kind(tuple(objects), "Deployment")["gateway"])
    upstream = {e["name"]: e.get("value") for e in gateway["env"]}["GATEWAY_IDENTITY_URL"]
    assert upstream.startswith("https://")  # the national portal


def test_deployments_run_each_procfile_process_with_the_same_options() -> None:
    deployments = of_kind(rendered("national"), "Deployment")
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        name, _, command = line.partition(":")
        if name not in deployments:  # the carrier stand-in: a real registry in production
            assert name == "carrier"
            continue
        resolved = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", command)
        expected = shlex.split(resolved.replace("127.0.0.1:", "0.0.0.0:"))
        (container,) = containers(deployments[name])
        missing = [token for token in expected if token not in container["command"]]
        assert missing == [], f"{name}: {missing}"


def test_the_national_gateway_reads_its_province_registry_from_a_config_map() -> None:
    objects = rendered("national")
    config_maps = of_kind(objects, "ConfigMap")
    config = next(c for name, c in config_maps.items() if name.startswith("portal-config"))
    path = Path(config["data"]["GATEWAY_PROVINCES_FILE"])
    gateway = of_kind(objects, "Deployment")["gateway"]["spec"]["template"]["spec"]
    mount = next(
        m for m in gateway["containers"][0]["volumeMounts"] if m["mountPath"] == str(path.parent)
    )
    volume = next(v for v in gateway["volumes"] if v["name"] == mount["name"])
    registry = config_maps[volume["configMap"]["name"]]
    codes = [p["code"] for p in yaml.safe_load(registry["data"][path.name])["provinces"]]
    assert codes == ["38", "42"]
    # A provincial gateway is no registry's holder.
    province = of_kind(rendered("province"), "ConfigMap")
    assert not any("GATEWAY_PROVINCES_FILE" in c.get("data", {}) for c in province.values())


@pytest.mark.parametrize("overlay", ["national", "province"])
def test_gateway_replicas_share_their_rate_limits_through_redis(overlay: str) -> None:
    objects = rendered(overlay)
    (gateway,) = containers(of_kind(objects, "Deployment")["gateway"])
    env = {e["name"]: e for e in gateway["env"]}
    uri = env["RATELIMIT_STORAGE_URI"]["value"]
    host = re.match(r"redis://([^:/]+):(\d+)/", uri)
    assert host is not None
    service = of_kind(objects, "Service")[host.group(1)]
    assert [p["port"] for p in service["spec"]["ports"]] == [int(host.group(2))]
    assert env["GATEWAY_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True
    policy = of_kind(objects, "NetworkPolicy")["gateway-redis"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]
