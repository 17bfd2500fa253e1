"""OpenTelemetry traces (config/tracing.py): installed at the WSGI entry point only when
OTEL_EXPORTER_OTLP_ENDPOINT is set; the spans themselves are e2e's (e2e/test_traces.py).
(redis-py imports the SDK when it is installed, for its own observability hooks: whether a
provider is installed is what tells.)"""

import json

from tests.test_settings import JWT_KEYS, SECRET_KEY, run_python

LOADED = (
    "import json; import config.wsgi; from django.conf import settings; "
    "from opentelemetry import trace; "
    "print(json.dumps({'provider': type(trace.get_tracer_provider()).__name__, "
    "'middleware': [m for m in settings.MIDDLEWARE if 'opentelemetry' in m]}))"
)


def wsgi_loaded(**env: str) -> dict:
    result = run_python(
        "-c",
        LOADED,
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=SECRET_KEY,
        **JWT_KEYS,
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# OpenTelemetry's no-op default: nothing is recorded, nothing exported.
UNTRACED = {"provider": "ProxyTracerProvider", "middleware": []}


def test_without_an_endpoint_no_provider_is_installed_and_no_middleware_added():
    assert wsgi_loaded() == UNTRACED


def test_an_empty_endpoint_is_no_endpoint():
    assert wsgi_loaded(OTEL_EXPORTER_OTLP_ENDPOINT="") == UNTRACED


def test_with_an_endpoint_django_requests_are_traced():
    loaded = wsgi_loaded(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")

    assert loaded["provider"] == "TracerProvider"
    assert loaded["middleware"]  # the instrumentation's, at the front of Django's


def test_otel_sdk_disabled_wins_over_the_endpoint():
    loaded = wsgi_loaded(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_SDK_DISABLED="true")

    assert loaded == UNTRACED
