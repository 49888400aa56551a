"""deploy/k8s, checked offline: no cluster runs these tests, so the Kubernetes schemas, spacehpo's
own parser and the invariants below are what stands between a typo and a user's failed rollout."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from spacehpo.cli.main import build_parser
from spacehpo.hpo.engine.faults import EXIT_FAULTY_HOST

from tests.conftest import REPO

K8S = REPO / "deploy" / "k8s"
KUSTOMIZATION = "kustomization.yaml"  # kustomize's file, not an API object: parsed, not validated
MANIFESTS = sorted(p.name for p in K8S.glob("*.yaml") if p.name != KUSTOMIZATION)
# The oldest Kubernetes the manifests promise (podFailurePolicy and podReplacementPolicy are on
# by default from 1.29) and the newest schema kubernetes-validate bundles: a field that the old
# release lacks or the new one dropped fails one of them.
KUBERNETES_VERSIONS = ("1.30", "1.37")
STUDY = "spark-staged"
SECRET, URL_KEY, PASSWORD_KEY = "spacehpo-postgres", "storage-url", "password"
IMAGE = "spacehpo:latest"
SPACEHPO_PODS = ("create-study-job.yaml", "worker-job.yaml", "dashboard-deployment.yaml")
POD_MANIFESTS = (*SPACEHPO_PODS, "postgres-statefulset.yaml")
Manifest = dict[str, Any]


@cache
def manifests() -> dict[str, Manifest]:
    """File name -> its resource: one per file, so `kubectl apply -f` of any one file works."""
    out = {}
    for name in MANIFESTS:
        docs = [d for d in yaml.safe_load_all((K8S / name).read_text()) if d is not None]
        assert len(docs) == 1, f"{name}: {len(docs)} resources, want one"
        out[name] = docs[0]
    return out


def pod_spec(name: str) -> Manifest:
    return manifests()[name]["spec"]["template"]["spec"]


def containers(name: str) -> list[Manifest]:
    spec = pod_spec(name)
    return [*spec.get("initContainers", []), *spec["containers"]]


def main_container(name: str) -> Manifest:
    (container,) = pod_spec(name)["containers"]
    return container


# `spacehpo` where a shell expects a command name, not as an argument (`pg_isready -U spacehpo`)
SHELL_SPACEHPO = re.compile(
    r"(?:^|;|&&|\|\||\b(?:until|while|if|then|do|else))\s*spacehpo\s+([^;|&>]+)"
)


def spacehpo_commands(container: Manifest) -> list[list[str]]:
    """Every `spacehpo ...` a container runs, without the program name: the exec form, or each
    invocation inside an `sh -c` script (up to a redirection or the end of its statement), so
    the test parses commands hidden in scripts too."""
    line = [*container.get("command", []), *container.get("args", [])]
    if line[:1] == ["spacehpo"]:
        return [line[1:]]
    if line[:2] == ["sh", "-c"]:
        script = " ".join(line[2:])
        return [shlex.split(m) for m in SHELL_SPACEHPO.findall(script)]
    return []


def without_abbreviations(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Else `--exit-when-idle` would still parse after the flag became `--exit-when-idle-s`."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                without_abbreviations(sub)
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    """spacehpo's real parser, so a renamed or removed flag fails here, not on the cluster."""
    try:
        return without_abbreviations(build_parser()).parse_args(argv)
    except SystemExit:
        pass
    pytest.fail(f"spacehpo {shlex.join(argv)}: the parser rejects it (its message is above)")


def mount_paths(container: Manifest, read_only: bool | None = None) -> set[str]:
    return {
        m["mountPath"]
        for m in container.get("volumeMounts", [])
        if read_only is None or m.get("readOnly", False) == read_only
    }


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_validates_against_the_kubernetes_schema(name: str, version: str) -> None:
    """Strict: a misspelt or misplaced field is an error, not silently dropped by the API."""
    try:
        validated = kubernetes_validate.validate(manifests()[name], version, strict=True)
    except kubernetes_validate.ValidationError as err:
        validated = f"{'.'.join(str(p) for p in err.path)}: {err.message}"
    assert validated == version, f"{name} against Kubernetes {version}: {validated}"
    assert "namespace" not in manifests()[name]["metadata"], "users pick it: kubectl -n NS"


