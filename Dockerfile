# syntax=docker/dockerfile:1
# The bulkport image: API, worker, Flower and migrations all run from it (see docker-compose.yml).
#   docker build -t bulkport .
#   docker run --rm -p 8000:8000 -e BULKPORT_DATABASE_URL=… -e BULKPORT_BROKER_URL=… bulkport

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

# Install bulkport and its runtime dependencies (no dev extras), held to the versions of
# requirements.lock. The source is bind-mounted for this step only.
RUN --mount=type=bind,source=.,target=/src,rw \
    pip install -c /src/requirements.lock /src

USER bulkport
WORKDIR /data
EXPOSE 8000

# No HEALTHCHECK here: the same image runs the worker, Flower and one-shot migrations;
# docker-compose.yml checks the API on /readyz and the workers with a ping.
CMD ["bulkport", "api", "--host", "0.0.0.0"]
