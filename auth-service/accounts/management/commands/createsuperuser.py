"""Django's createsuperuser, told that the email is unique.

The uniqueness is a constraint on Lower("email"), which Django's command does not recognise
(it looks for unique=True or a constraint on the plain field): it would skip its "already
taken" check and end in an IntegrityError traceback. The check it then runs,
get_by_natural_key, compares case-insensitively like the constraint.
"""

from django.contrib.auth.management.commands import createsuperuser


class Command(createsuperuser.Command):
    username_is_unique = True
