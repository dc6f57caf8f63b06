# One image for every process of the portal; the command chooses which:
#   docker run IMAGE gunicorn --bind 0.0.0.0:8001 'services.identity.app:create_app()'
#   docker run IMAGE python -m services.identity.worker
#   docker run IMAGE python -m services.identity.manage migrate
# deploy/compose.yaml and deploy/k8s/ run it so.
#
# BASE_IMAGE: any Debian bookworm with Python 3.11 and venv. The default is the official
# Python image; where no registry is reachable `make images` (python -m deploy.images.build)
# builds `portal-base:bookworm` from Debian packages and passes it here.

ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# Compilers only here (gunicorn_h1c ships no wheel); none of it reaches the final image.
# On a Debian base without Python's headers the builder adds python3-dev.
ARG BUILD_PACKAGES="gcc libc6-dev"
RUN if [ -n "$BUILD_PACKAGES" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends $BUILD_PACKAGES \
      && rm -rf /var/lib/apt/lists/*; \
    fi
# Where PyPI is reached through a mirror or a proxy with its own CA: the builder puts
# the CA bundle (ca-certificates.crt) and a pip.conf in deploy/images/pip/ (ignored by
# git); both are used in this stage only. The index may also be given as build args.
ARG PIP_INDEX_URL=""
ARG PIP_EXTRA_INDEX_URL=""
ARG PIP_TRUSTED_HOST=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DEFAULT_TIMEOUT=120
COPY deploy/images/pip/ /build/pip/
RUN python3 -m venv /opt/portal
ENV PATH=/opt/portal/bin:$PATH
WORKDIR /src
# The dependencies first (their own layer: a code change does not reinstall them).
COPY pyproject.toml ./
RUN set -e; \
    if [ -f /build/pip/ca-certificates.crt ]; then export PIP_CERT=/build/pip/ca-certificates.crt; fi; \
    if [ -f /build/pip/pip.conf ]; then export PIP_CONFIG_FILE=/build/pip/pip.conf; fi; \
    [ -n "$PIP_INDEX_URL" ] || unset PIP_INDEX_URL; \
    [ -n "$PIP_EXTRA_INDEX_URL" ] || unset PIP_EXTRA_INDEX_URL; \
    [ -n "$PIP_TRUSTED_HOST" ] || unset PIP_TRUSTED_HOST; \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /build/requirements.txt; \
    pip install -r /build/requirements.txt
COPY README.md ./
COPY services ./services
COPY gateway ./gateway
COPY deploy ./deploy
# A regular (non-editable) install: the code lives in site-packages, not in /src, compiled
# to bytecode here (the containers' file systems are read-only). pip stays behind.
RUN set -e; \
    if [ -f /build/pip/ca-certificates.crt ]; then export PIP_CERT=/build/pip/ca-certificates.crt; fi; \
    if [ -f /build/pip/pip.conf ]; then export PIP_CONFIG_FILE=/build/pip/pip.conf; fi; \
    [ -n "$PIP_INDEX_URL" ] || unset PIP_INDEX_URL; \
    [ -n "$PIP_EXTRA_INDEX_URL" ] || unset PIP_EXTRA_INDEX_URL; \
    [ -n "$PIP_TRUSTED_HOST" ] || unset PIP_TRUSTED_HOST; \
    pip install --no-deps . \
    && rm -rf /opt/portal/lib/python3*/site-packages/pip /opt/portal/lib/python3*/site-packages/pip-* \
        /opt/portal/bin/pip*

FROM ${BASE_IMAGE}
ENV PATH=/opt/portal/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8 \
    LOG_FORMAT=json
# The user written in directly: a minimal Debian base has no useradd (package passwd).
RUN echo 'portal:x:10001:' >> /etc/group \
    && echo 'portal:x:10001:10001:portal:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
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
