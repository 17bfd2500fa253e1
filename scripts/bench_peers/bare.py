"""`make bench-http`'s memory yardstick: a bare FastAPI app with one route."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root() -> dict:
    return {}
