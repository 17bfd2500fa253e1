"""The score service's routes: GET /score and GET /score/health."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from app import errors
from app.deps import Claims, ScoreboardDep, get_scoreboard, verify_access_token
from app.token_contract import BAD_HEADER, EXPIRED, INVALID, NOT_PROVIDED

router = APIRouter()


def _digits_only(value: object) -> object:
    # pydantic's lax int also takes "1.0", " 7" and "+7"; an offset in a URL is plain digits.
    # A minus sign passes, so that "-1" is refused as negative, not as no integer at all.
    digits = value.removeprefix("-") if isinstance(value, str) else "0"
    if not (digits.isascii() and digits.isdigit()):
        raise PydanticCustomError("int_parsing", errors.NOT_AN_INTEGER)
    return value


# The query's offset: 400 when it is missing, not plain digits, or negative (app.main words
# each refusal).
Offset = Annotated[
    int,
    Query(ge=0, description="Time offset into the game; 0 is the kick-off."),
    BeforeValidator(_digits_only),
]
# The same rule, for a caller that validates outside FastAPI (score_read_cached).
_OFFSET = TypeAdapter(Offset)


class Score(BaseModel):
    """The score of the game at an offset."""

    offset: int
    home: int
    away: int


class ErrorDetail(BaseModel):
    """An error with one message, e.g. a refused access token."""

    detail: str


class FieldErrors(BaseModel):
    """Refused input: each refused parameter with its messages, in the auth service's words."""

    offset: list[str] = Field(examples=[[errors.AT_LEAST.format(ge=0)]])


class Health(BaseModel):
    status: str
    stamps: int
    final_offset: int


@router.get(
    "/score",
    response_model=Score,
    tags=["score"],
    summary="The score at an offset",
    responses={
        status.HTTP_400_BAD_REQUEST: {
            "model": FieldErrors,
            "description": "`offset` is missing, not plain digits (`1.0`, `+7`, `abc`), "
            "negative, or given more than once.",
        },
        status.HTTP_401_UNAUTHORIZED: {
            "model": ErrorDetail,
            "description": "Missing, malformed, expired or otherwise refused access token "
            "(bad signature, wrong issuer, audience or type); the response carries "
            '`WWW-Authenticate: Bearer realm=...`, with `error="invalid_token"` and the '
            "detail as `error_description` when a token was refused (RFC 6750 3.1).",
            "content": {
                "application/json": {
                    "examples": {
                        message: {"value": {"detail": message}}
                        for message in (NOT_PROVIDED, BAD_HEADER, EXPIRED, INVALID)
                    }
                }
            },
        },
    },
)
async def score_read(
    request: Request,
    claims: Claims,
    offset: Offset,
    scoreboard: ScoreboardDep,
) -> Response:
    """Return the score of the last stamp at or before `offset`; past the end of the game,
    the final score.

    Needs an access token of the auth service (`POST /api/login/`, `POST /api/refresh/`) as
    `Authorization: Bearer <access_token>`; on this page, **Authorize**. The service verifies
    it itself, so it answers while the auth service is down.
    """
    # FastAPI would silently take the last of offset=1&offset=2; which one was meant?
    given = request.query_params.getlist("offset")
    if len(given) > 1:
        raise RequestValidationError(
            [
                {
                    "type": "multiple_values",
                    "loc": ("query", "offset"),
                    "msg": errors.GIVEN_TWICE,
                    "input": given,
                }
            ]
        )
    # No ValueError here: a loaded game starts at offset 0 and the query is >= 0.
    home, away = scoreboard.score_at(offset)
    # Rendered here rather than by FastAPI (the same bytes and headers), so that
    # score_read_cached sends exactly this response too.
    return Response(
        Score(offset=offset, home=home, away=away).model_dump_json(),
        media_type="application/json",
    )


async def score_read_cached(request: Request) -> Response | None:
    """score_read's response to ``request`` when its bearer token is in the verified-token
    cache and its query passes the route's checks; None otherwise.

    The route's own dependencies, offset type and endpoint, called without FastAPI's routing
    and dependency solving (app.main.ScoreFastPath); every refusal, 401 or 400, is left to
    the route, which words it.
    """
    claims = verify_access_token.cached(request)
    if claims is None:
        return None
    try:
        offset = _OFFSET.validate_python(request.query_params.get("offset"))
        return await score_read(request, claims, offset, await get_scoreboard(request))
    except (ValidationError, RequestValidationError):
        return None


@router.get("/score/health", response_model=Health, tags=["service"], summary="Liveness")
async def health_read(scoreboard: ScoreboardDep) -> Health:
    """200 once the game is loaded; the service depends on nothing else. No authentication."""
    return Health(status="ok", stamps=scoreboard.stamps_count, final_offset=scoreboard.final_offset)
