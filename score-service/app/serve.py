"""`python -m app.serve [uvicorn options]`: uvicorn with the metrics server beside it, as
gunicorn's master serves the auth service's (auth-service/gunicorn.conf.py).

This process reads the settings, empties PROMETHEUS_MULTIPROC_DIR (a fresh folder in
/dev/shm when unset) so that every worker uvicorn starts writes its metrics there, serves their sum
on METRICS_BIND, configures LOG_FORMAT for uvicorn's own lines, then runs uvicorn's command
line with the arguments given. Its own access log is off: app/metrics.py writes one line
per request, with the gateway's request id.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import uvicorn.main

from app.logs import logging_config
from app.settings import SettingsError, settings_load

# In memory, and writable on a read-only root filesystem (compose, Kubernetes); the system's
# temporary folder where there is none (macOS).
SHARED_MEMORY = "/dev/shm"  # noqa: S108


def main() -> None:
    try:
        settings = settings_load()
    except SettingsError as e:
        sys.exit(f"score service: {e}")
    folder = Path(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        or tempfile.mkdtemp(
            prefix="score-metrics-", dir=SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None
        )
    )
    arguments = sys.argv[1:]
    folder.mkdir(parents=True, exist_ok=True)  # also where uvicorn's log configuration goes
    if settings.METRICS_ENABLED:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        for stale in folder.glob("*.db"):
            stale.unlink()
        # Imported only now: prometheus_client picks its multiprocess mode at import.
        from app.metrics_server import metrics_serve

        metrics_serve(settings.METRICS_BIND)
    else:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # never served: kept in memory
    log_config = folder / "logging.json"
    log_config.write_text(json.dumps(logging_config(settings.LOG_FORMAT)), encoding="utf-8")
    uvicorn.main.main([*arguments, "--log-config", str(log_config), "--no-access-log"])


if __name__ == "__main__":
    main()
