"""The REQUIRE_FULL_STACK rule of every test suite, as a pytest plugin: with
REQUIRE_FULL_STACK=1 a skip fails, with the reason it was skipped, so that CI cannot pass
with a part of the stack missing (no nginx, no PostgreSQL...). Without it a skip stays a skip.

Every suite loads it by name, `-p devstack.full_stack` in its pytest.ini's addopts (devstack's
own in pyproject.toml); the services' suites, whose virtualenvs do not hold devstack, put the
repository's root on their path (`pythonpath = ..`). Imports pytest only, which every suite's
virtualenv has.
"""

import os

import pytest

FLAG = "REQUIRE_FULL_STACK"


def _skip_forbidden(report: pytest.CollectReport | pytest.TestReport) -> None:
    # An expected failure is reported as skipped too (wasxfail): it is not a skip.
    if os.environ.get(FLAG) != "1" or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = f"skipped, but {FLAG}=1 forbids skipping: {reason.removeprefix('Skipped: ')}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """A test skipped by a mark, in a fixture or in its body."""
    report = yield
    _skip_forbidden(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport:
    """A module that skips itself at import (pytest.skip(allow_module_level=True),
    pytest.importorskip)."""
    report = yield
    _skip_forbidden(report)
    return report
