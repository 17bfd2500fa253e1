"""devstack.full_stack: under REQUIRE_FULL_STACK=1 no test may be skipped."""

import pytest

SKIPPED_IN_ITS_BODY = """
import pytest

def test_needs_nginx():
    pytest.skip("nginx is not installed")
"""
SKIPPED_BY_A_MARK = """
import pytest

@pytest.mark.skipif(True, reason="no redis-server")
def test_needs_redis():
    pass
"""
SKIPPED_BY_A_FIXTURE = """
import pytest

@pytest.fixture(scope="session")
def stack():
    pytest.skip("no nginx")

def test_one(stack):
    pass

def test_two(stack):
    pass
"""
SKIPPED_AT_IMPORT = """
import pytest

pytest.importorskip("a_module_nobody_installed")

def test_never_collected():
    pass
"""
EXPECTED_FAILURE = """
import pytest

@pytest.mark.xfail(reason="known")
def test_known_bug():
    assert False
"""


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(source)
    return pytester.runpytest("-p", "devstack.full_stack")


def test_without_the_flag_a_skip_stays_a_skip(pytester, monkeypatch):
    monkeypatch.delenv("REQUIRE_FULL_STACK", raising=False)

    run(pytester, SKIPPED_IN_ITS_BODY).assert_outcomes(skipped=1)


@pytest.mark.parametrize(
    ("source", "outcomes", "reason"),
    [
        pytest.param(SKIPPED_IN_ITS_BODY, {"failed": 1}, "nginx is not installed", id="body"),
        # A mark and a fixture skip at setup: an error, as a failing fixture is.
        pytest.param(SKIPPED_BY_A_MARK, {"errors": 1}, "no redis-server", id="mark"),
        pytest.param(SKIPPED_BY_A_FIXTURE, {"errors": 2}, "no nginx", id="fixture"),
        pytest.param(SKIPPED_AT_IMPORT, {"errors": 1}, "could not import*", id="import"),
    ],
)
def test_under_the_flag_a_skip_fails_with_its_reason(
    pytester, monkeypatch, source, outcomes, reason
):
    monkeypatch.setenv("REQUIRE_FULL_STACK", "1")

    result = run(pytester, source)

    result.assert_outcomes(**outcomes)
    result.stdout.fnmatch_lines([f"skipped, but REQUIRE_FULL_STACK=1 forbids skipping: {reason}"])


def test_under_the_flag_an_expected_failure_is_not_a_skip(pytester, monkeypatch):
    monkeypatch.setenv("REQUIRE_FULL_STACK", "1")

    run(pytester, EXPECTED_FAILURE).assert_outcomes(xfailed=1)
