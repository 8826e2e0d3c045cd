"""WSGI entry point of the baselines:
`gunicorn bench.http_plain.wsgi:application`, with DJANGO_SETTINGS_MODULE
bench.http_plain.settings (the default) or bench.http_plain.django_settings."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.http_plain.settings")
application = get_wsgi_application()
