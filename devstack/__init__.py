"""The stack as local processes, without Docker: `make env`, `make rotate-jwt-key`, `make run`,
and the stack that the e2e suite and `make bench-http` start (`python -m devstack --help`).

One module per job: `keys` (Ed25519 key pairs as JWKs), `envfile` (reading and writing .env),
`rotation` (the signing-key rotation), `gateway` (nginx's configuration), `supervisor` (the
three programs), `teststack` (throwaway settings for the e2e suite and the bench), `bench`
(measuring with wrk for `make bench-http`), `full_stack` (the pytest plugin of every suite:
no skip under REQUIRE_FULL_STACK=1), and `cli`.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
ENV_FILE = ROOT / ".env"
AUTH_DIR = ROOT / "auth-service"
SCORE_DIR = ROOT / "score-service"
