"""devstack.full_stack: under REQUIRE_FULL_STACK=1 no test may be skipped."""

import pytest

SKIPPED_IN_ITS_BODY = """
import pytest

def test_needs_nginx():
    pytest.skip("nginx is not installed")
"""


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(source)
    return pytester.runpytest("-p", "devstack.full_stack", "-rA")


@pytest.fixture
def full_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE_FULL_STACK", "1")


def test_without_the_flag_a_skip_stays_a_skip(pytester, monkeypatch):
    monkeypatch.delenv("REQUIRE_FULL_STACK", raising=False)

    run(pytester, SKIPPED_IN_ITS_BODY).assert_outcomes(skipped=1)


def test_under_the_flag_a_skip_fails_with_its_reason(pytester, full_stack):
    result = run(pytester, SKIPPED_IN_ITS_BODY)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*skipped, but REQUIRE_FULL_STACK=1 forbids skipping: nginx is not installed*"]
    )


def test_under_the_flag_a_skip_mark_is_an_error_at_setup(pytester, full_stack):
    source = """
import pytest

@pytest.mark.skipif(True, reason="no redis-server")
def test_needs_redis():
    pass
"""
    result = run(pytester, source)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*forbids skipping: no redis-server*"])


def test_under_the_flag_a_fixture_that_skips_is_an_error(pytester, full_stack):
    source = """
import pytest

@pytest.fixture(scope="session")
def stack():
    pytest.skip("no nginx")

def test_one(stack):
    pass

def test_two(stack):
    pass
"""
    run(pytester, source).assert_outcomes(errors=2)


def test_under_the_flag_a_module_that_skips_itself_fails_to_collect(pytester, full_stack):
    source = """
import pytest

pytest.importorskip("a_module_nobody_installed")

def test_never_collected():
    pass
"""
    result = run(pytester, source)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*forbids skipping*a_module_nobody_installed*"])


def test_under_the_flag_an_expected_failure_is_not_a_skip(pytester, full_stack):
    source = """
import pytest

@pytest.mark.xfail(reason="known")
def test_known_bug():
    assert False
"""
    run(pytester, source).assert_outcomes(xfailed=1)
