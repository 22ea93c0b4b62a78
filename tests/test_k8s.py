"""deploy/k8s/, checked offline: the core kinds against Kubernetes' own OpenAPI schemas
(kubernetes-validate, strict: an unknown field fails), the KEDA resources against the fields
KEDA documents for its Temporal scaler, and the manifests against each other and ledgerd."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from ledgerd.config import ConfigError, Settings, load_settings
from ledgerd.queues import MODEL_ROLES, model_queue_name

K8S = Path(__file__).parent.parent / "deploy" / "k8s"
KUBERNETES_VERSION = "1.31.0"  # the oldest release still supported upstream when written
CORE_KINDS = {"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget", "Job"}

# keda.sh/docs/2.22/scalers/temporal: the trigger's metadata and authentication parameters.
KEDA_TEMPORAL_METADATA = {
    "endpoint",
    "endpointFromEnv",
    "namespace",
    "activationTargetQueueSize",
    "targetQueueSize",
    "taskQueue",
    "queueTypes",
    "workerDeploymentName",
    "workerDeploymentBuildId",
    "includeRunningWorkflowCount",
    "workflowTaskQueueForCount",
    "apiKeyFromEnv",
    "minConnectTimeout",
    "unsafeSsl",
    "tlsServerName",
    "enableTLS",
}
KEDA_TEMPORAL_REQUIRED = {"taskQueue"}  # and endpoint or endpointFromEnv
KEDA_TEMPORAL_QUEUE_TYPES = {"workflow", "activity"}
KEDA_TEMPORAL_AUTH = {"apiKey", "ca", "cert", "key", "keyPassword"}
KEDA_SCALED_OBJECT_SPEC = {
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "initialCooldownPeriod",
    "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount",
    "fallback",
    "advanced",
    "triggers",
}


def _resources() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    found = []
    for name in kustomization["resources"]:
        found += [r for r in yaml.safe_load_all((K8S / name).read_text()) if r]
    return found


RESOURCES = _resources()


def _of(kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in RESOURCES if r["kind"] == kind}


def test_every_file_is_listed_in_the_kustomization() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


@pytest.mark.parametrize(
    "resource",
    [r for r in RESOURCES if r["kind"] in CORE_KINDS],
    ids=lambda r: f"{r['kind']}/{r['metadata']['name']}",
)
def test_core_kinds_follow_the_kubernetes_schema(resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_is_not_vacuous() -> None:
    broken = dict(_of("Deployment")["ledgerd-worker"])
    broken["spec"] = {**broken["spec"], "replica": 2}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_only_known_kinds() -> None:
    assert {r["kind"] for r in RESOURCES} == CORE_KINDS | {"ScaledObject", "TriggerAuthentication"}


def _config() -> dict[str, str]:
    data: dict[str, str] = _of("ConfigMap")["ledgerd-config"]["data"]
    return data


def _pods() -> dict[str, dict[str, Any]]:
    pods = {name: d["spec"]["template"] for name, d in _of("Deployment").items()}
    pods |= {name: j["spec"]["template"] for name, j in _of("Job").items()}
    return pods


def test_pods_refer_only_to_defined_config_and_run_hardened() -> None:
    configs, secrets = _of("ConfigMap"), _of("Secret")
    for name, pod in _pods().items():
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configs, name
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["limits"]["memory"], name


def test_deployments_have_probes_budgets_and_selectors_that_match() -> None:
    budgets = _of("PodDisruptionBudget")
    for name, deployment in _of("Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["port"] in ports, (name, probe)
        assert any(
            b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets.values()
        ), f"no PodDisruptionBudget covers {name}"
    service = _of("Service")["ledgerd-api"]
    api_labels = _of("Deployment")["ledgerd-api"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api_labels.items()


def test_workers_drain_before_the_kubelet_kills_them() -> None:
    drain = int(_config()["LEDGERD_WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    health = int(_config()["LEDGERD_WORKER_HEALTH_PORT"])
    queues = {}
    for name in ("ledgerd-worker", "ledgerd-model-worker"):
        pod = _of("Deployment")[name]["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > drain + 5, name  # + telemetry flush
        container = pod["containers"][0]
        assert container["ports"][0]["containerPort"] == health
        argv = container["command"]
        assert argv[:3] == ["python", "-m", "worker"]
        queues[name] = argv[argv.index("--queues") + 1]
    assert queues == {"ledgerd-worker": "tools", "ledgerd-model-worker": "model"}


def test_the_configuration_is_what_ledgerd_accepts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    fields = {f"LEDGERD_{name.upper()}" for name in Settings.model_fields}
    environment = _config() | _of("Secret")["ledgerd-secrets"]["stringData"]
    unknown = {name for name in environment if name.startswith("LEDGERD_")} - fields
    assert not unknown, unknown
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    try:
        load_settings()
    except ConfigError as error:
        pytest.fail(str(error))


def test_scaled_objects_use_only_documented_temporal_trigger_fields() -> None:
    scaled = _of("ScaledObject")
    authentications = _of("TriggerAuthentication")
    deployments = _of("Deployment")
    assert set(scaled) == {"ledgerd-worker", "ledgerd-model-worker"}
    for name, resource in scaled.items():
        spec = resource["spec"]
        assert set(spec) <= KEDA_SCALED_OBJECT_SPEC, set(spec) - KEDA_SCALED_OBJECT_SPEC
        assert spec["scaleTargetRef"]["name"] in deployments
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]  # never to zero
        for trigger in spec["triggers"]:
            assert trigger["type"] == "temporal"
            metadata = trigger["metadata"]
            assert set(metadata) <= KEDA_TEMPORAL_METADATA, set(metadata) - KEDA_TEMPORAL_METADATA
            assert set(metadata) >= KEDA_TEMPORAL_REQUIRED
            assert {"endpoint", "endpointFromEnv"} & set(metadata)
            assert set(metadata["queueTypes"].split(",")) <= KEDA_TEMPORAL_QUEUE_TYPES
            assert all(isinstance(value, str) for value in metadata.values()), (
                name
            )  # KEDA reads strings
            int(metadata["targetQueueSize"])
            assert trigger["authenticationRef"]["name"] in authentications
    for authentication in authentications.values():
        for target in authentication["spec"]["secretTargetRef"]:
            assert target["parameter"] in KEDA_TEMPORAL_AUTH
            secret = _of("Secret")[target["name"]]
            assert target["key"] in secret["stringData"]


def test_the_triggers_watch_the_queues_the_workers_poll() -> None:
    config = _config()
    main = config["LEDGERD_TASK_QUEUE"]
    watched: dict[str, set[tuple[str, str]]] = {}
    for name, resource in _of("ScaledObject").items():
        for trigger in resource["spec"]["triggers"]:
            metadata = trigger["metadata"]
            assert metadata["endpoint"] == config["TEMPORAL_ADDRESS"]
            assert metadata["namespace"] == config["TEMPORAL_NAMESPACE"]
            watched.setdefault(name, set()).add((metadata["taskQueue"], metadata["queueTypes"]))
    # The tools workers run the workflows and the tool activities of the main queue.
    assert watched["ledgerd-worker"] == {(main, "workflow,activity")}
    # The model workers serve activities only, on every model queue.
    assert watched["ledgerd-model-worker"] == {
        (model_queue_name(main, role), "activity") for role in MODEL_ROLES
    }


def test_dependent_variables_are_defined_before_their_use() -> None:
    """Kubernetes expands `$(NAME)` in an env value only for names listed earlier."""
    for name, pod in _pods().items():
        for container in pod["spec"]["containers"]:
            seen: set[str] = set()
            for variable in container.get("env", []):
                for used in re.findall(r"\$\(([A-Z0-9_]+)\)", str(variable.get("value", ""))):
                    assert used in seen, f"{name}: {variable['name']} uses $({used}) too early"
                seen.add(variable["name"])
