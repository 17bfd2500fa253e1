"""`python -m devstack COMMAND`: what the Makefile's env, rotate-jwt-key and run targets call.

Settings: .env, then the process environment on top (variables already set win).
"""

import argparse
import os
import signal
import subprocess
import sys
import time

from devstack import ENV_EXAMPLE, ENV_FILE
from devstack.envfile import env_file_create, settings_local
from devstack.gateway import nginx_find
from devstack.rotation import RotationError, jwt_key_rotate
from devstack.supervisor import Ports, Stack, StackError

NGINX_INSTALL_HINT = (
    "nginx is not installed; `make run` needs it for the gateway.\n"
    "  Debian/Ubuntu: sudo apt-get install nginx-light   (or: nginx)\n"
    "  macOS:         brew install nginx\n"
    "Or run everything in containers: make env && docker compose up --build"
)


def command_env() -> int:
    if env_file_create():
        print(f"Wrote {ENV_FILE.name} from {ENV_EXAMPLE.name} with fresh random secrets.")
    else:
        print(f"{ENV_FILE.name} exists; left unchanged (delete it to generate a new one).")
    return 0


def env_ensure() -> None:
    """Create .env when missing, and say so."""
    if env_file_create():
        print(f"stack: created {ENV_FILE.name} from {ENV_EXAMPLE.name} with fresh secrets")


def command_rotate_jwt_key(step: str) -> int:
    if not ENV_FILE.exists():
        print(f"{ENV_FILE.name} is missing: `make env` writes one.", file=sys.stderr)
        return 1
    try:
        next_step = jwt_key_rotate(step)
    except RotationError as e:
        print(f"rotate-jwt-key {step}: {e}", file=sys.stderr)
        return 1
    print(f"{ENV_FILE.name} updated. {next_step}")
    return 0


def command_check() -> int:
    env_ensure()
    if nginx_find() is None:
        print(NGINX_INSTALL_HINT, file=sys.stderr)
        return 1
    return 0


def command_manage(venv: str, args: list[str]) -> int:
    env_ensure()
    stack = Stack(settings=settings_local(os.environ), venv=venv)
    try:
        stack.manage(*args)
    except subprocess.CalledProcessError as e:
        return e.returncode
    return 0


def command_run(venv: str) -> int:
    if command_check():
        return 1
    settings = settings_local(os.environ)
    port = int(settings.get("GATEWAY_PORT") or 8000)
    stack = Stack(settings=settings, venv=venv, ports=Ports(gateway=port))

    def stop_on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, kill and a closed terminal all stop the stack the same way (SIGINT explicitly:
    # a shell may have started us with it ignored).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    try:
        stack.start(nginx_find() or "nginx")
        url = f"http://localhost:{port}"
        print(
            f"\nThe stack is up (Ctrl-C stops it):\n"
            f"  API        {url}/api/   (walkthrough: README.md; health: {url}/health)\n"
            f"  API docs   {url}/api/docs/   {url}/api/redoc/   {url}/score/docs\n"
            f"  Admin      {url}/admin/   (token lifetimes: Constance > Config)\n"
            f"  Metrics    http://127.0.0.1:{stack.ports.auth_metrics}/metrics (auth), "
            f"http://127.0.0.1:{stack.ports.score_metrics}/metrics (score)\n"
            f"  Superuser  set DJANGO_SUPERUSER_EMAIL/PASSWORD in .env and restart, or\n"
            f"             {venv}/bin/python -m devstack manage createsuperuser\n",
            flush=True,
        )
        while not (gone := stack.exited()):
            time.sleep(0.5)
        print(f"stack: {', '.join(gone)} stopped; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstack: stopping", flush=True)
        return 0
    except (StackError, subprocess.CalledProcessError, KeyError) as e:
        print(f"stack: {e}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="write .env from .env.example with fresh secrets and keys")
    rotate = sub.add_parser("rotate-jwt-key", help="one step of an access-token key rotation")
    rotate.add_argument("step", choices=["publish", "activate", "retire"])
    sub.add_parser("check", help="create .env when missing; fail when nginx is missing")
    run = sub.add_parser("run", help="run the stack in the foreground; Ctrl-C stops it")
    run.add_argument("--venv", default=".venv", help="each service's virtualenv folder")
    manage = sub.add_parser("manage", help="the auth service's manage.py with the run settings")
    manage.add_argument("--venv", default=".venv", help="the auth service's virtualenv folder")
    manage.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if options.command == "env":
        return command_env()
    if options.command == "check":
        return command_check()
    if options.command == "rotate-jwt-key":
        return command_rotate_jwt_key(options.step)
    if options.command == "manage":
        return command_manage(options.venv, options.args)
    return command_run(options.venv)
