from datetime import timedelta

from django.core.management.base import BaseCommand, CommandParser

from accounts.services import refresh_tokens_purge


class Command(BaseCommand):
    help = (
        "Delete expired refresh tokens and those revoked more than --revoked-days ago, in "
        "batches. Revoked tokens are kept that long because a replayed one is recognised (and "
        "its family revoked) only while it is still stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--revoked-days", type=int, default=7, metavar="DAYS")
        parser.add_argument("--batch-size", type=int, default=1000, metavar="N")

    def handle(self, *args, revoked_days: int, batch_size: int, **options) -> None:
        deleted = refresh_tokens_purge(
            revoked_for=timedelta(days=revoked_days), batch_size=batch_size
        )
        self.stdout.write(f"Deleted {deleted} refresh token(s).")
