# syntax=docker/dockerfile:1.7
# The backups service. Build from the repository root:
#   docker build -f deploy/docker/backups.Dockerfile -t msp-backups .
# Runs gunicorn on $PORT (default 8003); migrations are a separate one-shot command:
#   docker run --rm -e DATABASE_URL=... msp-backups python -m shared.migrate

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:3.11-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# uv needs every workspace member's pyproject to read the one lock; --package installs only
# msp-backups and msp-shared's dependencies (no dev tools, no other service's libraries).
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/insights/pyproject.toml services/insights/
COPY services/integrations/pyproject.toml services/integrations/
COPY services/backups/pyproject.toml services/backups/
RUN uv sync --frozen --no-dev --no-cache --package msp-backups

FROM python:3.11-slim-bookworm AS runtime

# mariadb-dump/mariadb take and verify the dumps; zstd compresses them. Versions follow the
# pinned Debian release of the base image (security updates replace exact pins on the mirror).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends mariadb-client zstd \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY shared/ shared/
COPY services/__init__.py services/
COPY services/backups/ services/backups/
COPY deploy/gunicorn.conf.py deploy/healthcheck.py deploy/run_due.py deploy/
# Compile our sources now: the image runs as a user that cannot write /app, so without this every
# cold start would recompile them (measured: ~0.8 s of a ~1.6 s import on this machine).
RUN python -m compileall -q -j 0 /app/shared /app/services /app/deploy
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVICE_NAME=backups \
    PORT=8003
USER 10001:10001
EXPOSE 8003
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
# JSON form: gunicorn is PID 1 and receives SIGTERM; it binds 0.0.0.0:$PORT via the config.
CMD ["gunicorn", "--config", "/app/deploy/gunicorn.conf.py", "services.backups.wsgi:app"]
