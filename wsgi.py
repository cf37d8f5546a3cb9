"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from hvcase import create_app
from hvcase.serving import tune_garbage_collection

app = create_app()
tune_garbage_collection(app)
