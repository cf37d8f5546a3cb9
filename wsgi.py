"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from hvcase import create_app

app = create_app()
