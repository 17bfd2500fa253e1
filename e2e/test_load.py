"""`make load`'s smoke: 30 seconds of the mixed population through the suite's gateway, with
every check of the full run (loadtest/report.py): no 500, no broken refresh chain, no answer
but the expected ones."""

import os
import subprocess
import sys

from devstack import ROOT
from loadtest.report import EXPECTED


def test_thirty_seconds_of_mixed_load_pass_every_check(stack, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "loadtest", "--host", stack.url, "--users", "10",
         "--spawn-rate", "5", "--duration", "30", "--work", str(tmp_path)],
        # A refresh 20 s before the 30 s expiry: each chain rotates twice or more in the run.
        env={**os.environ, "LOAD_REFRESH_MARGIN": "20"},
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "\nPASSED" in result.stdout
    for endpoint in EXPECTED:  # every step of the client's loop ran
        assert f"\n{endpoint} " in result.stdout, result.stdout
