"""OpenTelemetry traces of the auth service, when OTEL_EXPORTER_OTLP_ENDPOINT is set
(docs/observability.md): the spans of Django's requests (joining the gateway's W3C
`traceparent`), of psycopg's queries and of redis's commands, exported over OTLP/HTTP.
Unset (or OTEL_SDK_DISABLED=true), nothing is imported and nothing is exported.
"""

import os


def tracing_start() -> bool:
    """Install the tracer provider and the instrumentations, once per process, before Django
    loads its middleware (config/wsgi.py); return whether traces are exported."""
    if (
        not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true"
    ):
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or "auth"})
    provider = TracerProvider(resource=resource)
    # The exporter reads the endpoint, headers and timeout from the OTEL_* environment.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    PsycopgInstrumentor().instrument()
    RedisInstrumentor().instrument()
    return True
