"""`make bench-http`'s refresh peer: the auth service itself (its settings, database, cache,
middleware, views, gunicorn.conf.py), whose refresh tokens store none of the session
bookkeeping that GET /api/sessions/ reads: the client's IP and User-Agent at each token's
issue (`ip`, `user_agent`) and at login (`login_ip`, `login_user_agent`, copied by each
rotation) stay empty. One call differs: the service's own refresh_token_issue is given
NO_CLIENT. Everything else is the service's: the request's Client is still read (the audit
lines carry it), the throttle, the claim, the INSERT of the same columns, the access token,
the events.
"""

from accounts.apps import AccountsConfig
from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS


class AccountsWithoutBookkeeping(AccountsConfig):
    def ready(self) -> None:
        super().ready()
        from accounts.clients import NO_CLIENT
        from accounts.services import sessions

        issue = sessions.refresh_token_issue

        def refresh_token_issue(**arguments: object) -> object:
            return issue(**{**arguments, "client": NO_CLIENT})

        # token_pair_issue looks the name up at each call: logins and refreshes both use it.
        sessions.refresh_token_issue = refresh_token_issue


INSTALLED_APPS = [
    "bench_peers.sessionless_settings.AccountsWithoutBookkeeping" if app == "accounts" else app
    for app in INSTALLED_APPS
]
