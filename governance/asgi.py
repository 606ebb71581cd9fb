# Served with gunicorn (WSGI) in production: under ASGI, CONN_MAX_AGE > 0 leaks connections.
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
application = get_asgi_application()
