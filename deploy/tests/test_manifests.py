"""deploy/kubernetes/ as a cluster would receive it: each overlay rendered by `kubectl kustomize`
(the tools venv's kubectl), with the Secrets that deploy/kubernetes/secrets.sh makes beside it,
held to the promises of docs/kubernetes.md."""

import functools
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
KUBECTL = Path(sys.executable).with_name("kubectl")
OVERLAYS = sorted(path.name for path in (DEPLOY / "overlays").iterdir())
AUTH_PYTHON = ROOT / "auth-service" / ".venv" / "bin" / "python"

# What only the auth service may hold: keys that sign, and the way into its stores.
AUTH_ONLY = {
    "SECRET_KEY",
    "JWT_PRIVATE_KEY",
    "JWT_SECRET",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "DJANGO_SUPERUSER_PASSWORD",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
}


@functools.cache
def rendered(overlay: str) -> tuple[dict, ...]:
    output = subprocess.run(  # noqa: S603 (the tools venv's kubectl, our folder)
        [KUBECTL, "kustomize", DEPLOY / "overlays" / overlay],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return tuple(doc for doc in yaml.safe_load_all(output) if doc)


def key_pair() -> tuple[str, str]:
    """A fresh Ed25519 pair as the JWT_PRIVATE_KEY and JWT_PUBLIC_KEYS that settings accept."""
    key = Ed25519PrivateKey.generate()
    private = {**OKPAlgorithm.to_jwk(key, as_dict=True), "kid": "test"}
    public = {**OKPAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "test"}
    return json.dumps(private), json.dumps({"keys": [public]})


@functools.cache
def made_by_secrets_sh(overlay: str, env_file: Path) -> tuple[dict, ...]:
    output = subprocess.run(  # noqa: S603 (our script)
        [DEPLOY / "secrets.sh", overlay],
        env={**os.environ, "ENV_FILE": str(env_file), "KUBECTL": str(KUBECTL)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return tuple(doc for doc in yaml.safe_load_all(output) if doc)


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    """A .env as `make env` writes it, quoted where a shell needs it, every secret set."""
    private, public = key_pair()
    path = tmp_path_factory.mktemp("env") / ".env"
    path.write_text(
        "SECRET_KEY=test-django-secret-key-of-some-length\n"
        f"JWT_PRIVATE_KEY='{private}'\n"
        f"JWT_PUBLIC_KEYS='{public}'\n"
        "POSTGRES_PASSWORD=test-postgres-password\n"
        "REDIS_PASSWORD=test-redis-password\n"
        "DATABASE_URL=postgres://auth:pw@db.example.com:5432/auth\n"
        "REDIS_URL=redis://:pw@cache.example.com:6379/0\n"
        "DJANGO_SUPERUSER_EMAIL=admin@example.com\n"
        "DJANGO_SUPERUSER_PASSWORD=test-superuser-password\n",
        encoding="utf-8",
    )
    return path


def objects(overlay: str, env_file: Path) -> tuple[dict, ...]:
    """What the cluster holds once both are applied: the overlay and secrets.sh's output."""
    return rendered(overlay) + made_by_secrets_sh(overlay, env_file)


def pod_specs(docs: tuple[dict, ...]) -> Iterator[tuple[str, dict, dict]]:
    """(kind/name, pod template labels, pod spec) of every workload."""
    for doc in docs:
        spec = doc.get("spec", {})
        if doc["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec:
            template = spec["template"]
            name = f"{doc['kind']}/{doc['metadata']['name']}"
            yield name, template["metadata"].get("labels", {}), template["spec"]


def containers(pod_spec: dict) -> list[dict]:
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def environment(container: dict, docs: tuple[dict, ...]) -> set[str]:
    """Every variable name the container receives, envFrom resolved against docs."""
    data = {
        (doc["kind"], doc["metadata"]["name"]): doc.get("data", {})
        for doc in docs
        if doc["kind"] in ("ConfigMap", "Secret")
    }
    names = {variable["name"] for variable in container.get("env", [])}
    for source in container.get("envFrom", []):
        kind = "Secret" if "secretRef" in source else "ConfigMap"
        ref = source.get("secretRef") or source["configMapRef"]
        names |= set(data.get((kind, ref["name"]), {}))
    return names


def secret_names(pod_spec: dict) -> set[str]:
    """The Secrets a pod reads, in its environment or its volumes."""
    names = {v["secret"]["secretName"] for v in pod_spec.get("volumes", []) if "secret" in v}
    for container in containers(pod_spec):
        names |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
        names |= {
            v["valueFrom"]["secretKeyRef"]["name"]
            for v in container.get("env", [])
            if "secretKeyRef" in v.get("valueFrom", {})
        }
    return names


def workload(docs: tuple[dict, ...], kind: str, name: str) -> dict:
    return next(doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_score_pods_receive_no_private_key_and_no_database_url(overlay, env_file):
    docs = objects(overlay, env_file)
    score = workload(docs, "Deployment", "score")["spec"]["template"]["spec"]

    assert secret_names(score) == set()
    for container in containers(score):
        received = environment(container, docs)
        assert "JWT_PUBLIC_KEYS" in received
        assert received & AUTH_ONLY == set()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_signing_key_reaches_the_auth_pods_only(overlay, env_file):
    docs = objects(overlay, env_file)
    for name, labels, pod_spec in pod_specs(docs):
        for container in containers(pod_spec):
            if "JWT_PRIVATE_KEY" in environment(container, docs):
                assert labels["app.kubernetes.io/name"] == "auth", name
    auth = workload(docs, "Deployment", "auth")["spec"]["template"]["spec"]
    assert "JWT_PRIVATE_KEY" in environment(auth["containers"][0], docs)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_value_is_in_the_manifests(overlay):
    assert [doc["metadata"]["name"] for doc in rendered(overlay) if doc["kind"] == "Secret"] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_sh_makes_every_secret_and_config_map_the_pods_read(overlay, env_file):
    docs = objects(overlay, env_file)
    keys = {
        (doc["kind"], doc["metadata"]["name"]): set(doc.get("data", {}))
        for doc in docs
        if doc["kind"] in ("ConfigMap", "Secret")
    }
    for name, _, pod_spec in pod_specs(docs):
        for container in containers(pod_spec):
            for source in container.get("envFrom", []):
                kind = "Secret" if "secretRef" in source else "ConfigMap"
                ref = source.get("secretRef") or source["configMapRef"]
                assert ref.get("optional") or (kind, ref["name"]) in keys, (name, ref)
            for variable in container.get("env", []):
                for kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    if ref := variable.get("valueFrom", {}).get(field):
                        assert ref["key"] in keys.get((kind, ref["name"]), set()), (name, ref)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_unprivileged_on_a_read_only_root(overlay):
    for name, _, pod_spec in pod_specs(rendered(overlay)):
        assert pod_spec["automountServiceAccountToken"] is False, name
        assert pod_spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in containers(pod_spec):
            context = {**pod_spec["securityContext"], **container["securityContext"]}
            where = f"{name} {container['name']}"
            assert context["runAsNonRoot"] is True, where
            assert context["runAsUser"] > 0, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_and_limits(overlay):
    for name, _, pod_spec in pod_specs(rendered(overlay)):
        for container in containers(pod_spec):
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, (name, bound)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_server_has_startup_readiness_and_liveness_probes(overlay):
    docs = rendered(overlay)
    servers = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
    assert {d["metadata"]["name"] for d in servers} >= {"auth", "score", "gateway"}
    for doc in servers:
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, (doc["metadata"]["name"], probe)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_image_is_one_compose_builds_with_a_pinned_tag(overlay):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    built = {service["image"] for service in compose["services"].values()}
    for name, _, pod_spec in pod_specs(rendered(overlay)):
        for container in containers(pod_spec):
            image = container["image"]
            # production pushes them to the team's registry: same path and tag after its host.
            assert any(image == c or image.endswith(f"/{c}") for c in built), (name, image)
            tag = image.rpartition(":")[2]
            assert "/" not in tag, (name, image)  # a tag at all, not a registry's port
            assert tag != "latest", (name, image)


def _selects(policy: dict, labels: dict) -> bool:
    selector = policy["spec"]["podSelector"]
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    return all(
        labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", [])
    )  # only the In operator is used here


def _peers(policy: dict, direction: str) -> list[dict]:
    """The podSelectors a policy's rules of `direction` allow (ingress from, egress to)."""
    side = "from" if direction == "ingress" else "to"
    return [peer for rule in policy["spec"].get(direction, []) for peer in rule.get(side, [])]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_let_only_the_gateway_reach_the_services(overlay):
    docs = rendered(overlay)
    policies = [doc for doc in docs if doc["kind"] == "NetworkPolicy"]
    deny = workload(docs, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    labels = {name: pod_labels for name, pod_labels, _ in pod_specs(docs)}

    # score reaches nothing: no policy opens any egress for it, DNS included.
    score = labels["Deployment/score"]
    assert [
        p["metadata"]["name"] for p in policies if _selects(p, score) and _peers(p, "egress")
    ] == []
    assert not any(_selects(p, score) and p["spec"].get("egress") for p in policies)
    # auth and score admit the gateway's pods, and no one else.
    for name in ("Deployment/auth", "Deployment/score"):
        sources = [
            peer for p in policies if _selects(p, labels[name]) for peer in _peers(p, "ingress")
        ]
        assert sources == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]
    # dev's PostgreSQL and Redis admit the auth pods (server, migrate, purge) only.
    for name in ("StatefulSet/postgres", "StatefulSet/redis"):
        if name in labels:
            sources = [
                p for p in policies if _selects(p, labels[name]) for p in _peers(p, "ingress")
            ]
            assert sources == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "auth"}}}]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateways_http_port_is_routed(overlay):
    """The Ingress reaches the gateway's http port, the gateway reaches auth's and score's: no
    other container port (the metrics port of docs/observability.md, when it comes) is routed."""
    docs = rendered(overlay)
    services = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Service"}
    ingress = workload(docs, "Ingress", "gateway")["spec"]
    backends = {
        (path["backend"]["service"]["name"], path["backend"]["service"]["port"]["name"])
        for rule in ingress["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {("gateway", "http")}
    upstreams = workload(docs, "ConfigMap", "gateway-config")["data"]
    routed = {("gateway", 80)} | {
        (host, int(port))
        for host, port in (upstreams[u].split(":") for u in ("AUTH_UPSTREAM", "SCORE_UPSTREAM"))
    }
    assert routed == {("gateway", 80), ("auth", 8000), ("score", 8000)}
    for service, port in routed:
        (entry,) = [p for p in services[service]["ports"] if p["port"] == port]
        assert entry["targetPort"] == "http"
    template = (ROOT / "gateway" / "default.conf.template").read_text(encoding="utf-8")
    assert not re.search(r"^\s*location\b[^{]*metrics", template, re.MULTILINE)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_deployment_of_several_replicas_has_a_disruption_budget_and_spreads(overlay):
    docs = rendered(overlay)
    budgets = [
        d["spec"]["selector"]["matchLabels"] for d in docs if d["kind"] == "PodDisruptionBudget"
    ]
    for doc in docs:
        if doc["kind"] == "Deployment" and doc["spec"]["replicas"] > 1:
            assert doc["spec"]["selector"]["matchLabels"] in budgets, doc["metadata"]["name"]
            (spread,) = doc["spec"]["template"]["spec"]["topologySpreadConstraints"]
            assert spread["topologyKey"] == "kubernetes.io/hostname"
    scaled = {
        d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert scaled == {"auth", "score"}


def _get(url: str, headers: dict, timeout: float) -> int:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (our own local server)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.skipif(
    not AUTH_PYTHON.exists(),
    reason="the auth service's venv is missing: make test-deploy builds it",
)
def test_a_dead_database_fails_auth_readiness_but_not_its_liveness(env_file):
    """The real auth service under gunicorn, with production's settings and a PostgreSQL that
    refuses every connection: its probes as the kubelet sends them."""
    docs = rendered("production")
    container = workload(docs, "Deployment", "auth")["spec"]["template"]["spec"]["containers"][0]
    settings = {}
    for name in ("token-config", "auth-config"):
        settings |= workload(docs, "ConfigMap", name)["data"]
    private, public = key_pair()
    with socket.socket() as dead_database, socket.socket() as free:
        dead_database.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
        free.close()
        env = {
            **os.environ,
            **settings,
            "SECRET_KEY": "test-django-secret-key-of-some-length",
            "JWT_PRIVATE_KEY": private,
            "JWT_PUBLIC_KEYS": public,
            "DATABASE_URL": f"postgres://auth:pw@127.0.0.1:{dead_database.getsockname()[1]}/auth",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
        }
        server = subprocess.Popen(  # noqa: S603 (our own venv and config)
            [AUTH_PYTHON, "-m", "gunicorn", "--config", "gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT / "auth-service",
            env=env,
        )
        try:
            status = {}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                spec = container[probe]
                get = spec["httpGet"]
                headers = {h["name"]: h["value"] for h in get.get("httpHeaders", [])}
                url = f"http://127.0.0.1:{port}{get['path']}"
                timeout = spec.get("timeoutSeconds", 1)
                # As the kubelet does for the startup probe: poll until the deadline it allows.
                deadline = time.monotonic() + spec["periodSeconds"] * spec["failureThreshold"]
                while True:
                    try:
                        status[probe] = _get(url, headers, timeout)
                        break
                    except OSError:
                        assert time.monotonic() < deadline, f"{probe}: gunicorn did not answer"
                        assert server.poll() is None, "gunicorn exited"
                        time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=30)

    assert status == {"startupProbe": 200, "livenessProbe": 200, "readinessProbe": 503}