def test_kustomization_lists_every_manifest_in_apply_order() -> None:
    kustomization = yaml.safe_load((K8S / KUSTOMIZATION).read_text())
    resources = kustomization["resources"]
    assert sorted(resources) == MANIFESTS and len(resources) == len(set(resources))
    assert all((K8S / r).is_file() for r in resources)
    order = {r: i for i, r in enumerate(resources)}
    assert order["postgres-secret.yaml"] < order["postgres-statefulset.yaml"]
    assert order["shared-pvc.yaml"] < order["create-study-job.yaml"] < order["worker-job.yaml"]
    assert order["postgres-statefulset.yaml"] < order["create-study-job.yaml"]


def test_worker_command_parses_and_waits_for_its_study() -> None:
    (argv,) = spacehpo_commands(main_container("worker-job.yaml"))
    args = parse(argv)
    assert (args.cmd, args.name) == ("worker", STUDY)
    # every GPU the pod was given, never a fallback to the CPU, never one pinned device
    assert args.devices == "all" and args.device is None
    assert args.exit_when_idle_s is None  # an idle exit would never be replaced by the Job
    (wait,) = pod_spec("worker-job.yaml")["initContainers"]
    (argv,) = spacehpo_commands(wait)
    args = parse(argv)
    assert (args.cmd, args.study_cmd, args.name) == ("study", "status", STUDY)


