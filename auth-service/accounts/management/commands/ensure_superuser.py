import os

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = (
        "Create the superuser DJANGO_SUPERUSER_EMAIL / DJANGO_SUPERUSER_PASSWORD if no user has "
        "that email. Idempotent: does nothing when either is unset or the user exists."
    )

    def handle(self, *args, **options) -> None:
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not email or not password:
            self.stdout.write("DJANGO_SUPERUSER_EMAIL/PASSWORD unset: no superuser created.")
            return
        if User.objects.email_taken(email):
            self.stdout.write(f"User {email} exists: left unchanged.")
            return
        candidate = User(email=User.objects.normalize_email(email))
        try:
            candidate.full_clean(exclude=["password"])
            password_validation.validate_password(password, user=candidate)
        except ValidationError as e:
            raise CommandError(f"Superuser not created: {' '.join(e.messages)}") from e
        User.objects.create_superuser(email=email, password=password)
        self.stdout.write(self.style.SUCCESS(f"Superuser {email} created."))
