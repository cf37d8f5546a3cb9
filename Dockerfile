# hvcase: one image for the web app (gunicorn), the Celery worker and Celery beat.
#   docker build -t hvcase .
#   docker run -e HVCASE_SECRET_KEY=... -e HVCASE_DATABASE_URL=postgresql://... -p 8000:8000 hvcase
# docker-compose.yml runs the whole deployment; docs/deployment.md explains it.
FROM python:3.11-slim

# gunicorn reads the last two: WEB_CONCURRENCY is its number of worker processes (about
# 2 x cores + 1; override it at run time), GUNICORN_CMD_ARGS its other options.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HVCASE_ENV=production \
    WEB_CONCURRENCY=3 \
    GUNICORN_CMD_ARGS="--access-logfile - --timeout 60 --graceful-timeout 30 --no-control-socket"

RUN groupadd --system hvcase \
    && useradd --system --gid hvcase --home-dir /app --no-create-home --shell /usr/sbin/nologin hvcase

WORKDIR /app

# The pinned dependencies first, in a layer of their own, so that a code change does not
# reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project, installed in editable mode: the app reads migrations/ from the source tree
# beside the hvcase package, so the package must stay in /app rather than in site-packages.
COPY README.md wsgi.py gunicorn.conf.py ./
COPY config ./config
COPY hvcase ./hvcase
COPY worker ./worker
COPY migrations ./migrations
RUN pip install --no-deps -e . \
    && mkdir -p /app/instance \
    && chown hvcase:hvcase /app/instance

USER hvcase

EXPOSE 8000

CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000"]
