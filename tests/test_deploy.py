"""The deployment files: gunicorn settings, the container image (hadolint) and the Kubernetes manifests
(validated offline against the schemas of a named Kubernetes version, shipped by kubernetes-validate)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from service.serving import ALWAYS_ANSWERED
from service.settings import BATCH_MAX_BODY_BYTES, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
HADOLINT = Path(sys.executable).with_name("hadolint")
KUBERNETES_VERSION = "1.33.0"  # the oldest minor still supported upstream when this was written


# ---- gunicorn -----------------------------------------------------------------------------------------


def gunicorn_settings(**env: str) -> dict:
    """deploy/gunicorn.conf.py evaluated in a fresh interpreter with `env` (it sets PROMETHEUS_MULTIPROC_DIR)."""
    code = (
        "import json, os, runpy; ns = runpy.run_path('deploy/gunicorn.conf.py'); "
        "print(json.dumps({k: ns[k] for k in ('bind', 'workers', 'worker_class', 'worker_connections', "
        "'timeout', 'graceful_timeout', 'max_requests', 'max_requests_jitter', 'accesslog', 'logger_class', "
        "'control_socket_disable')} | "
        "{'metrics_dir': os.environ['PROMETHEUS_MULTIPROC_DIR'], 'cpus': ns['usable_cpus']()}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PLANNER_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_gunicorn_defaults_come_from_the_cpu_count(tmp_path):
    s = gunicorn_settings(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "m"))
    assert s["workers"] == s["cpus"] + 1 and s["worker_class"] == "gevent" and s["worker_connections"] == 1000
    assert (s["bind"], s["timeout"], s["graceful_timeout"]) == ("0.0.0.0:8000", 60, 30)
    assert (s["max_requests"], s["max_requests_jitter"]) == (100000, 10000)  # workers recycled, not all at once
    assert s["accesslog"] is None and s["logger_class"] == "service.gunicorn_logging.JsonLogger"
    assert s["control_socket_disable"] is True
    assert (tmp_path / "m").is_dir()


def test_gunicorn_settings_come_from_the_environment():
    s = gunicorn_settings(
        PLANNER_WORKERS="7",
        PLANNER_WORKER_CONNECTIONS="50",
        PLANNER_MAX_REQUESTS="0",
        PLANNER_TIMEOUT="90",
        PLANNER_GRACEFUL_TIMEOUT="15",
        PLANNER_BIND="127.0.0.1:9000",
    )
    assert (s["workers"], s["worker_connections"], s["worker_class"]) == (7, 50, "gevent")
    assert (s["max_requests"], s["max_requests_jitter"]) == (0, 0)  # 0 turns recycling off
    assert (s["timeout"], s["graceful_timeout"], s["bind"]) == (90, 15, "127.0.0.1:9000")
    assert Path(s["metrics_dir"]).name.startswith("planner-metrics-")  # made when none is given


def test_a_worker_freezes_what_the_loaded_application_holds_so_full_collections_skip_it():
    """post_worker_init runs once the worker has loaded the app: everything alive then is frozen (gc.freeze),
    so a full collection no longer stalls every connection of the worker for 100 ms and more; worker_exit
    unfreezes it."""
    code = (
        "import gc, runpy, signal; ns = runpy.run_path('deploy/gunicorn.conf.py'); "
        "from service.app import create_app; app = create_app(); before = gc.get_freeze_count(); "
        "ns['post_worker_init'](object()); frozen = gc.get_freeze_count(); ns['worker_exit'](None, object()); "
        "print(before, frozen, signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL, gc.get_freeze_count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    before, after, stop_handler, at_exit = out.stdout.split()
    assert int(before) == 0 and int(after) > 50_000, out.stdout  # the app's objects, not a handful
    assert stop_handler == "True"  # the SIGTERM handler of the same hook is still installed
    # unfrozen when the worker exits: the interpreter's shutdown then cleans up in order (no tracebacks)
    assert int(at_exit) == 0 and "Exception ignored" not in out.stderr


# ---- container image ----------------------------------------------------------------------------------


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dockerfile_passes_hadolint_with_no_finding_at_all():
    result = hadolint(DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_really_checks(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install flask\n")
    result = hadolint(bad)
    assert result.returncode != 0 and "DL3006" in result.stdout and "DL3013" in result.stdout


def test_dockerfile_runs_pinned_requirements_as_non_root_with_a_healthcheck():
    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert "slim" in next(line for line in lines if line.startswith("ARG PYTHON_IMAGE="))
    assert "USER 10001:10001" in lines
    assert any(line.startswith("HEALTHCHECK ") and "deploy/healthcheck.py" in line for line in lines)
    cmd = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])
    assert cmd == ["gunicorn", "--config", "deploy/gunicorn.conf.py", "service.app:create_app()"]
    assert "-r /tmp/requirements-runtime.txt" in text
    for line in (DEPLOY / "requirements-runtime.txt").read_text().splitlines():
        assert line.startswith("#") or "==" in line, line
    # every file the image copies is let through by .dockerignore
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for source in ("service/", "deploy/gunicorn.conf.py", "deploy/healthcheck.py", "deploy/requirements-runtime.txt"):
        assert f"!{source}" in ignore
    # a rules core compiled on the developer's machine (make native) never reaches the image
    assert "**/*.so" in ignore and "service/domain/_native.json" in ignore


def test_the_image_compiles_the_rules_core_in_a_stage_of_its_own_with_the_locked_tools():
    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert any(line.startswith("FROM ${PYTHON_IMAGE} AS native") for line in lines)
    assert "/opt/build/bin/python -m scripts.build_native && test -s service/domain/_native.json" in text
    assert "COPY --from=native /src/service/ service/" in lines
    assert "COPY --from=native /src/planner_domain__mypyc*.so ./" in lines
    # the runtime stage gets no compiler: gcc is installed in the native stage only
    runtime = text.split("# ---- runtime:", 1)[1]
    assert "gcc" not in runtime and "requirements-native" not in runtime
    # what the native stage copies is let through by .dockerignore
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for source in (
        "deploy/requirements-native.txt",
        "pyproject.toml",
        "scripts/__init__.py",
        "scripts/build_native.py",
    ):
        assert f"!{source}" in ignore
    # its tools are the versions `make native` uses (requirements.txt), each pinned
    locked = {
        name.lower().replace("_", "-"): version
        for name, _, version in (
            line.partition("==") for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line
        )
    }
    pins = [line for line in (DEPLOY / "requirements-native.txt").read_text().splitlines() if line and line[0] != "#"]
    assert {"mypy", "setuptools"} <= {pin.partition("==")[0].lower() for pin in pins}
    for pin in pins:
        name, _, version = pin.partition("==")
        assert locked.get(name.lower().replace("_", "-")) == version, pin


def test_runtime_requirements_are_the_closure_of_requirements_runtime_in_at_the_locked_versions():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.runtime_requirements", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# ---- Kubernetes ---------------------------------------------------------------------------------------


def manifests() -> list[tuple[str, dict]]:
    out = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        out += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return out


def by_kind() -> dict[str, dict]:
    return {doc["kind"]: doc for _, doc in manifests()}


@pytest.mark.parametrize(("name", "doc"), manifests(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_manifest_is_valid_against_the_kubernetes_schema(name, doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_broken_manifest():
    broken = copy.deepcopy(by_kind()["Deployment"])
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_all_five_resources_are_there():
    assert set(by_kind()) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"}


def test_the_ingress_limits_each_client_at_the_edge_and_routes_only_the_public_paths():
    ingress = by_kind()["Ingress"]
    notes = ingress["metadata"]["annotations"]
    nginx = {k.removeprefix("nginx.ingress.kubernetes.io/"): v for k, v in notes.items()}
    assert int(nginx["limit-connections"]) > 0 and int(nginx["limit-rps"]) > 0
    assert nginx["proxy-body-size"] == "4m"  # the batch route's limit: BATCH_MAX_BODY_BYTES
    assert BATCH_MAX_BODY_BYTES == 4 * 1024 * 1024
    assert nginx["proxy-request-buffering"] == "on"  # slow uploads end at the edge, never in a pod
    assert int(nginx["proxy-read-timeout"]) >= int(deployment_env()["PLANNER_TIMEOUT"]["value"])
    paths = {p["path"]: p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert {"/v1", "/fhir", "/cds-services", "/clinic", "/"} <= set(paths)
    assert not {"/metrics", "/healthz", "/readyz"} & set(paths) and paths["/"]["pathType"] == "Exact"
    service = by_kind()["Service"]
    for path in paths.values():
        backend = path["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        assert backend["port"]["name"] == service["spec"]["ports"][0]["name"]
    assert ingress["spec"]["tls"]


def deployment_env() -> dict[str, dict]:
    (container,) = by_kind()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in container["env"]}


def test_the_probes_do_not_fail_a_busy_pod():
    (container,) = by_kind()["Deployment"]["spec"]["template"]["spec"]["containers"]
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    # The probes are never shed; under overload they wait for the event loop for about MAX_QUEUE_MS.
    queue_seconds = int(deployment_env()["PLANNER_MAX_QUEUE_MS"]["value"]) / 1000
    assert liveness["timeoutSeconds"] >= 5 * queue_seconds and readiness["timeoutSeconds"] >= 5 * queue_seconds
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 60  # longer than the slowest batch
    assert {liveness["httpGet"]["path"], readiness["httpGet"]["path"]} <= ALWAYS_ANSWERED


def test_deployment_is_production_shaped():
    deployment = by_kind()["Deployment"]
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] >= 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) <= set(container["resources"]["limits"])
    assert pod["securityContext"]["runAsNonRoot"] is True and container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
    # writable /tmp for gunicorn's heartbeat and the metrics samples under a read-only root filesystem
    env = {e["name"]: e for e in container["env"]}
    assert env["PROMETHEUS_MULTIPROC_DIR"]["value"].startswith("/tmp/")
    assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])
    # every PLANNER_ variable is a real setting; the port the container declares is the one gunicorn binds
    assert {name[len("PLANNER_") :] for name in env if name.startswith("PLANNER_")} <= set(SETTINGS)
    assert env["PLANNER_BIND"]["value"].endswith(f":{container['ports'][0]['containerPort']}")
    assert env["PLANNER_API_KEYS"]["valueFrom"]["secretKeyRef"]["name"]
    # a stopping pod gets preStop + gunicorn's graceful timeout before it is killed
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + int(env["PLANNER_GRACEFUL_TIMEOUT"]["value"])


def test_service_hpa_and_pdb_point_at_the_deployment():
    kinds = by_kind()
    deployment = kinds["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert kinds["Service"]["spec"]["selector"].items() <= labels.items()
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > hpa["minReplicas"]
    assert kinds["PodDisruptionBudget"]["spec"]["maxUnavailable"] < hpa["minReplicas"]
