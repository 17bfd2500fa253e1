"""WSGI entry point: `gunicorn config.wsgi` (see gunicorn.conf.py)."""

import os

from django.core.wsgi import get_wsgi_application

from config.tracing import tracing_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
tracing_start()  # before Django loads its middleware, which the instrumentation joins

application = get_wsgi_application()
