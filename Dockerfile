# One image for every process of the portal; the command chooses which:
#   docker run IMAGE gunicorn --bind 0.0.0.0:8001 'services.identity.app:create_app()'
#   docker run IMAGE python -m services.identity.worker
#   docker run IMAGE python -m services.identity.manage migrate
# deploy/compose.yaml and deploy/k8s/ run it so.

FROM python:3.11-slim-bookworm AS build
# Compilers only here: some wheels may need building; none of it reaches the final image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/portal
ENV PATH=/opt/portal/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY services ./services
COPY gateway ./gateway
COPY deploy ./deploy
# A regular (non-editable) install: the code lives in site-packages, not in /src.
RUN pip install --no-cache-dir --upgrade pip \
    && pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
ENV PATH=/opt/portal/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --no-create-home --shell /usr/sbin/nologin portal \
    && mkdir -p /data/blobs \
    && chown portal:portal /data/blobs
COPY --from=build /opt/portal /opt/portal
WORKDIR /app
# The demo data files the simulators and `load-demo` read by relative path.
COPY --from=build /src/deploy/demo ./deploy/demo
# The web pages the gateway serves (a folder of their own, not a Python package).
COPY web ./web
ENV GATEWAY_WEB_DIR=/app/web
USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--worker-class", "gateway.worker.EdgeWorker", "--workers", "2", "--worker-connections", "200", "--keep-alive", "30", "gateway.app:create_app()"]
