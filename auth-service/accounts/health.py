"""The health probe of /api/health/: the database and the cache, one round trip each."""

import logging

from django.core.cache import cache
from django.db import DatabaseError, connection
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import schema as openapi
from accounts.redis_outage import REDIS_DOWN_ERRORS
from accounts.views import PublicAPIView

logger = logging.getLogger(__name__)


def _database_status() -> str:
    # One round trip: is_usable() runs SELECT 1 on the open connection (opened if needed);
    # a connection that died with a PostgreSQL restart is replaced, not reported forever.
    try:
        connection.ensure_connection()
        if not connection.is_usable():
            connection.close()
            connection.ensure_connection()
    except DatabaseError as error:
        logger.warning("Health check: database unavailable: %s", error)
        return "unavailable"
    return "ok"


def _cache_status() -> str:
    # One round trip (a GET of a key nobody sets), whatever the cache backend.
    try:
        cache.get("health-probe")
    except REDIS_DOWN_ERRORS as error:
        logger.warning("Health check: cache unavailable: %s", error)
        return "unavailable"
    return "ok"


@openapi.HEALTH
class HealthView(PublicAPIView):
    """GET /api/health/: 200 when the database and the cache answer, 503 otherwise."""

    def get(self, request: Request) -> Response:
        checks = {"database": _database_status(), "cache": _cache_status()}
        healthy = all(value == "ok" for value in checks.values())
        return Response(
            {"status": "ok" if healthy else "unavailable", **checks},
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )
