"""gunicorn settings, all from the environment (https://docs.gunicorn.org/en/stable/settings.html)."""

import os
import tempfile
from pathlib import Path

import environ
from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

from accounts.logs import logging_config

# In the container the gateway reaches the service over the compose network, so it binds to
# every interface there; `make run` sets GUNICORN_BIND=127.0.0.1:8001.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Two processes for the two cores the service gets, each with four threads: a request spends
# most of its time waiting on PostgreSQL or Redis, and gthread keeps the gateway's upstream
# connections alive, where a sync worker closes each one after its response.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = 4
# Longer than the gateway's upstream keepalive_timeout (nginx's default, 60 s), so that nginx,
# not gunicorn, closes an idle connection: with gunicorn's 2 s, gunicorn closed connections
# just as nginx sent a request on them, and nginx answered that POST a 502 (it retries no
# non-idempotent request). https://docs.gunicorn.org/en/stable/settings.html#keepalive
keepalive = 75
# X-Forwarded-Proto is trusted only from these addresses: the gateway.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No access log here: the gateway logs every request, with its request id; a second line
# per request from gunicorn cost about 7% of /api/me/'s throughput.
accesslog = None
# No limit of gunicorn's own on the request line (its default, 4094, answered an HTML 414):
# the gateway refuses lines over 8 KB with a JSON 414 before they get here.
limit_request_line = 0
# The workers' heartbeat files: in memory, as gunicorn's docs advise for containers, which also
# keeps them off a read-only root filesystem; the system's temporary folder where there is no
# /dev/shm (macOS).
shared_memory = "/dev/shm"  # noqa: S108 (gunicorn makes its files there with mkstemp)
worker_tmp_dir = shared_memory if os.path.isdir(shared_memory) else None
# gunicorn 27's runtime control socket defaults to a file in $HOME; the container's user has
# no home and nothing here uses the socket.
control_socket_disable = True

# --- Metrics and logs (docs/observability.md) -------------------------------------------------
# prometheus-client's multiprocess mode: each worker writes its values to files in
# PROMETHEUS_MULTIPROC_DIR (set here, for gunicorn's processes only: manage.py keeps its
# metrics in memory) and the master serves their sum on METRICS_BIND, a port of its own
# that the gateway never routes. The folder must be named before any worker imports
# prometheus_client, and emptied at start: files left by an earlier run would be counted.
# METRICS_ENABLED=0: no metrics at all.
# Read as config/settings.py reads it, so that the workers and the master agree.
metrics_enabled = environ.Env().bool("METRICS_ENABLED", default=True)
metrics_bind = os.environ.get("METRICS_BIND") or "0.0.0.0:9000"
# Unset: a fresh folder beside the heartbeat files (in memory, writable on a read-only root).
if not metrics_enabled:
    # The workers' metrics, never served, stay in their memory.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
elif not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="auth-metrics-", dir=worker_tmp_dir
    )

# gunicorn's own lines in the service's format (accounts/logs.py; Django's settings configure
# the same in each worker).
logconfig_dict = logging_config(os.environ.get("LOG_FORMAT") or "text")


def on_starting(server: Arbiter) -> None:
    if metrics_enabled:
        folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()


def when_ready(server: Arbiter) -> None:
    if metrics_enabled:
        from accounts.metrics_server import metrics_serve  # after PROMETHEUS_MULTIPROC_DIR

        metrics_serve(metrics_bind)
        server.log.info("metrics on http://%s/metrics", metrics_bind)


def child_exit(server: Arbiter, worker: Worker) -> None:
    # A dead worker's counters stay in the sum; its in-flight gauge leaves it.
    if metrics_enabled:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
