"""FastAPI dependencies as ``Annotated`` aliases: the loaded game and the request's claims.

Routes take these as parameters and never reach ``request.app.state`` themselves, so a test
can replace either with ``app.dependency_overrides``.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from app import metrics
from app.auth import AccessClaims, AuthenticationFailed, access_token_decode
from app.request_records import REQUESTS
from app.scoreboard import Scoreboard
from app.token_contract import NOT_PROVIDED, AccessTokenError, bearer_token


# async, as every dependency here: microseconds of CPU and no I/O, not worth the thread-pool
# hop FastAPI gives a plain function.
async def get_scoreboard(request: Request) -> Scoreboard:
    """The game the lifespan loaded."""
    return request.app.state.scoreboard


class AccessTokenBearer(HTTPBearer):
    """The claims of the request's bearer access token, else a 401.

    An HTTPBearer so that OpenAPI declares the scheme (Swagger UI's "Authorize"), but the
    header is parsed by the shared contract, which is stricter (one space, no tab) and
    answers the auth service's words. It reads the settings and the verified-token cache
    from the app itself rather than through more dependencies: FastAPI solves each one on
    every request.
    """

    async def __call__(self, request: Request) -> AccessClaims:
        settings = request.app.state.settings
        try:
            token = bearer_token(request.headers.get("authorization"))
        except AccessTokenError as e:
            outcome = "missing" if e.message == NOT_PROVIDED else "bad_header"
            metrics.TOKEN_VERIFICATIONS.labels(outcome).inc()
            raise AuthenticationFailed(e.message, settings=settings) from None
        claims = self.cached(request)
        if claims is not None:
            return claims
        metrics.TOKEN_CACHE_MISS.inc()
        claims = request.app.state.token_cache.verify(
            token,
            lambda token: access_token_decode(token, settings=settings),
            leeway=settings.JWT_LEEWAY,
        )
        request.state.user_id = claims.sub
        return claims

    @staticmethod
    def cached(request: Request) -> AccessClaims | None:
        """The claims ``__call__`` would return without verifying anything: those of a
        well-formed bearer token the verified-token cache holds and whose times still pass;
        None for any other request."""
        try:
            token = bearer_token(request.headers.get("authorization"))
        except AccessTokenError:
            return None
        claims = request.app.state.token_cache.get(
            token, leeway=request.app.state.settings.JWT_LEEWAY
        )
        if claims is not None:
            REQUESTS.counted(metrics.TOKEN_CACHE_HIT)
            request.state.user_id = claims.sub
        return claims


verify_access_token = AccessTokenBearer(
    bearerFormat="JWT",
    scheme_name="HTTPBearer",
    description="An access token from the auth service's /api/login/ or /api/refresh/.",
)

ScoreboardDep = Annotated[Scoreboard, Depends(get_scoreboard)]
Claims = Annotated[AccessClaims, Depends(verify_access_token)]
