"""The whole load test (locust, the chain's checks, the report) against a deliberately broken
auth stub, whose refresh answers 200 with a pair it then refuses: the run must fail, naming
broken chains."""

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loadtest.tests.test_chain import jwt_with_exp

ROOT = Path(__file__).resolve().parents[2]


class BrokenAuth(BaseHTTPRequestHandler):
    """Login pairs work; a refresh of a login's token answers 200 with a pair that is never
    stored, so the next refresh of it answers 401: the bug the chain check exists for."""

    issued_by_login: set[str] = set()

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _pair(self) -> dict:
        return {"access_token": jwt_with_exp(time.time() + 30), "refresh_token": str(uuid.uuid4())}

    def do_GET(self) -> None:
        self._answer(200, {"offset": 0, "home": 0, "away": 0})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if self.path == "/api/register/":
            self._answer(201, {"id": 1, "email": body["email"]})
        elif self.path == "/api/login/":
            pair = self._pair()
            self.issued_by_login.add(pair["refresh_token"])
            self._answer(200, pair)
        elif self.path == "/api/refresh/":
            if body["refresh_token"] in self.issued_by_login:
                self._answer(200, self._pair())  # the broken part: never stored
            else:
                self._answer(401, {"detail": "Refresh token not recognised."})
        else:
            self._answer(200, {"success": "User logged out."})


@pytest.fixture
def broken_auth() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BrokenAuth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_refresh_whose_new_token_then_fails_is_reported_as_a_broken_chain(broken_auth, tmp_path):
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "loadtest", "--host", broken_auth, "--users", "2",
         "--spawn-rate", "2", "--duration", "8", "--work", str(tmp_path)],
        # Refresh at once, every time: each chain is checked within the 8 s.
        env={"LOAD_REFRESH_MARGIN": "30", "PATH": "/usr/bin:/bin"},
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED:" in result.stdout
    assert "x broken chain" in result.stdout
