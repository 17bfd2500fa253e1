"""`make bench-http`'s score service without ScoreFastPath: every /score takes the route."""

from app.main import create_app

app = create_app(score_fast_path=False)
