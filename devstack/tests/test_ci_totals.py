""".ci/totals.py: CI's closing line, added up from the suites' JUnit XML reports."""

import subprocess
import sys
from pathlib import Path

import pytest

from devstack import ROOT

MIXED_SUITE = """
import pytest

def test_passes():
    pass

def test_passes_too():
    pass

def test_fails():
    assert False

@pytest.fixture
def broken():
    raise RuntimeError("no database")

def test_errors(broken):
    pass

@pytest.mark.skip(reason="not here")
def test_skipped():
    pass
"""


def totals(folder: Path, make_status: int = 0) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / ".ci" / "totals.py"), str(folder), str(make_status)]
    return subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603


def report(pytester: pytest.Pytester, folder: Path, name: str, source: str) -> None:
    pytester.makepyfile(**{f"test_{name}": source})
    pytester.runpytest(f"test_{name}.py", f"--junitxml={folder / name}.xml")


def test_reports_of_several_suites_are_added_up_and_a_failure_fails(pytester, tmp_path):
    report(pytester, tmp_path, "mixed", MIXED_SUITE)
    report(pytester, tmp_path, "green", "def test_one():\n    pass\n")

    result = totals(tmp_path)

    assert (result.stdout, result.returncode) == ("total: 3 passed, 2 failed, 1 skipped\n", 1)


def test_green_reports_pass(pytester, tmp_path):
    report(pytester, tmp_path, "green", "def test_one():\n    pass\n")

    result = totals(tmp_path)

    assert (result.stdout, result.returncode) == ("total: 1 passed, 0 failed, 0 skipped\n", 0)


def test_no_test_passed_fails(tmp_path):
    result = totals(tmp_path)

    assert (result.stdout, result.returncode) == ("total: 0 passed, 0 failed, 0 skipped\n", 1)


def test_make_failing_fails_with_its_status(pytester, tmp_path):
    report(pytester, tmp_path, "green", "def test_one():\n    pass\n")

    assert totals(tmp_path, make_status=2).returncode == 2
