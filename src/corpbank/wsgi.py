"""WSGI entry point for gunicorn: ``gunicorn corpbank.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corpbank.settings")
application = get_wsgi_application()
