"""The score service: GET /score?offset=N behind the auth service's access tokens.

Here: the app, its lifespan and two ASGI layers; the routes are in app/routes.py, their
dependencies in app/deps.py.

Every URL lives under /score, so the gateway forwards paths unchanged. Run it with
``uvicorn app.main:app --proxy-headers`` from score-service/; uvicorn trusts
X-Forwarded-* only from FORWARDED_ALLOW_IPS (the gateway).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
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


def create_app(settings: Settings | None = None, *, score_fast_path: bool = True) -> FastAPI:
    """Return the service; ``settings`` None reads them from the environment at start.
    ``score_fast_path`` False leaves out ScoreFastPath (make bench-http measures its gain).

    Nothing is read at import: settings and the game are loaded once, when the server
    starts (the lifespan), and a bad setting or GAME_FILE stops the start with its reason.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or settings_load()
        app.state.scoreboard = scoreboard_load(
            app.state.settings.GAME_FILE, app.state.settings.GAME_SEED
        )
        metrics.GAME_STAMPS.set(app.state.scoreboard.stamps_count)
        # Per app, so it belongs to one key: tokens verified under another are never in it.
        app.state.token_cache = VerifiedTokenCache()
        yield

    # fastapi-offline: FastAPI with /score/docs serving Swagger UI's JS and CSS from the
    # package's own files under /score/static, so the docs page names no CDN.
    app = FastAPIOffline(
        title="Score service",
        summary="The score of a match at a time offset, for holders of an access token.",
        version="1.0.0",
        lifespan=lifespan,
        openapi_url="/score/openapi.json",
        docs_url="/score/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url="/score/docs/oauth2-redirect",
        static_url="/score/static",
        # No "validate this spec" badge: it would call validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )

    app.include_router(router)
    if score_fast_path:
        score_route = next(r for r in router.routes if getattr(r, "path", None) == "/score")
        app.add_middleware(ScoreFastPath, route=score_route)
    app.add_middleware(HeadAsGet)  # the fast path sees a GET
    # Added last, so outermost: it times and counts every request, HEAD as HEAD.
    app.add_middleware(metrics.RequestObservation)

    return app


app = create_app()
