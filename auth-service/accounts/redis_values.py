"""What the auth service reads from Redis is data, never code, and is checked before use.

Whoever can write to Redis must neither run code in the process that holds the signing key
nor choose its token lifetimes:

- the cache (django-redis) stores JSON, not pickles (its default serializer), and reads a
  value that is not JSON as a miss, with a warning;
- constance's values are decoded with constance's JSON codec, then cleaned by the admin's own
  form field for each (CONSTANCE_ADDITIONAL_FIELDS, the one place the bounds are written);
  accounts/redis_outage.py's backend answers the last good value or the default instead of
  one that fails.
"""

import logging

from constance import codecs, settings as constance_settings
from django.core.exceptions import ValidationError
from django_redis.client import DefaultClient

logger = logging.getLogger(__name__)


class CacheClient(DefaultClient):
    """django-redis's client, reading a value its serializer cannot decode as a miss."""

    def get(self, key, default=None, version=None, client=None):
        try:
            return super().get(key, default=default, version=version, client=client)
        except ValueError as error:  # the JSON serializer's JSONDecodeError, UnicodeDecodeError
            logger.warning("Cache key %r holds no JSON, read as a miss: %s", key, error)
            return default


class UnusableValueError(ValueError):
    """A constance value read from Redis that must not be used."""


def config_value_load(key: str, raw: bytes) -> object:
    """Return constance's `key` decoded from `raw` and cleaned by the admin's form field for it.

    Raises UnusableValueError when `raw` is not constance's JSON, or that field refuses the value
    (outside its bounds, or not its type).
    """
    try:
        value = codecs.loads(raw)
    except Exception as error:  # any decoder's error, on bytes anyone could write
        raise UnusableValueError(f"not constance's JSON ({error})") from None
    try:
        return _admin_field(key).clean(value)
    except ValidationError as error:
        raise UnusableValueError(f"{value!r}: {' '.join(error.messages)}") from None


def _admin_field(key: str):
    # constance.forms builds the admin's fields from CONSTANCE_ADDITIONAL_FIELDS; imported
    # here, not at the top, because it imports the admin, which needs the app registry.
    from constance.forms import FIELDS

    options = constance_settings.CONFIG[key]
    field_class, kwargs = FIELDS[options[2] if len(options) == 3 else type(options[0])]
    return field_class(**kwargs)
