# mas HTTP API image. Build: docker build -t mas .
# The schema is not migrated at start (`mas serve` refuses a database behind the latest
# migration): run `docker run --rm <env> mas mas db upgrade` once per release first.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir 'uv>=0.5'

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the lock file changes.
# Runtime dependencies only: the dev tools are the `dev` extra, which is not requested.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-install-project --no-cache

# config/default.toml is found relative to the source tree (src/mas/settings.py), so the project
# stays installed from /app/src.
COPY config ./config
COPY src ./src
RUN uv sync --frozen --no-cache

RUN useradd --system --uid 10001 --home-dir /app --no-create-home mas \
    && mkdir -p /app/var \
    && chown mas:mas /app/var
USER mas

ENV PATH=/app/.venv/bin:$PATH \
    MAS_HTTP_HOST=0.0.0.0
EXPOSE 8000

# No curl in the slim image: ask /health with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('MAS_HTTP_PORT', '8000'), timeout=4)"]

CMD ["mas", "serve"]
