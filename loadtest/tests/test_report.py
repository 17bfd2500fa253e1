"""loadtest/report.py: how a run is judged, phase by phase."""

from loadtest.report import Fault, Request, Run, problems, report

FAULT = Fault("postgres (load-postgres-1)", stopped=100.0, healthy=125.0)


def run_of(*requests: Request, memory=()) -> Run:
    return Run(requests=list(requests), faults=[FAULT], memory=list(memory))


def me(at: float, status: int, retry_after: str = "") -> Request:
    return Request(at, "/api/me/", status, 5.0, retry_after)


def test_a_clean_run_passes():
    text, passed = report(run_of(me(50, 200), Request(60, "/api/refresh/ (revoked)", 401, 3, "")))

    assert passed, text
    assert "\nPASSED" in text


def test_a_503_with_retry_after_inside_a_fault_window_is_allowed():
    assert problems(run_of(me(110, 503, "5"))) == []


def test_a_503_without_retry_after_is_a_problem_even_in_a_fault_window():
    assert problems(run_of(me(110, 503))) == ["/api/me/ answered 503 without Retry-After"]


def test_a_500_is_a_problem_in_any_phase():
    assert "1 responses with status 500" in problems(run_of(me(110, 500)))


def test_an_error_in_the_ten_seconds_after_recovery_is_allowed_and_later_is_not():
    assert problems(run_of(me(130, 502))) == []
    assert problems(run_of(me(136, 502))) == ["steady: /api/me/ answered 502"]


def test_a_broken_chain_fails_the_run_and_a_lost_rotation_does_not():
    run = run_of(me(50, 200))
    run.checks.update({"rotation lost to a gateway error": 1})
    assert problems(run) == []

    run.checks.update({"broken chain": 2})
    assert problems(run) == ["2 x broken chain"]


def test_memory_growth_over_five_percent_in_the_last_eight_minutes_fails():
    memory = [(60.0 * minute, "load-auth-1", 100.0 + minute) for minute in range(11)]

    assert problems(run_of(me(50, 200), memory=memory)) == [
        "load-auth-1 grew +7.8% over the last 8 minutes"  # 110 / 102 MiB
    ]
