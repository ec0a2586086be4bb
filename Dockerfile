# syntax=docker/dockerfile:1
# The bulkport image: API, worker, Flower and migrations all run from it (see docker-compose.yml).
#   docker build -t bulkport .
#   docker run --rm -p 8000:8000 -e BULKPORT_DATABASE_URL=… -e BULKPORT_BROKER_URL=… bulkport

# Stage 1: a wheel of bulkport with its import's hot modules compiled by mypyc (setup.py).
# mypyc type-checks what it compiles, so the dependencies (and mypy, from the lock) are
# installed here first; gcc builds the C. Nothing of this stage but the wheel is kept.
FROM python:3.11-slim AS wheel
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,source=.,target=/src,rw \
    pip install --no-cache-dir -c /src/requirements.lock /src mypy setuptools==84.2.1 \
    && cd /src && BULKPORT_COMPILE=1 pip wheel --no-build-isolation --no-deps -w /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BULKPORT_HOME=/data

# A fixed uid/gid so that volumes keep the same owner across rebuilds. /data is created here,
# owned by that user, so that a named volume mounted on it starts with the right owner.
RUN groupadd --system --gid 10001 bulkport \
    && useradd --system --uid 10001 --gid bulkport --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin bulkport \
    && install -d -o bulkport -g bulkport -m 0750 /data

# Install the compiled wheel and its runtime dependencies (no dev extras), held to the
# versions of requirements.lock. The lock is bind-mounted for this step only.
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements.lock,target=/tmp/requirements.lock \
    pip install -c /tmp/requirements.lock /wheels/bulkport-*.whl

USER bulkport
WORKDIR /data
EXPOSE 8000

# No HEALTHCHECK here: the same image runs the worker, Flower and one-shot migrations;
# docker-compose.yml checks the API on /healthz.
CMD ["bulkport", "api", "--host", "0.0.0.0"]
