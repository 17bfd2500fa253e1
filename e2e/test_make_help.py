"""`make help` (Makefile): the list of targets a newcomer starts from."""

import re
import subprocess

from devstack import ROOT


def test_make_help_lists_every_phony_target():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE).group(1).split()
    output = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert sorted(line.split()[0] for line in output.splitlines()) == sorted(phony)
