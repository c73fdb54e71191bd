# Debrief API: slim image, non-root, migrations then the server on 0.0.0.0:8000.
# Runs as production: it starts only with DEBRIEF_SECRET_KEY (32+ random characters, kept
# across restarts) and an https DEBRIEF_PUBLIC_BASE_URL, e.g.
#   docker run --env-file debrief.env -p 8000:8000 -v debrief-data:/data debrief
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBRIEF_MIGRATIONS_DIR=/opt/debrief/migrations \
    DEBRIEF_ENVIRONMENT=production

WORKDIR /opt/debrief
COPY requirements/runtime.lock ./requirements/
RUN pip install --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-deps . && useradd --system --uid 10001 --home-dir /data --create-home debrief

# The SQLite default (./debrief.db) lives in /data; mount a volume there to keep it.
USER debrief
WORKDIR /data
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]

CMD ["sh", "-c", "debrief migrate && exec debrief serve --host 0.0.0.0 --port 8000"]
