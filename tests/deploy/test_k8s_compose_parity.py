"""deploy/k8s and deploy/compose.yaml run the same processes from the same images with the
same environment variables (both read as plain YAML: no kustomize needed).

Kubernetes gives every pod the shared config map `portal-config` (base literals and the
overlays' merges) plus the container's own `env`; compose gives each service its own
`environment`. So: what compose gives a process, Kubernetes gives it; what a Kubernetes
container sets for itself, compose sets for it; and every shared variable is one compose
gives to some process.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "deploy" / "compose.yaml"
# Compose services with no Kubernetes workload, and why.
COMPOSE_ONLY = {
    "carrier": "the carrier registry stand-in; production calls the real registry",
    "demo-data": "demo data, never loaded in production",
    "postgres": "Kubernetes uses databases ops run (the portal-<service>-database secrets)",
}
# Kubernetes workload names of compose services named otherwise.
K8S_NAME = {"redis": "gateway-redis", "rabbitmq": "portal-rabbitmq"}
# Kubernetes composes AMQP_URL from these secret values ($(AMQP_USERNAME) in its value).
K8S_HELPERS = {"AMQP_USERNAME", "AMQP_PASSWORD"}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


@cache
def k8s_objects() -> tuple[dict[str, Any], ...]:
    files = [*sorted((K8S / "base").glob("*.yaml")), K8S / "components/identity/identity.yaml"]
    return tuple(
        doc for path in files if path.name != "kustomization.yaml" for doc in _documents(path)
    )


def shared_config() -> set[str]:
    """The keys of portal-config in the base and in any overlay's merge."""
    keys: set[str] = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        for generator in yaml.safe_load(kustomization.read_text()).get("configMapGenerator", []):
            if generator["name"] != "portal-config":
                continue
            keys |= {literal.split("=", 1)[0] for literal in generator.get("literals", [])}
            for env_file in generator.get("envs", []):
                text = (kustomization.parent / env_file).read_text(encoding="utf-8")
                keys |= {
                    line.split("=", 1)[0]
                    for line in text.splitlines()
                    if "=" in line and not line.startswith("#")
                }
    return keys


def k8s_workloads() -> dict[str, dict[str, Any]]:
    """Name -> (image, own env names, uses the shared config) of each Deployment and Job."""
    found: dict[str, dict[str, Any]] = {}
    for obj in k8s_objects():
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        spec = obj["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        found[obj["metadata"]["name"]] = {
            "image": container["image"],
            "env": {e["name"] for e in container.get("env", [])} - K8S_HELPERS,
            "shared": any(
                source.get("configMapRef", {}).get("name") == "portal-config"
                for source in container.get("envFrom", [])
            ),
        }
    for obj in k8s_objects():
        if obj["kind"] == "RabbitmqCluster":
            found[obj["metadata"]["name"]] = {"image": obj["spec"]["image"], "env": set()}
    return found


def compose_services() -> dict[str, dict[str, Any]]:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return {
        name: {
            "image": _default(service.get("image", "")),
            "env": set(service.get("environment") or {}),
        }
        for name, service in services.items()
    }


def _default(reference: str) -> str:
    """`${PORTAL_IMAGE:-public-service-portal:latest}` -> `public-service-portal:latest`."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", reference)


def image_name(reference: str) -> str:
    """The repository's own name: no registry, no tag."""
    return reference.rsplit("/", 1)[-1].split(":", 1)[0]


def test_every_compose_process_runs_on_kubernetes_from_the_same_image() -> None:
    workloads = k8s_workloads()
    compose = compose_services()
    for name, service in compose.items():
        if name in COMPOSE_ONLY:
            continue
        k8s_name = K8S_NAME.get(name, name)
        assert k8s_name in workloads, f"compose runs {name}; deploy/k8s has no {k8s_name}"
        assert image_name(workloads[k8s_name]["image"]) == image_name(service["image"]), name
    expected = {K8S_NAME.get(n, n) for n in compose if n not in COMPOSE_ONLY}
    assert set(workloads) == expected


def test_each_process_gets_the_same_environment_variables() -> None:
    workloads = k8s_workloads()
    shared = shared_config()
    given_by_compose: set[str] = set()
    for name, service in compose_services().items():
        if name in COMPOSE_ONLY or not service["env"]:
            continue
        workload = workloads[K8S_NAME.get(name, name)]
        on_k8s = workload["env"] | (shared if workload["shared"] else set())
        assert service["env"] - on_k8s == set(), f"{name}: only compose sets these"
        assert workload["env"] - service["env"] == set(), f"{name}: only Kubernetes sets these"
        given_by_compose |= service["env"]
    assert shared - given_by_compose == set(), "shared on Kubernetes, given by compose to none"
