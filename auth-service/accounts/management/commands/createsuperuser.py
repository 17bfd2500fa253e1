"""Django's createsuperuser, told that the email is unique.

Django's command does not recognise the constraint on Lower("email"), so it would skip its
"already taken" check and end in an IntegrityError traceback.
"""

from django.contrib.auth.management.commands import createsuperuser


class Command(createsuperuser.Command):
    username_is_unique = True
