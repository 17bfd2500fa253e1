"""`python -m loadtest`: run locust headless against HOST, optionally with the fault schedule,
then print the report (loadtest/report.py); exit 0 only if the run passed."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from loadtest.report import log_read, report

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ROOT = LOCUSTFILE.parent.parent


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__)
    parser.add_argument("--host", default="http://localhost:8000", help="the gateway's URL")
    parser.add_argument("--users", type=int, default=20, help="virtual users")
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started a second")
    parser.add_argument("--duration", type=float, default=60, help="seconds")
    parser.add_argument(
        "--faults", metavar="PROJECT", help="run the fault schedule on this compose project"
    )
    parser.add_argument("--work", type=Path, help="where the logs go (default .run/load/<time>)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    work = args.work or ROOT / ".run" / "load" / time.strftime("%Y%m%d-%H%M%S")
    work.mkdir(parents=True, exist_ok=True)
    log = work / "requests.csv"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", args.host, "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{int(args.duration)}s", "--stop-timeout", "10", "--only-summary",
    ]  # fmt: skip
    environment = {**os.environ, "LOAD_LOG": str(log), "PYTHONPATH": str(ROOT)}
    print(f"load: {args.users} users for {args.duration:.0f} s against {args.host}", flush=True)
    schedule = None
    with (work / "locust.log").open("w") as locust_log:
        locust = subprocess.Popen(command, env=environment, stdout=locust_log, stderr=locust_log)  # noqa: S603
        if args.faults:
            from loadtest.faults import Schedule

            schedule = Schedule(project=args.faults, duration=args.duration, started=time.time())
            schedule.start()
        code = locust.wait()
    run = log_read(log)
    if schedule:
        schedule.stop()
        schedule.join_all()
        run.faults, run.memory = schedule.faults, schedule.memory
    text, passed = report(run)
    if schedule and schedule.errors:
        text += "\nfault schedule errors:\n" + "\n".join(f"  - {e}" for e in schedule.errors)
        passed = False
    if not run.requests:
        text += f"\nlocust exited {code} without a request: {work / 'locust.log'}"
        passed = False
    (work / "report.txt").write_text(text + "\n")
    print(text)
    print(f"(logs and this report: {work})")
    return 0 if passed else 1