def compose_init_argv() -> list[str]:
    """docker-compose.yml's init command with each ${VAR:-default} at its default."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = compose["services"]["init"]["command"]
    assert command[0] == "spacehpo"
    return [re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", word) for word in command[1:]]


def test_create_study_command_parses_and_mirrors_compose() -> None:
    (argv,) = spacehpo_commands(main_container("create-study-job.yaml"))
    args = parse(argv)
    assert (args.cmd, args.study_cmd, args.name, args.plan) == ("study", "create", STUDY, "staged")
    assert (str(args.data), args.artifacts) == ("/data", "/artifacts")
    assert (args.epochs, args.batch_size, args.pretrained) == (15, 64, "imagenet")
    assert vars(args) == vars(parse(compose_init_argv())), "Kubernetes and compose differ"


def test_dashboard_binds_all_interfaces_behind_a_cluster_ip_service() -> None:
    container = main_container("dashboard-deployment.yaml")
    (argv,) = spacehpo_commands(container)
    args = parse(argv)
    assert (args.cmd, args.host, args.artifacts) == ("dashboard", "0.0.0.0", "/artifacts")
    (port,) = container["ports"]
    assert port["containerPort"] == args.port
    service = manifests()["dashboard-service.yaml"]["spec"]
    assert service.get("type", "ClusterIP") == "ClusterIP", "port-forward, not a public port"
    (service_port,) = service["ports"]
    assert service_port["targetPort"] in (port["name"], port["containerPort"])


@pytest.mark.parametrize(
    ("service", "workload"),
    [
        ("postgres-service.yaml", "postgres-statefulset.yaml"),
        ("dashboard-service.yaml", "dashboard-deployment.yaml"),
    ],
)
def test_services_select_their_pods(service: str, workload: str) -> None:
    spec = manifests()[service]["spec"]
    pod_labels = manifests()[workload]["spec"]["template"]["metadata"]["labels"]
    assert spec["selector"].items() <= pod_labels.items()
    ports = {
        p["name"]: p["containerPort"] for c in containers(workload) for p in c.get("ports", [])
    }
    assert all(p["targetPort"] in (*ports, *ports.values()) for p in spec["ports"])


def test_worker_pods_get_one_gpu_and_time_to_hand_back() -> None:
    spec = manifests()["worker-job.yaml"]["spec"]
    # a work queue: the Job ends when workers exit 0 with the plan done, not after a count
    assert spec["parallelism"] >= 1 and "completions" not in spec
    assert spec["template"]["spec"]["restartPolicy"] == "Never" and spec["backoffLimit"] >= 1
    # SIGTERM finishes the epoch and hands the trial back; SIGKILL before that loses the epoch
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] >= 600
    resources = main_container("worker-job.yaml")["resources"]
    assert str(resources["limits"]["nvidia.com/gpu"]) == "1"
    assert str(resources.get("requests", {}).get("nvidia.com/gpu", 1)) == "1"


def test_a_faulty_host_is_counted_not_ignored_nor_fatal() -> None:
    """Ignore would let one bad node fail replacement pods for ever; FailJob would stop the
    healthy workers too."""
    rules = manifests()["worker-job.yaml"]["spec"]["podFailurePolicy"]["rules"]
    # the schema takes any string here; Kubernetes skips a rule whose action it does not know
    assert all(r["action"] in ("Count", "Ignore", "FailJob") for r in rules)
    matching = [
        r
        for r in rules
        if r.get("onExitCodes", {}).get("operator") == "In"
        and EXIT_FAULTY_HOST in r["onExitCodes"]["values"]
    ]
    assert [r["action"] for r in matching] == ["Count"]
    assert matching[0]["onExitCodes"]["containerName"] == main_container("worker-job.yaml")["name"]


def command_line_text(container: Manifest) -> str:
    env = " ".join(str(e.get("value", "")) for e in container.get("env", []))
    return " ".join([*container.get("command", []), *container.get("args", []), env])


@pytest.mark.parametrize("name", SPACEHPO_PODS)
def test_the_storage_url_comes_only_from_the_secret(name: str) -> None:
    """`kubectl describe` and `ps` show commands and plain env values; the password is in neither."""
    for container in containers(name):
        assert "postgresql://" not in command_line_text(container)
        commands = spacehpo_commands(container)
        assert all("--storage" not in argv for argv in commands)
        if not commands:
            continue
        env = {e["name"]: e for e in container["env"]}
        assert env["SPACEHPO_STORAGE"]["valueFrom"]["secretKeyRef"] == {
            "name": SECRET,
            "key": URL_KEY,
        }
        assert container["image"] == IMAGE


def test_the_secret_url_reaches_the_database_it_configures() -> None:
    data = manifests()["postgres-secret.yaml"]["stringData"]
    url = urlsplit(data[URL_KEY])
    postgres = main_container("postgres-statefulset.yaml")
    assert "postgresql://" not in command_line_text(postgres)
    env = {e["name"]: e for e in postgres["env"]}
    ref = env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": SECRET, "key": PASSWORD_KEY}
    service = manifests()["postgres-service.yaml"]
    (port,) = service["spec"]["ports"]
    assert (url.scheme, url.hostname, url.port) == (
        "postgresql",
        service["metadata"]["name"],
        port["port"],
    )
    assert (url.username, url.password) == (env["POSTGRES_USER"]["value"], data[PASSWORD_KEY])
    assert url.path == "/" + env["POSTGRES_DB"]["value"]


def test_volumes_shared_read_write_many_and_postgres_keeps_its_own() -> None:
    pvc = manifests()["shared-pvc.yaml"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"], "workers on many nodes write artifacts"
    for name in POD_MANIFESTS:
        claims = [
            v["persistentVolumeClaim"]
            for v in pod_spec(name).get("volumes", [])
            if "persistentVolumeClaim" in v
        ]
        assert all(c["claimName"] == pvc["metadata"]["name"] for c in claims), name
    statefulset = manifests()["postgres-statefulset.yaml"]["spec"]
    (template,) = statefulset["volumeClaimTemplates"]
    assert statefulset["serviceName"] == manifests()["postgres-service.yaml"]["metadata"]["name"]
    mounts = main_container("postgres-statefulset.yaml")["volumeMounts"]
    assert template["metadata"]["name"] in {m["name"] for m in mounts}


def test_spacehpo_paths_are_mounted_where_the_commands_look() -> None:
    worker, create = main_container("worker-job.yaml"), main_container("create-study-job.yaml")
    dashboard = main_container("dashboard-deployment.yaml")
    study = parse(spacehpo_commands(create)[0])
    # workers use the paths the study recorded, so they mount them at the same place
    assert {str(study.data)} <= mount_paths(create, True) & mount_paths(worker, True)
    assert {study.artifacts} <= mount_paths(create, False) & mount_paths(worker, False)
    assert parse(spacehpo_commands(dashboard)[0]).artifacts in mount_paths(dashboard, True)
    env = {e["name"]: e.get("value") for e in worker["env"]}
    assert env["SPACEHPO_CACHE"] in mount_paths(worker, False)


def test_kustomize_builds_the_same_resources() -> None:
    """What `kubectl apply -k` would send, where kubectl is installed; without it the
    kustomization is only checked as YAML (test_kustomization_lists_every_manifest...)."""
    if shutil.which("kubectl") is None:
        pytest.skip("no kubectl here")
    built = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    names = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(built.stdout)}
    assert names == {(m["kind"], m["metadata"]["name"]) for m in manifests().values()}
