"""`make bench-http`'s score peer: the FastAPI endpoint a newcomer would write.

One jwt.decode per request and a bisect over the task's list of stamps, on the same game
(GAME_SEED 2024), the same FastAPI, PyJWT and uvicorn as the score service.
"""

import os
from bisect import bisect_right
from operator import itemgetter

import jwt
from fastapi import FastAPI, Header, HTTPException, Query

from app.game import generate_game

STAMPS = generate_game(2024)
ALGORITHM = os.environ.get("JWT_ALGORITHM") or "EdDSA"
if ALGORITHM == "EdDSA":
    KEY = jwt.PyJWKSet.from_json(os.environ["JWT_PUBLIC_KEYS"]).keys[0].key
else:
    KEY = os.environ["JWT_SECRET"]

app = FastAPI()


@app.get("/score")
async def score(offset: int = Query(ge=0), authorization: str = Header()) -> dict:
    try:
        jwt.decode(
            authorization.removeprefix("Bearer "),
            KEY,
            algorithms=[ALGORITHM],
            audience="game-platform",
            issuer="auth-service",
        )
    except jwt.InvalidTokenError:
        raise HTTPException(status_code=401, detail="Invalid token") from None
    stamp = STAMPS[bisect_right(STAMPS, offset, key=itemgetter("offset")) - 1]
    return {"offset": offset, **stamp["score"]}
