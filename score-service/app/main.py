"""The score service: GET /score?offset=N behind the auth service's access tokens.

Here: the app, its lifespan and two ASGI layers; the routes are in app/routes.py, their
dependencies in app/deps.py.

Every URL lives under /score, so the gateway forwards paths unchanged. Run it with
``uvicorn app.main:app --proxy-headers`` from score-service/; uvicorn trusts
X-Forwarded-* only from FORWARDED_ALLOW_IPS (the gateway).
"""

import ctypes
import ctypes.util
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.routes import router
from app.scoreboard import scoreboard_load
from app.settings import Settings, settings_load
from app.token_cache import VerifiedTokenCache
from app.token_contract import AccessTokenError, bearer_token

# Longer offsets take the full route: its validation decides what they mean.
_FAST_OFFSET_DIGITS = 18
_JSON_HEADERS = (b"content-type", b"application/json")


class ScoreFastPath:
    """Answer ``GET /score`` for a bearer token already in the verified-token cache with
    one plain-digits offset, as the route would; every other request goes to FastAPI.

    Clients poll with one token for its whole lifetime, and at this size FastAPI's
    dependency solving, query validation and response model cost more than the lookup.
    The first request of a token, and any request that could fail, takes the full route,
    so every 401 and 422 comes from there; so does every request while the app has
    ``dependency_overrides``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/score"
            and scope["method"] == "GET"
            and not scope.get("root_path")
            and not scope["app"].dependency_overrides  # a test replaced the route's state
            and (body := self._score_body(scope)) is not None
        ):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode()), _JSON_HEADERS],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _score_body(scope: Scope) -> bytes | None:
        # The query as Starlette parses it, and the Authorization header as the route does.
        offsets = [
            value
            for name, value in parse_qsl(
                scope["query_string"].decode("latin-1"), keep_blank_values=True
            )
            if name == "offset"
        ]
        if len(offsets) != 1:
            return None
        offset = offsets[0]
        if not (offset.isascii() and offset.isdigit() and len(offset) <= _FAST_OFFSET_DIGITS):
            return None
        authorization = next(
            (value for name, value in scope["headers"] if name == b"authorization"), None
        )
        if authorization is None:
            return None
        try:
            token = bearer_token(authorization.decode("latin-1"))  # the route's own rule
        except AccessTokenError:
            return None
        state = scope["app"].state
        if state.token_cache.get(token, leeway=state.settings.JWT_LEEWAY) is None:
            return None
        home, away = state.scoreboard.score_at(int(offset))
        return b'{"offset":%d,"home":%d,"away":%d}' % (int(offset), home, away)


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

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


def memory_release() -> None:
    """Give back to the OS what loading the game left behind: a generated game is 50,001
    dicts, garbage once the scoreboard holds its few score changes (about 2.2 MiB of RSS)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    malloc_trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    if malloc_trim is not None:  # glibc only
        malloc_trim(0)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the service; ``settings`` None reads them from the environment at start.

    Nothing is read at import: settings and the game are loaded once, when the server
    starts (the lifespan), and a bad setting or GAME_FILE stops the start with its reason.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or settings_load()
        app.state.scoreboard = scoreboard_load(
            app.state.settings.GAME_FILE, app.state.settings.GAME_SEED
        )
        # Per app, so it belongs to one key: tokens verified under another are never in it.
        app.state.token_cache = VerifiedTokenCache()
        memory_release()
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
    app.add_middleware(ScoreFastPath)
    app.add_middleware(HeadAsGet)  # added last, so outermost: the fast path sees a GET

    return app


app = create_app()
