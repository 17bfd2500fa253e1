import argparse
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from accounts.services.events import events_purge
from accounts.services.sessions import refresh_tokens_purge


def _count(minimum: int):
    """An argparse type: an int of at least `minimum`, so a bad value is a usage error."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


class Command(BaseCommand):
    help = (
        "Delete expired refresh tokens and those revoked more than --revoked-days ago, in "
        "batches. Revoked tokens are kept that long because a replayed one is recognised (and "
        "its family revoked) only while it is still stored. Also deletes the security events "
        "older than SECURITY_EVENT_RETENTION_DAYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--revoked-days", type=_count(0), default=7, metavar="DAYS")
        parser.add_argument("--batch-size", type=_count(1), default=1000, metavar="N")

    def handle(self, *args, revoked_days: int, batch_size: int, **options) -> None:
        deleted = refresh_tokens_purge(
            revoked_for=timedelta(days=revoked_days), batch_size=batch_size
        )
        self.stdout.write(f"Deleted {deleted} refresh token(s).")
        days = settings.SECURITY_EVENT_RETENTION_DAYS
        events = events_purge(older_than=timedelta(days=days), batch_size=batch_size)
        self.stdout.write(f"Deleted {events} security event(s) older than {days} days.")
