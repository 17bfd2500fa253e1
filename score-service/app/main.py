"""The score service: GET /score?offset=N behind the auth service's access tokens.

Here: the app, its lifespan and two ASGI layers; the routes are in app/routes.py, their
dependencies in app/deps.py.

Every URL lives under /score, so the gateway forwards paths unchanged. Run it with
``uvicorn app.main:app --proxy-headers`` from score-service/; uvicorn trusts
X-Forwarded-* only from FORWARDED_ALLOW_IPS (the gateway).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import errors, metrics
from app.request_records import REQUESTS
from app.routes import router, score_read_cached
from app.scoreboard import scoreboard_load
from app.settings import Settings, settings_load
from app.token_cache import VerifiedTokenCache


class ScoreFastPath:
    """Send ``GET /score`` straight to the route's own code (``score_read_cached``) when
    the verified-token cache holds its bearer token; every other request goes to FastAPI.

    Clients poll with one token for its whole lifetime, and FastAPI's routing and dependency
    solving cost more than the answer (docs/performance.md has the measured gain). The first
    request of a token, and any request the route would refuse, takes the full route, so
    every 401 and 422 comes from there; so does every request while the app has
    ``dependency_overrides``, which only the full route applies.
    """

    def __init__(self, app: ASGIApp, *, route: BaseRoute) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/score"
            and scope["method"] == "GET"
            and not scope.get("root_path")
            and not scope["app"].dependency_overrides  # a test replaced the route's state
            and (response := await score_read_cached(Request(scope))) is not None
        ):
            scope["route"] = self.route  # as routing would have set it (app/metrics.py reads it)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class JSONRefusalCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, but a refused preflight is a JSON 400 like every other error of the
    service (Starlette's is text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != status.HTTP_400_BAD_REQUEST:
            return response
        return JSONResponse({"detail": errors.CORS_REFUSED}, status_code=response.status_code)


class CORSFromSettings:
    """CORS for SCORE_CORS_ALLOWED_ORIGINS, read when the first request arrives: settings are
    loaded by the lifespan, after the middleware stack is built. An empty list adds nothing:
    no cross-origin access, and a preflight is the 405 of any OPTIONS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.cors is None:
            origins = scope["app"].state.settings.SCORE_CORS_ALLOWED_ORIGINS
            self.cors = self.app
            if origins:
                self.cors = JSONRefusalCORSMiddleware(
                    self.app,
                    allow_origins=origins,
                    allow_methods=["GET", "HEAD"],
                    allow_headers=["Authorization"],
                    expose_headers=["WWW-Authenticate", "X-Request-ID"],
                    max_age=86400,
                )
        await self.cors(scope, receive, send)


class HeadAsGet:
    """Answer HEAD wherever GET is answered (RFC 9110 9.3.2): the GET's status and headers,
    no body. FastAPI routes are GET only, and load balancers and uptime checks send HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        as_get = {**scope, "method": "GET"}
        await self.app(as_get, receive, send_without_body)
        if "route" in as_get:  # the route template, for app/metrics.py outside
            scope["route"] = as_get["route"]


async def validation_refused(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 `{"offset": ["..."]}`: the auth service's (DRF's) shape and words for refused
    input, in place of pydantic's error list (docs/errors.md)."""
    refused: dict[str, list[str]] = {}
    for error in exc.errors():
        name = str(error["loc"][-1]) if len(error["loc"]) > 1 else "non_field_errors"
        message = errors.VALIDATION_MESSAGES.get(error["type"], error["msg"])
        refused.setdefault(name, []).append(message.format(**error.get("ctx", {})))
    return JSONResponse(refused, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


# Starlette's words for its own errors, and the auth service's for them.
HTTP_ERROR_DETAILS = {
    status.HTTP_404_NOT_FOUND: lambda request: errors.NOT_FOUND,
    status.HTTP_405_METHOD_NOT_ALLOWED: lambda request: errors.METHOD_NOT_ALLOWED.format(
        method=request.method
    ),
}


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """FastAPI's answer to an HTTPException, with the auth service's wording for a 404 and a
    405 ("Not found.", not "Not Found")."""
    wording = HTTP_ERROR_DETAILS.get(exc.status_code)
    if wording is not None:
        exc = HTTPException(exc.status_code, wording(request), exc.headers)
    return await http_exception_handler(request, exc)


def create_app(settings: Settings | None = None, *, score_fast_path: bool = True) -> FastAPI:
    """Return the service; ``settings`` None reads them from the environment at start.
    ``score_fast_path`` False leaves out ScoreFastPath (make bench-http measures its gain).

    Nothing is read at import: settings and the game are loaded once, when the server
    starts (the lifespan), and a bad setting or GAME_FILE stops the start with its reason.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or settings_load()
        REQUESTS.configure(
            log_format=app.state.settings.LOG_FORMAT,
            log=app.state.settings.LOG_REQUESTS,
            metrics=app.state.settings.METRICS_ENABLED,
        )
        app.state.scoreboard = scoreboard_load(
            app.state.settings.GAME_FILE, app.state.settings.GAME_SEED
        )
        metrics.GAME_STAMPS.set(app.state.scoreboard.stamps_count)
        # Per app, so it belongs to one key: tokens verified under another are never in it.
        app.state.token_cache = VerifiedTokenCache()
        yield
        REQUESTS.flush()  # uvicorn's --workers end without atexit (multiprocessing)

    # fastapi-offline: FastAPI with /score/docs serving Swagger UI's JS and CSS from the
    # package's own files under /score/static, so the docs page names no CDN.
    app = FastAPIOffline(
        title="Score service",
        summary="The score of a match at a time offset, for holders of an access token.",
        description=(
            "Log in at the auth service (`POST /api/login/`, or its docs at `/api/docs/`), "
            "then **Authorize** here with the `access_token`."
        ),
        version="1.0.0",
        openapi_tags=[
            {"name": "score", "description": "The game's score, for an access token."},
            {"name": "service", "description": "Health, for load balancers and monitors."},
        ],
        # operationIds are the route functions' names (score_read), not FastAPI's
        # name-path-method (score_read_score_get).
        generate_unique_id_function=lambda route: route.name,
        lifespan=lifespan,
        openapi_url="/score/openapi.json",
        docs_url="/score/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url="/score/docs/oauth2-redirect",
        static_url="/score/static",
        # No "validate this spec" badge: it would call validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
        # FastAPI's own OpenTelemetry spans, joining the gateway's W3C traceparent, exported
        # over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; unset, FastAPI imports no
        # SDK and exports nothing. Traces only: metrics are Prometheus's, logs stderr's
        # (docs/observability.md).
        telemetry={"auto_configure": True, "metrics": False, "logs": False},
    )

    app.include_router(router)
    app.add_exception_handler(RequestValidationError, validation_refused)
    app.add_exception_handler(HTTPException, http_error)
    if score_fast_path:
        score_route = next(r for r in router.routes if getattr(r, "path", None) == "/score")
        app.add_middleware(ScoreFastPath, route=score_route)
    # Outside the fast path, so that its answers carry the CORS headers too.
    app.add_middleware(CORSFromSettings)
    app.add_middleware(HeadAsGet)  # the fast path sees a GET
    # Added last, so outermost: it times and counts every request, HEAD as HEAD.
    app.add_middleware(metrics.RequestObservation)

    return app


app = create_app()
