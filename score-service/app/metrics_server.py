"""The metrics port of a service of several processes, vendored byte-identical as
accounts/metrics_server.py and app/metrics_server.py.

Started in the process that starts the workers (gunicorn's master, app/serve.py for uvicorn),
once PROMETHEUS_MULTIPROC_DIR names the folder where every worker writes its values: it
serves their sum (prometheus-client's multiprocess mode), and the process metrics (CPU,
memory, open files) of itself and of each live worker, labelled by pid, which that mode
leaves out. Import it only after PROMETHEUS_MULTIPROC_DIR is set.
"""

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector, multiprocess, start_http_server
from prometheus_client.core import Metric


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


class ProcessesCollector:
    """process_* of this process and of every live process that wrote to `folder`."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def pids(self) -> list[int]:
        writers = {
            int(pid)
            for path in self.folder.glob("*.db")
            if (pid := path.stem.rpartition("_")[2]).isdigit()
        }
        return [os.getpid(), *sorted(pid for pid in writers if _pid_alive(pid))]

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for pid in self.pids():
            for family in ProcessCollector(pid=lambda pid=pid: pid, registry=None).collect():
                merged = families.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    merged.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        yield from families.values()


def metrics_serve(bind: str) -> None:
    """Serve GET /metrics on `bind` ("host:port") from a thread of this process."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    registry.register(ProcessesCollector(folder))
    host, _, port = bind.rpartition(":")
    start_http_server(int(port), addr=host, registry=registry)
