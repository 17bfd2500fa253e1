"""Store every email in the one normalised form (accounts.models.email_normalize)."""

from django.db import migrations


def emails_normalise(apps, schema_editor):
    from accounts.models import email_normalize

    User = apps.get_model("accounts", "User")
    for user in User.objects.only("pk", "email").iterator():
        normalised = email_normalize(user.email)
        if normalised != user.email:
            # Two emails that normalise alike fail here, on the unique constraint: merge or
            # rename one of them by hand, then migrate again.
            User.objects.filter(pk=user.pk).update(email=normalised)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_email_verified_at"),
    ]

    operations = [
        migrations.RunPython(emails_normalise, migrations.RunPython.noop),
    ]
