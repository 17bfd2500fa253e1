"""`make bench-http`'s refresh peer: the auth service itself (its settings, database, cache,
middleware, views, gunicorn.conf.py), whose refresh tokens store none of the session
bookkeeping that GET /api/sessions/ reads. One function differs: the rows come from
bench_peers.sessionless_sessions.refresh_token_issue, put in place of the service's own when
the accounts app is ready; its docstring says what it leaves out."""

from accounts.apps import AccountsConfig
from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS


class AccountsWithoutBookkeeping(AccountsConfig):
    def ready(self) -> None:
        super().ready()
        from accounts.services import sessions
        from bench_peers import sessionless_sessions

        # token_pair_issue looks the name up at each call: logins and refreshes both use it.
        sessions.refresh_token_issue = sessionless_sessions.refresh_token_issue


INSTALLED_APPS = [
    "bench_peers.sessionless_settings.AccountsWithoutBookkeeping" if app == "accounts" else app
    for app in INSTALLED_APPS
]
