"""accounts/mail.py: a backend that prints messages says so in the log, each time."""

import logging

from accounts.mail import CONSOLE_BACKEND, mail_message_build, mail_send, mail_wait


def send(caplog) -> list[str]:
    message = mail_message_build(to="player@example.com", subject="Reset", body="the-link")
    with caplog.at_level(logging.WARNING, logger="accounts.mail"):
        mail_send(message=message, purpose="password reset", user_id=7)
        mail_wait()
    return [r.getMessage() for r in caplog.records if r.name == "accounts.mail"]


def test_the_console_backend_warns_that_the_link_is_in_the_log(settings, caplog, capsys):
    settings.EMAIL_BACKEND = CONSOLE_BACKEND

    warnings = send(caplog)

    assert "the-link" in capsys.readouterr().out
    assert warnings == [
        "EMAIL_URL=consolemail://: the password reset message for user 7 is printed to this "
        "log, link included; anyone who reads the log can use it. Set EMAIL_URL to a mail "
        "server for real users."
    ]


def test_a_backend_that_prints_nothing_warns_of_nothing(caplog, mailoutbox):
    assert send(caplog) == []
    assert [m.body for m in mailoutbox] == ["the-link"]
