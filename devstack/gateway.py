"""The gateway's nginx configuration for local runs: gateway/default.conf.template rendered as
the official image renders it, inside a main nginx.conf that needs no root-owned folder."""

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from devstack import ROOT

GATEWAY_TEMPLATE = ROOT / "gateway" / "default.conf.template"
# The only names substituted in the template, as NGINX_ENVSUBST_FILTER does under compose:
# nginx's own variables ($host, $request_id, ...) must survive rendering.
TEMPLATE_VARIABLES = (
    "AUTH_UPSTREAM",
    "SCORE_UPSTREAM",
    "GATEWAY_LISTEN",
    "GATEWAY_STATUS_LISTEN",
    "GATEWAY_RATE_LIMIT",
    "GATEWAY_RATE_BURST",
    "GATEWAY_UPSTREAM_RESOLVE",
)


def nginx_find() -> str | None:
    """Return the nginx binary's path, or None. Debian puts it in /usr/sbin, which is not on
    an ordinary user's PATH."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def template_render(template: str, values: Mapping[str, str]) -> str:
    """Return template with ${NAME} replaced for the TEMPLATE_VARIABLES only.

    Raises KeyError naming a template variable that is not in values.
    """
    missing = [name for name in TEMPLATE_VARIABLES if name not in values]
    if missing:
        raise KeyError(f"gateway template variables without a value: {', '.join(missing)}")
    pattern = re.compile(r"\$\{(" + "|".join(TEMPLATE_VARIABLES) + r")\}")
    return pattern.sub(lambda m: values[m.group(1)], template)


def nginx_prefix_write(prefix: Path, *, nginx: str, values: Mapping[str, str]) -> Path:
    """Write the gateway's configuration under prefix; return the main nginx.conf's path.

    The main file plays the official image's /etc/nginx/nginx.conf: it includes the
    rendered template inside `http {}`, and keeps every path nginx writes under prefix, so
    no root-owned directory is needed.
    """
    (prefix / "default.conf").write_text(
        template_render(GATEWAY_TEMPLATE.read_text(encoding="utf-8"), values), encoding="utf-8"
    )
    built = subprocess.run(  # noqa: S603  (our own nginx binary, fixed arguments)
        [nginx, "-V"], capture_output=True, text=True, check=True
    ).stderr
    temp_paths = [f"client_body_temp_path {prefix}/temp/client_body;"]
    for module in ("proxy", "fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{module}_module" not in built:
            temp_paths.append(f"{module}_temp_path {prefix}/temp/{module};")
    (prefix / "temp").mkdir(exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        "# Written by devstack/gateway.py: the gateway is default.conf beside this file.\n"
        "daemon off;\n"
        "worker_processes 2;\n"
        f"pid {prefix}/nginx.pid;\n"
        "error_log stderr warn;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        "    keepalive_timeout 65;\n"
        + "".join(f"    {line}\n" for line in temp_paths)
        + f"    include {prefix}/default.conf;\n"
        "}\n",
        encoding="utf-8",
    )
    return conf
